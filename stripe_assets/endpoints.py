"""The Stripe list endpoints this project loads, and what Stripe lets us ask of each.

One table of facts so that the client, the assets, the local API and the docs agree.
"""

from dataclasses import dataclass

# The Dagster pool every asset that calls the Stripe API runs in: one budget, the account's.
STRIPE_API_POOL = "stripe_api"


@dataclass(frozen=True)
class Endpoint:
    name: str  # asset key, DuckDB table name and URL segment: "charges"
    object_type: str  # the `object` field Stripe puts on each item: "charge"
    id_prefix: str  # "ch": ids look like ch_3Pq...
    created_filter: bool  # Stripe accepts created[gte]/created[lt] on this list
    permission: str  # restricted-key permission needed to read it

    @property
    def path(self) -> str:
        return f"/v1/{self.name}"


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in [
        Endpoint("customers", "customer", "cus", True, "rak_customer_read"),
        Endpoint("charges", "charge", "ch", True, "rak_charge_read"),
        Endpoint("payment_intents", "payment_intent", "pi", True, "rak_payment_intent_read"),
        # Stripe rejects created[...] on these two lists (400 "Received unknown parameter").
        Endpoint("payment_methods", "payment_method", "pm", False, "rak_payment_method_read"),
        Endpoint("setup_intents", "setup_intent", "seti", True, "rak_setup_intent_read"),
        Endpoint("refunds", "refund", "re", True, "rak_refund_read"),
        Endpoint("payment_links", "payment_link", "plink", False, "rak_payment_link_read"),
        Endpoint("payouts", "payout", "po", True, "rak_payout_read"),
        Endpoint("events", "event", "evt", True, "rak_event_read"),
    ]
}

# The endpoints loaded as day-partitioned assets on `created`.
PARTITIONED = ["customers", "charges", "payment_intents", "setup_intents", "refunds", "payouts"]
# Loaded whole on every run: no created filter exists for them.
FULL_REFRESH = ["payment_methods", "payment_links"]
