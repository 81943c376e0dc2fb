"""Payment links: no `created` filter nor field in Stripe, so a full refresh each run."""

import dagster as dg

from stripe_assets.assets.descriptions import describe
from stripe_assets.assets.fetch_metadata import full_refresh_metadata
from stripe_assets.assets.schemas import stripe_table_metadata
from stripe_assets.assets.spooling import fetch_to_spool
from stripe_assets.assets.stripe_lists import STRIPE_GROUP
from stripe_assets.endpoints import STRIPE_API_POOL
from stripe_assets.io_manager.spool import ObjectSpool, StripeObjects
from stripe_assets.stripe_client import StripeClient


@dg.asset(
    key=["stripe", "payment_links"],
    group_name=STRIPE_GROUP,
    description=describe("payment_links", partitioned=False),
    kinds={"stripe", "duckdb"},
    owners=["team:data-engineering"],
    tags={"stripe_endpoint": "payment_links", "load": "full_refresh"},
    metadata=stripe_table_metadata("payment_links"),
    pool=STRIPE_API_POOL,
    code_version="1",
)
def payment_links(context: dg.AssetExecutionContext, stripe: StripeClient) -> StripeObjects:
    def fill(spool: ObjectSpool) -> dict:
        for page in stripe.list_pages("payment_links"):
            spool.add_page_body(page.body, page.count)
        return full_refresh_metadata()

    return fetch_to_spool(context, stripe, "payment_links", fill)
