"""Payment methods: Stripe has no list of all of a merchant's payment methods.

`GET /v1/payment_methods` without `customer` does not return them, so this asset reads:
  1. every customer's saved methods: `GET /v1/customers/{id}/payment_methods`, concurrently;
  2. methods used by guests (attached to no customer), known only by the id that payment
     intents, setup intents and charges reference: `GET /v1/payment_methods/{id}`. Charges
     too: after a declined attempt Stripe clears the intent's `payment_method`, and the
     failed charge is then the only object that names the method.
"""

from typing import Any

import dagster as dg
import pandas as pd

from stripe_assets.assets.descriptions import describe
from stripe_assets.assets.fetch_metadata import full_refresh_metadata
from stripe_assets.assets.schemas import stripe_table_metadata
from stripe_assets.assets.spooling import fetch_to_spool
from stripe_assets.assets.stripe_lists import STRIPE_GROUP
from stripe_assets.endpoints import STRIPE_API_POOL
from stripe_assets.io_manager.spool import ObjectSpool, StripeObjects
from stripe_assets.stripe_client import StripeClient, StripeInvalidRequestError
from stripe_assets.stripe_client.parallel import fan_out


def _ids(frame: pd.DataFrame, column: str) -> set[str]:
    if column not in frame.columns:
        return set()
    # Legacy `card_...`/`src_...` sources are not payment methods: only pm_ ids are retrievable.
    return {v for v in frame[column].dropna().astype(str) if v.startswith("pm_")}


@dg.asset(
    key=["stripe", "payment_methods"],
    group_name=STRIPE_GROUP,
    description=describe("payment_methods", partitioned=False),
    kinds={"stripe", "duckdb"},
    owners=["team:data-engineering"],
    tags={"stripe_endpoint": "payment_methods", "load": "per_customer_and_by_id"},
    metadata=stripe_table_metadata("payment_methods"),
    ins={
        "customers": dg.AssetIn(key=["stripe", "customers"], metadata={"columns": ["id"]}),
        "payment_intents": dg.AssetIn(
            key=["stripe", "payment_intents"], metadata={"columns": ["payment_method"]}
        ),
        "setup_intents": dg.AssetIn(
            key=["stripe", "setup_intents"], metadata={"columns": ["payment_method"]}
        ),
        "charges": dg.AssetIn(key=["stripe", "charges"], metadata={"columns": ["payment_method"]}),
    },
    pool=STRIPE_API_POOL,
    code_version="2",
)
def payment_methods(
    context: dg.AssetExecutionContext,
    stripe: StripeClient,
    customers: pd.DataFrame,
    payment_intents: pd.DataFrame,
    setup_intents: pd.DataFrame,
    charges: pd.DataFrame,
) -> StripeObjects:
    customer_ids = sorted(set(customers["id"].dropna())) if "id" in customers.columns else []
    referenced = set().union(*(_ids(frame, "payment_method")
                               for frame in (payment_intents, setup_intents, charges)))

    def fill(spool: ObjectSpool) -> dict[str, Any]:
        seen: set[str] = set()
        gone: list[str] = []

        def saved_methods(customer_id: str) -> None:
            path = f"/v1/customers/{customer_id}/payment_methods"
            try:
                for page in stripe.list_pages("payment_methods", path=path):
                    spool.add_page_body(page.body, page.count)
                    seen.update(o["id"] for o in page.objects)
            except StripeInvalidRequestError as exc:
                if exc.status != 404:
                    raise
                gone.append(customer_id)  # deleted since the customers table was loaded

        fan_out(saved_methods, customer_ids, stripe.effective_max_workers())

        guests = sorted(referenced - seen)
        missing: list[str] = []

        def retrieve(pm_id: str) -> dict[str, Any] | None:
            try:
                return stripe.retrieve("payment_methods", pm_id)
            except StripeInvalidRequestError as exc:
                if exc.status != 404:
                    raise
                missing.append(pm_id)
                return None

        found = [o for o in fan_out(retrieve, guests, stripe.effective_max_workers()) if o]
        for start in range(0, len(found), 100):
            spool.add_objects(found[start : start + 100])
        if gone or missing:
            context.log.warning(
                f"{len(gone)} customer(s) and {len(missing)} referenced payment method(s) were "
                "no longer in Stripe (404) and were skipped."
            )
        return {
            **full_refresh_metadata(),
            "customers_scanned": len(customer_ids),
            "saved_methods": len(seen),
            "guest_methods_retrieved": len(found),
            "skipped_404": len(gone) + len(missing),
        }

    return fetch_to_spool(context, stripe, "payment_methods", fill)
