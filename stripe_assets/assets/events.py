"""The Stripe event log (`GET /v1/events`): day-partitioned on the event's `created`.

Events are immutable, so re-listing a day is harmless while Stripe still serves it. Stripe keeps
events for 30 days only: an older day comes back empty, and re-materializing it would replace
the events stored for it by nothing (the sensor, the schedules and the 30-day guard never ask for
such days; a manual backfill can, and this asset warns when it does).
"""

import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from stripe_assets.assets.fetch_metadata import window_metadata
from stripe_assets.assets.freshness import RAW_TABLE_FRESHNESS
from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.assets.schemas import stripe_table_metadata
from stripe_assets.assets.spooling import fetch_to_spool
from stripe_assets.assets.stripe_lists import STRIPE_GROUP
from stripe_assets.automation.retention import (
    RETENTION_DAYS,
    first_fetchable_day,
    served_beyond_retention,
)
from stripe_assets.endpoints import ENDPOINTS, STRIPE_API_POOL
from stripe_assets.io_manager.spool import ObjectSpool, StripeObjects
from stripe_assets.io_manager.stripe_handler import MERGE_BY_ID
from stripe_assets.stripe_client import StripeClient
from stripe_assets.stripe_client.page import Page
from stripe_assets.stripe_client.parallel import fetch_created_range

DESCRIPTION = (
    "Stripe events (`evt_...`): the account's change log, one row per event, immutable "
    "(`type`, `data` = the object as it was, in the API version of its time, and "
    "`data.previous_attributes`). Only the last 30 days are fetchable from Stripe: a day older "
    "than that comes back empty, so writes merge by id: re-loading a day keeps the events stored "
    "earlier and adds or replaces the ones Stripe still serves. "
    "Loaded by day of the event's `created` (UTC). Table `stripe.events` in DuckDB."
)


@dg.asset(
    name="events",
    key_prefix=["stripe"],
    group_name=STRIPE_GROUP,
    description=DESCRIPTION,
    kinds={"stripe", "duckdb"},
    owners=["team:data-engineering"],
    tags={"stripe_endpoint": "events", "load": "created_windows"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # Stripe serves 30 days of events: re-loading an older day must not erase what was stored.
    metadata={"partition_expr": "created", MERGE_BY_ID: True, **stripe_table_metadata("events")},
    pool=STRIPE_API_POOL,
    freshness_policy=RAW_TABLE_FRESHNESS,
    code_version="1",
)
def events(context: dg.AssetExecutionContext, stripe: StripeClient) -> StripeObjects:
    window = context.partition_time_window
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    now = int(time.time())
    fetchable = first_fetchable_day(now)

    def fill(spool: ObjectSpool) -> dict:
        oldest: list[int] = []  # per page; appended to by the fetch threads

        def on_page(page: Page) -> None:
            spool.add_page_body(page.body, page.count)
            if page.summary.oldest_created is not None:
                oldest.append(page.summary.oldest_created)

        fetch_created_range(stripe, ENDPOINTS["events"], start, end, on_page)
        # Stripe serves nothing older; a server that keeps more (the bundled sandbox) does.
        keeps_more = bool(oldest) and served_beyond_retention(min(oldest), now)
        if window.start.astimezone(UTC).date() < fetchable and not keeps_more:
            # The window's end is exclusive; the days Stripe no longer serves end at `fetchable`
            # (served from the same time of day 30 days ago: partial).
            last = min((window.end.astimezone(UTC) - timedelta(days=1)).date(), fetchable)
            context.log.warning(
                f"Stripe serves events of the last {RETENTION_DAYS} days only (from {fetchable}):"
                f" the days {window.start.astimezone(UTC).date()}..{last} came back empty or"
                " partial; events stored earlier for those days are kept."
            )
        return {
            **window_metadata(start, end),
            "first_fetchable_day": dg.MetadataValue.text(fetchable.isoformat()),
            "checked_at": dg.MetadataValue.timestamp(datetime.now(UTC)),
        }

    return fetch_to_spool(context, stripe, "events", fill)
