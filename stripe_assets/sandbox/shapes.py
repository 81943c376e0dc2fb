"""Stripe-shaped objects: one builder per object type, fields named and nested as Stripe does.

The generator decides the facts (who paid what, when, how it went); these functions only lay
them out. Every builder returns the full top-level field set of the object as the Stripe API
returns it (test mode), so a loader sees the same columns here as against Stripe.
Builders take plain values and return plain dicts: they are on the hot path of generation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Json = dict[str, Any]

ACCOUNT_ID = "acct_1SandboxStripeAsts"
# The pinned version events are rendered in: the account's default, not the caller's.
ACCOUNT_API_VERSION = "2024-06-20"
PAYMENT_METHOD_CONFIGURATION = "pmc_1SandboxPmConfigDefault"
STATEMENT_DESCRIPTOR = "SANDBOX SHOP"


class Card(NamedTuple):
    """The facts of one card that both the payment_method and its charges repeat."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    funding: str
    country: str
    wallet: str | None  # "apple_pay", "google_pay" or None


def address(
    city: str | None = None,
    country: str | None = None,
    line1: str | None = None,
    postal_code: str | None = None,
    state: str | None = None,
) -> Json:
    return {
        "city": city,
        "country": country,
        "line1": line1,
        "line2": None,
        "postal_code": postal_code,
        "state": state,
    }


def billing_details(addr: Json, email: str | None, name: str | None, phone: str | None) -> Json:
    return {"address": addr, "email": email, "name": name, "phone": phone, "tax_id": None}


def _wallet(wallet: str | None, last4: str) -> Json | None:
    if wallet is None:
        return None
    return {"dynamic_last4": last4, wallet: {}, "type": wallet}


def customer(
    id: str,
    created: int,
    *,
    name: str,
    email: str,
    phone: str | None,
    addr: Json,
    currency: str | None,
    description: str | None,
    metadata: dict[str, str],
    default_payment_method: str | None,
    invoice_prefix: str,
    preferred_locales: list[str],
) -> Json:
    return {
        "id": id,
        "object": "customer",
        "address": addr,
        "balance": 0,
        "created": created,
        "currency": currency,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": preferred_locales,
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def card_payment_method(
    id: str,
    created: int,
    *,
    customer: str | None,
    card: Card,
    billing: Json,
    allow_redisplay: str,
    metadata: dict[str, str],
) -> Json:
    return {
        "id": id,
        "object": "payment_method",
        "allow_redisplay": allow_redisplay,
        "billing_details": billing,
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": "pass" if billing["address"]["line1"] else None,
                "address_postal_code_check": "pass" if billing["address"]["postal_code"] else None,
                "cvc_check": "pass",
            },
            "country": card.country,
            "display_brand": card.brand,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": card.fingerprint,
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "regulated" if card.funding == "debit" else "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": _wallet(card.wallet, card.last4),
        },
        "created": created,
        "customer": customer,
        "customer_account": None,
        "livemode": False,
        "metadata": metadata,
        "type": "card",
    }


def outcome(
    *,
    network_status: str,
    type: str,
    reason: str | None,
    risk_level: str,
    risk_score: int,
    seller_message: str,
    advice_code: str | None = None,
    network_decline_code: str | None = None,
) -> Json:
    return {
        "advice_code": advice_code,
        "network_advice_code": None,
        "network_decline_code": network_decline_code,
        "network_status": network_status,
        "reason": reason,
        "risk_level": risk_level,
        "risk_score": risk_score,
        "seller_message": seller_message,
        "type": type,
    }


