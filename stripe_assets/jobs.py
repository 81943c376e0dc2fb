"""Jobs named for what people do with the data."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from stripe_assets.endpoints import FULL_REFRESH, PARTITIONED

# The day-partitioned Stripe tables (partitioned on each object's `created`, the event log on
# the event's) and the tables re-read whole because Stripe cannot filter them on `created`.
DAY_TABLES = [*PARTITIONED, "events"]
FULL_TABLES = list(FULL_REFRESH)


def stripe_table_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["stripe", name])


load_everything = dg.define_asset_job(
    "load_everything",
    selection=dg.AssetSelection.all(),
    description="Load every Stripe endpoint (all selected days) and rebuild the analytics.",
)

refresh_stripe_days = dg.define_asset_job(
    "refresh_stripe_days",
    selection=dg.AssetSelection.assets(*(stripe_table_key(n) for n in DAY_TABLES)),
    description=(
        "Re-list chosen days of the day-partitioned Stripe tables, replacing those days' rows. "
        "Launched one asset per run by stripe_events_sensor (the days that changed) and "
        "refresh_recent_days (today and yesterday)."
    ),
)

refresh_stripe_full_tables = dg.define_asset_job(
    "refresh_stripe_full_tables",
    selection=dg.AssetSelection.assets(*(stripe_table_key(n) for n in FULL_TABLES)),
    description=(
        "Re-read payment_links and payment_methods whole (Stripe cannot list them by "
        "`created`). Launched by stripe_events_sensor and refresh_full_tables_daily."
    ),
)


def refresh_endpoint_job(name: str) -> UnresolvedAssetJobDefinition:
    """`refresh_<endpoint>`: the button for "re-load this one table" in the UI's job list."""
    how = (
        "for the days chosen in the launchpad (a partition or a range of them), replacing "
        "those days' rows"
        if name in DAY_TABLES
        else "whole (Stripe cannot list it by `created`)"
    )
    return dg.define_asset_job(
        f"refresh_{name}",
        selection=dg.AssetSelection.assets(stripe_table_key(name)),
        description=f"Re-load stripe.{name} {how}, and run its checks. The analytics that read "
        "it rebuild by themselves.",
    )


refresh_endpoint_jobs = [refresh_endpoint_job(name) for name in [*DAY_TABLES, *FULL_TABLES]]

all_jobs = [
    load_everything, refresh_stripe_days, refresh_stripe_full_tables, *refresh_endpoint_jobs
]
