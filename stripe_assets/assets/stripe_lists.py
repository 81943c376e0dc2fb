"""One day-partitioned asset per Stripe list that can be filtered on `created`."""

import dagster as dg

from stripe_assets.assets.descriptions import describe
from stripe_assets.assets.fetch_metadata import window_metadata
from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.assets.schemas import stripe_table_metadata
from stripe_assets.assets.spooling import fetch_to_spool
from stripe_assets.endpoints import ENDPOINTS, PARTITIONED, STRIPE_API_POOL, Endpoint
from stripe_assets.io_manager.spool import ObjectSpool, StripeObjects
from stripe_assets.stripe_client import StripeClient
from stripe_assets.stripe_client.parallel import fetch_created_range

STRIPE_GROUP = "stripe"


def build_created_partitioned_asset(endpoint: Endpoint) -> dg.AssetsDefinition:
    @dg.asset(
        name=endpoint.name,
        key_prefix=["stripe"],
        group_name=STRIPE_GROUP,
        description=describe(endpoint.name, partitioned=True),
        kinds={"stripe", "duckdb"},
        owners=["team:data-engineering"],
        tags={"stripe_endpoint": endpoint.name, "load": "created_windows"},
        partitions_def=daily_partitions,
        # A backfill of a range is one run that fetches the whole range concurrently.
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "created", **stripe_table_metadata(endpoint.name)},
        pool=STRIPE_API_POOL,
        code_version="1",
    )
    def _asset(context: dg.AssetExecutionContext, stripe: StripeClient) -> StripeObjects:
        window = context.partition_time_window
        start, end = int(window.start.timestamp()), int(window.end.timestamp())

        def fill(spool: ObjectSpool) -> dict:
            fetch_created_range(
                stripe, endpoint, start, end,
                lambda page: spool.add_page_body(page.body, page.count),
            )
            return window_metadata(start, end)

        return fetch_to_spool(context, stripe, endpoint.name, fill)

    return _asset


created_partitioned_assets = [build_created_partitioned_asset(ENDPOINTS[n]) for n in PARTITIONED]