def charge(
    id: str,
    created: int,
    *,
    amount: int,
    amount_captured: int,
    amount_refunded: int,
    captured: bool,
    currency: str,
    customer: str | None,
    description: str | None,
    status: str,
    paid: bool,
    failure_code: str | None,
    failure_message: str | None,
    outcome: Json,
    payment_intent: str,
    payment_method: str,
    card: Card,
    billing: Json,
    balance_transaction: str | None,
    receipt_email: str | None,
    authorization_code: str | None,
    network_transaction_id: str | None,
    metadata: dict[str, str],
) -> Json:
    """A card charge made by a PaymentIntent (the only way Stripe makes charges today).

    No `refunds` list: since API version 2022-11-15 Stripe renders it only when expanded
    (`expand[]=refunds`), which the API builds from the refunds themselves.
    """
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount_captured,
        "amount_refunded": amount_refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": billing,
        "calculated_statement_descriptor": STATEMENT_DESCRIPTOR,
        "captured": captured,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "livemode": False,
        "metadata": metadata,
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": paid,
        "payment_intent": payment_intent,
        "payment_method": payment_method,
        "payment_method_details": {
            "card": {
                "amount_authorized": amount if status != "failed" else None,
                "authorization_code": authorization_code,
                "brand": card.brand,
                "checks": {
                    "address_line1_check": "pass" if billing["address"]["line1"] else None,
                    "address_postal_code_check": (
                        "pass" if billing["address"]["postal_code"] else None
                    ),
                    "cvc_check": "pass",
                },
                "country": card.country,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": card.fingerprint,
                "funding": card.funding,
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": card.last4,
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": card.brand,
                "network_token": {"used": False},
                "network_transaction_id": network_transaction_id,
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "regulated" if card.funding == "debit" else "unregulated",
                "three_d_secure": None,
                "transaction_link_id": None,
                "wallet": _wallet(card.wallet, card.last4),
            },
            "type": "card",
        },
        "receipt_email": receipt_email,
        "receipt_number": None,
        "receipt_url": (
            f"https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8x{id[3:]}" if paid else None
        ),
        "refunded": amount_refunded > 0 and amount_refunded == amount_captured,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def payment_intent(
    id: str,
    created: int,
    *,
    amount: int,
    amount_received: int,
    amount_capturable: int,
    currency: str,
    customer: str | None,
    description: str | None,
    status: str,
    capture_method: str,
    client_secret: str,
    latest_charge: str | None,
    payment_method: str | None,
    last_payment_error: Json | None,
    next_action: Json | None,
    canceled_at: int | None,
    cancellation_reason: str | None,
    receipt_email: str | None,
    setup_future_usage: str | None,
    metadata: dict[str, str],
) -> Json:
    return {
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": amount_capturable,
        "amount_details": {"tip": {}},
        "amount_received": amount_received,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": canceled_at,
        "cancellation_reason": cancellation_reason,
        "capture_method": capture_method,
        "client_secret": client_secret,
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": last_payment_error,
        "latest_charge": latest_charge,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": metadata,
        "next_action": next_action,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": {
            "id": PAYMENT_METHOD_CONFIGURATION,
            "parent": None,
        },
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": {"card": {}, "type": "card"} if status == "processing" else None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def setup_intent(
    id: str,
    created: int,
    *,
    customer: str | None,
    payment_method: str | None,
    status: str,
    client_secret: str,
    latest_attempt: str | None,
    cancellation_reason: str | None,
    last_setup_error: Json | None,
    next_action: Json | None,
    metadata: dict[str, str],
) -> Json:
    return {
        "id": id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "cancellation_reason": cancellation_reason,
        "client_secret": client_secret,
        "created": created,
        "customer": customer,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": last_setup_error,
        "latest_attempt": latest_attempt,
        "livemode": False,
        "mandate": None,
        "metadata": metadata,
        "next_action": next_action,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": {
            "id": PAYMENT_METHOD_CONFIGURATION,
            "parent": None,
        },
        "payment_method_options": {
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": status,
        "usage": "off_session",
    }


def refund(
    id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    charge: str,
    payment_intent: str,
    customer: str | None,
    payment_method: str,
    status: str,
    reason: str | None,
    balance_transaction: str | None,
    acquirer_reference: str | None,
    metadata: dict[str, str],
) -> Json:
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference": acquirer_reference,
                "reference_status": "available" if acquirer_reference else "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": payment_intent,
        "payment_method": payment_method,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def payout(
    id: str,
    created: int,
    *,
    amount: int,
    arrival_date: int,
    currency: str,
    destination: str,
    method: str,
    type: str,
    status: str,
    balance_transaction: str,
    failure_balance_transaction: str | None,
    failure_code: str | None,
    failure_message: str | None,
    trace_id: Json,
) -> Json:
    return {
        "id": id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": arrival_date,
        "automatic": method == "standard",
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": "STRIPE PAYOUT" if method == "standard" else "INSTANT PAYOUT",
        "destination": destination,
        "failure_balance_transaction": failure_balance_transaction,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "livemode": False,
        "metadata": {},
        "method": method,
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "completed" if status == "paid" else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": status,
        "trace_id": trace_id,
        "type": type,
    }


def payment_link(
    id: str,
    *,
    active: bool,
    currency: str,
    url: str,
    allow_promotion_codes: bool,
    billing_address_collection: str,
    customer_creation: str,
    submit_type: str,
    shipping_countries: list[str] | None,
    metadata: dict[str, str],
) -> Json:
    """A payment link. Stripe gives these no `created` field, so neither do we."""
    return {
        "id": id,
        "object": "payment_link",
        "active": active,
        "after_completion": {
            "hosted_confirmation": {"custom_message": None},
            "type": "hosted_confirmation",
        },
        "allow_promotion_codes": allow_promotion_codes,
        "application": None,
        "application_fee_amount": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_address_collection": billing_address_collection,
        "consent_collection": None,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer_creation": customer_creation,
        "inactive_message": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": metadata,
        "on_behalf_of": None,
        "payment_intent_data": None,
        "payment_method_collection": "always",
        "payment_method_options": None,
        "payment_method_types": None,
        "phone_number_collection": {"enabled": False},
        "restrictions": None,
        "shipping_address_collection": (
            {"allowed_countries": shipping_countries} if shipping_countries else None
        ),
        "shipping_options": [],
        "submit_type": submit_type,
        "subscription_data": None,
        "tax_id_collection": {"enabled": False, "required": "never"},
        "transfer_data": None,
        "url": url,
    }
