"""The columns every Stripe table always has, typed and described: one source of truth.

Tables get every top-level field Stripe sends (see io_manager/type_mapping.py); these core
columns exist even before any object has them (an account with no refunds yet still has a
`stripe.refunds` table with `charge`, `amount`, `status`), so downstream SQL and checks never
fail on a missing column. Their descriptions are shown in the Dagster UI.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    type: str  # DuckDB type
    description: str


def _c(type_: str, description: str) -> Column:
    return Column(type_, description)


MINOR = "in the currency's minor unit (cents for USD, yen for JPY, fils for KWD): not divided"

COMMON = {
    "id": _c("VARCHAR", "Stripe object id, e.g. ch_3Pq...: unique per object type."),
    "object": _c("VARCHAR", "Stripe's object type, e.g. `charge`."),
    "created": _c("TIMESTAMPTZ", "When Stripe created the object (UTC); daily partitions are "
                                 "cut on it."),
    "livemode": _c("BOOLEAN", "True for live data, false for test data; never mixed."),
    "metadata": _c("JSON", "The merchant's own key-value metadata."),
}
CURRENCY = _c("VARCHAR", "Three-letter ISO currency code, lower case.")
CUSTOMER = _c("VARCHAR", "Id of the Stripe customer (cus_...) it belongs to; NULL for guests.")
PAYMENT_METHOD = _c("VARCHAR", "Id of the payment method (pm_...) used.")
PAYMENT_INTENT = _c("VARCHAR", "Id of the payment intent (pi_...) it belongs to.")

_BY_ENDPOINT: dict[str, dict[str, Column]] = {
    "customers": {
        "email": _c("VARCHAR", "The customer's email address."),
        "name": _c("VARCHAR", "The customer's full name or business name."),
        "currency": CURRENCY,
        "balance": _c("BIGINT", f"Credit (negative) or debt (positive), {MINOR}."),
        "delinquent": _c("BOOLEAN", "Whether the latest invoice or charge failed."),
    },
    "charges": {
        "amount": _c("BIGINT", f"Amount intended to be collected, {MINOR}."),
        "amount_captured": _c("BIGINT", f"Amount captured, {MINOR}."),
        "amount_refunded": _c("BIGINT", f"Amount refunded so far, {MINOR}."),
        "currency": CURRENCY,
        "status": _c("VARCHAR", "succeeded, pending or failed."),
        "paid": _c("BOOLEAN", "True if the charge succeeded or was authorized."),
        "captured": _c("BOOLEAN", "Whether the charge was captured."),
        "refunded": _c("BOOLEAN", "True once the whole amount has been refunded."),
        "customer": CUSTOMER,
        "payment_intent": PAYMENT_INTENT,
        "payment_method": PAYMENT_METHOD,
    },
    "payment_intents": {
        "amount": _c("BIGINT", f"Amount intended to be collected, {MINOR}."),
        "amount_received": _c("BIGINT", f"Amount received, {MINOR}."),
        "currency": CURRENCY,
        "status": _c("VARCHAR", "requires_payment_method, processing, succeeded, canceled, ..."),
        "customer": CUSTOMER,
        "payment_method": PAYMENT_METHOD,
        "latest_charge": _c("VARCHAR", "Id of the latest charge (ch_...) it created."),
    },
    "setup_intents": {
        "status": _c("VARCHAR", "requires_payment_method, succeeded, canceled, ..."),
        "customer": CUSTOMER,
        "payment_method": PAYMENT_METHOD,
        "usage": _c("VARCHAR", "on_session or off_session."),
    },
    "refunds": {
        "amount": _c("BIGINT", f"Amount refunded, {MINOR}."),
        "charge": _c("VARCHAR", "Id of the refunded charge (ch_...)."),
        "payment_intent": PAYMENT_INTENT,
        "currency": CURRENCY,
        "status": _c("VARCHAR", "succeeded, pending, requires_action, failed or canceled."),
        "reason": _c(
            "VARCHAR",
            "duplicate, fraudulent, requested_by_customer, expired_uncaptured_charge, or NULL.",
        ),
    },
    "payouts": {
        "amount": _c("BIGINT", f"Amount paid out, {MINOR}."),
        "arrival_date": _c("TIMESTAMPTZ", "When the payout is expected to arrive (UTC)."),
        "currency": CURRENCY,
        "status": _c("VARCHAR", "paid, pending, in_transit, canceled or failed."),
        "method": _c("VARCHAR", "standard or instant."),
        "type": _c("VARCHAR", "bank_account or card."),
    },
    "payment_methods": {
        "type": _c("VARCHAR", "card, sepa_debit, us_bank_account, ..."),
        "customer": CUSTOMER,
        "card": _c("JSON", "Card brand, country, expiry, funding, last4 (never the number)."),
        "billing_details": _c("JSON", "Billing name, email, phone and address."),
    },
    "payment_links": {
        "active": _c("BOOLEAN", "Whether the link can be used."),
        "url": _c("VARCHAR", "The public URL of the link."),
        "currency": CURRENCY,
    },
    "events": {
        "type": _c("VARCHAR", "Event type, e.g. charge.refunded."),
        "api_version": _c("VARCHAR", "API version the event's data.object is rendered in."),
        "data": _c("JSON", "data.object (a snapshot) and data.previous_attributes."),
        "request": _c("JSON", "The API request that caused the event, if any."),
    },
}

# payment_link objects have no `created` field in Stripe.
_NO_CREATED = {"payment_links"}

LOADER_COLUMNS = {
    "_stripe_api_version": _c("VARCHAR", "Stripe-Version the object was rendered in when "
                                         "loaded."),
    "_loaded_at": _c("TIMESTAMPTZ", "When this row was written (UTC); one value per write."),
}


def core_columns(endpoint: str) -> dict[str, Column]:
    """The columns `stripe.<endpoint>` always has, in display order (loader columns excluded)."""
    common = {k: v for k, v in COMMON.items() if not (k == "created" and endpoint in _NO_CREATED)}
    return {**common, **_BY_ENDPOINT.get(endpoint, {})}


def column_descriptions() -> dict[str, str]:
    """name -> description over every table; a name means the same thing in every table."""
    out = {name: col.description for cols in _BY_ENDPOINT.values() for name, col in cols.items()}
    out.update({name: col.description for name, col in COMMON.items()})
    out.update({name: col.description for name, col in LOADER_COLUMNS.items()})
    # Generic wording where tables describe the same name differently.
    out["amount"] = f"Amount {MINOR}."
    out["status"] = "Stripe's status of the object (e.g. succeeded, pending, failed)."
    return out
