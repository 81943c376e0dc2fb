"""The few writes the sandbox accepts, each emitting the events Stripe would.

Writes change what lists and retrieves return *and* append events, so that a loader's
incremental logic (events as the change feed) can be tested: a refund on an old charge, an
updated or deleted customer, a detached payment method. New objects and events are dated by the
server's clock. Objects are decoded, changed and re-encoded: writes are rare, reads are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from stripe_assets.sandbox import errors, shapes
from stripe_assets.sandbox.errors import StripeError
from stripe_assets.sandbox.events import event_parts
from stripe_assets.sandbox.generator import CURRENCIES, Rng, to_json
from stripe_assets.sandbox.params import Params
from stripe_assets.sandbox.store import FILTER_FIELDS, Item, Store

_UNSET = object()
_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
_REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class Mutations:
    # What POST /v1/{kind}/{id} may change, per list.
    UPDATABLE: dict[str, frozenset[str]] = {
        "customers": frozenset({"email", "name", "description", "phone", "metadata", "address"}),
        "payment_intents": frozenset({"description", "metadata", "receipt_email"}),
        "charges": frozenset({"description", "metadata", "receipt_email"}),
    }

    def __init__(self, store: Store, *, seed: int, clock: Callable[[], float]):
        self.store = store
        self.clock = clock
        self.rng = Rng(seed, "api")  # ids of objects created through the API

    def _now(self) -> int:
        return int(self.clock())

    def _emit(
        self,
        created: int,
        event_type: str,
        body: bytes,
        request_id: str,
        previous: dict[str, Any] | None = None,
    ) -> None:
        evt_id = self.rng.id("evt")
        parts = event_parts(
            evt_id, created, event_type, body, request_id=request_id, previous_attributes=previous
        )
        self.store.add("events", created, evt_id, parts, (event_type,))

    def _save(self, item: Item, obj: dict[str, Any]) -> bytes:
        """Store the object's new state; its filterable values follow it."""
        body = to_json(obj)
        attrs = tuple(obj.get(name) for name in FILTER_FIELDS[item.kind])
        self.store.replace_body(item, body, attrs)
        return body

    # -- refunds

    def create_refund(self, params: Params, request_id: str) -> bytes:
        _only(params, {"charge", "payment_intent", "amount", "reason", "metadata", "expand"})
        with self.store.lock:
            charge_item = self._refunded_charge(params)
            charge = charge_item.to_dict()
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            if remaining <= 0:
                raise StripeError(
                    400,
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = remaining
            if "amount" in params:
                amount = _positive_int(params, "amount")
                if amount > remaining:
                    currency = charge["currency"]
                    raise StripeError(
                        400,
                        f"Refund amount ({_money(amount, currency)}) is greater than unrefunded "
                        f"amount on charge ({_money(remaining, currency)})",
                        code="amount_too_large",
                        param="amount",
                    )
            reason = None
            if "reason" in params:
                reason = _str(params, "reason")
                if reason not in _REFUND_REASONS:
                    raise StripeError(
                        400,
                        "Invalid reason: must be one of duplicate, fraudulent, or "
                        "requested_by_customer",
                        param="reason",
                        code="parameter_invalid_string",
                    )
            now = self._now()
            refund_id = self.rng.id("re")
            refund = shapes.refund(
                refund_id,
                now,
                amount=amount,
                currency=charge["currency"],
                charge=charge["id"],
                payment_intent=charge["payment_intent"],
                customer=charge["customer"],
                payment_method=charge["payment_method"],
                status="succeeded",
                reason=reason,
                balance_transaction=self.rng.id("txn"),
                acquirer_reference=f"{self.rng.randrange(10**23):023d}",
                metadata=_merge_metadata({}, params.get("metadata", _UNSET))[0],
            )
            refund_body = to_json(refund)
            self.store.add(
                "refunds", now, refund_id, refund_body, (charge["id"], charge["payment_intent"])
            )

            previous: dict[str, Any] = {"amount_refunded": charge["amount_refunded"]}
            charge["amount_refunded"] += amount
            refunded = charge["amount_refunded"] == charge["amount_captured"]
            if refunded != charge["refunded"]:
                previous["refunded"] = charge["refunded"]
            charge["refunded"] = refunded
            charge_body = self._save(charge_item, charge)

            self._emit(now, "refund.created", refund_body, request_id)
            self._emit(now, "charge.refunded", charge_body, request_id, previous)
            self._emit(now, "charge.refund.updated", refund_body, request_id)
            return refund_body

    def _refunded_charge(self, params: Params) -> Item:
        if "charge" in params:
            charge_id = _str(params, "charge")
            item = self.store.get(charge_id, "charges")
            if item is None:
                raise errors.no_such("charges", charge_id, "charge", status=400)
        elif "payment_intent" in params:
            pi_id = _str(params, "payment_intent")
            pi_item = self.store.get(pi_id, "payment_intents")
            if pi_item is None:
                raise errors.no_such("payment_intents", pi_id, "payment_intent", status=400)
            latest = pi_item.to_dict()["latest_charge"]
            item = self.store.get(latest, "charges") if latest else None
            if item is None:
                raise StripeError(
                    400,
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
        else:
            raise StripeError(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        charge = item.to_dict()
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise StripeError(
                400,
                f"Charge {charge['id']} cannot be refunded: it has status "
                f"'{charge['status']}'{'' if charge['captured'] else ' and is not captured'}.",
                code="charge_not_refundable",
            )
        return item

    # -- updates

    def update(self, kind: str, obj_id: str, params: Params, request_id: str) -> bytes:
        allowed = self.UPDATABLE[kind]
        _only(params, allowed | {"expand"})
        with self.store.lock:
            item = self.store.get(obj_id, kind)
            if item is None or item.deleted:
                raise errors.no_such(kind, obj_id, "id")
            obj = item.to_dict()
            previous: dict[str, Any] = {}
            for name, value in params.items():
                if name == "expand":
                    continue
                if name == "metadata":
                    obj["metadata"], changed = _merge_metadata(obj["metadata"], value)
                    if changed:
                        previous["metadata"] = changed
                elif name == "address":
                    new_address = _address(obj.get("address"), value)
                    if new_address != obj.get("address"):
                        previous["address"] = obj.get("address")
                        obj["address"] = new_address
                else:
                    new = _str(params, name) or None  # "" unsets, as in Stripe
                    if obj.get(name) != new:
                        previous[name] = obj.get(name)
                        obj[name] = new
            if not previous:
                return item.json_bytes()
            body = self._save(item, obj)
            self._emit(self._now(), f"{obj['object']}.updated", body, request_id, previous)
            return body

    def delete_customer(self, customer_id: str, params: Params, request_id: str) -> bytes:
        _only(params, set())
        with self.store.lock:
            item = self.store.get(customer_id, "customers")
            if item is None or item.deleted:
                raise errors.no_such("customers", customer_id, "id")
            self.store.mark_deleted(item)
            # The event carries the customer as it was; lists and retrieves now hide it.
            self._emit(self._now(), "customer.deleted", item.json_bytes(), request_id)
            return json.dumps({"id": customer_id, "object": "customer", "deleted": True}).encode()

    def detach_payment_method(self, pm_id: str, params: Params, request_id: str) -> bytes:
        _only(params, {"expand"})
        with self.store.lock:
            item = self.store.get(pm_id, "payment_methods")
            if item is None:
                raise errors.no_such("payment_methods", pm_id, "payment_method")
            obj = item.to_dict()
            if obj["customer"] is None:
                raise StripeError(
                    400,
                    "The payment method you provided is not attached to a customer so "
                    "detachment is impossible.",
                    code="payment_method_unexpected_state",
                )
            previous = {"customer": obj["customer"]}
            obj["customer"] = None
            body = self._save(item, obj)
            self._emit(self._now(), "payment_method.detached", body, request_id, previous)
            return body


def _only(params: Params, allowed: set[str] | frozenset[str]) -> None:
    for name in params:
        if name not in allowed:
            raise errors.unknown_parameter(name)


def _str(params: Params, name: str) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {json.dumps(value)}", param=name)
    return value


def _positive_int(params: Params, name: str) -> int:
    text = _str(params, name)
    if not text.strip().isdigit():
        raise errors.invalid_integer(name, text)
    value = int(text)
    if value < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param=name)
    return value


def _merge_metadata(current: dict[str, str], value: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """Stripe's metadata update: keys set, "" unsets a key, metadata="" clears all.
    Returns the new metadata and the previous values of the keys that changed."""
    if value is _UNSET:
        return dict(current), {}
    if value == "":
        return {}, dict(current)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StripeError(400, "Invalid hash", param="metadata")
    new = dict(current)
    changed: dict[str, Any] = {}
    for key, val in value.items():
        old = current.get(key)
        if val == "":
            new.pop(key, None)
        else:
            new[key] = val
        if new.get(key) != old:
            changed[key] = old
    return new, changed


def _address(current: dict[str, Any] | None, value: Any) -> dict[str, Any] | None:
    if value == "":
        return None
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid hash", param="address")
    new = dict(current or dict.fromkeys(_ADDRESS_FIELDS))
    for key, val in value.items():
        if key not in _ADDRESS_FIELDS:
            raise errors.unknown_parameter(f"address[{key}]")
        if not isinstance(val, str):
            raise StripeError(400, "Invalid string", param=f"address[{key}]")
        new[key] = val or None
    return new


def _money(amount: int, currency: str) -> str:
    """5000, "usd" -> "50.00 USD"; jpy has no decimals, kwd three."""
    c = CURRENCIES.get(currency)
    exponent = c.exponent if c else 2
    if exponent == 0:
        return f"{amount} {currency.upper()}"
    return f"{amount / 10**exponent:.{exponent}f} {currency.upper()}"
