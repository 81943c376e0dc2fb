"""Run a fetch into a fresh spool and hand the result to the IO manager, with its API cost."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from stripe_assets.assets.fetch_metadata import api_cost_metadata
from stripe_assets.columns import core_columns
from stripe_assets.io_manager.spool import ObjectSpool, StripeObjects
from stripe_assets.stripe_client import StripeClient


def fetch_to_spool(
    context: dg.AssetExecutionContext,
    stripe: StripeClient,
    name: str,
    fill: Callable[[ObjectSpool], dict[str, Any] | None],
) -> StripeObjects:
    """`fill` writes the objects into the spool and may return extra metadata."""
    before = stripe.stats.snapshot()
    spool = ObjectSpool(prefix=name)
    try:
        extra = fill(spool) or {}
        spool.finish()
    except BaseException:
        spool.discard()  # nothing half-fetched may reach the table
        raise
    cost = stripe.stats.since(before)
    metadata = {**api_cost_metadata(cost, stripe.stripe_version), **extra}
    # A run's range tags reach its unpartitioned assets too (a backfill of every asset).
    partitioned = context.assets_def.partitions_def is not None
    keys = context.partition_keys if partitioned and context.has_partition_key_range else []
    if len(keys) > 1:
        # A run over many days: its facts (requests, pages, ...) go on the newest day, the
        # materialization the UI shows as latest, not on every day as if each cost them all.
        context.add_asset_metadata(metadata, partition_key=keys[-1])
    else:
        context.add_output_metadata(metadata)
    context.log.info(
        f"{name}: fetched {spool.object_count} objects in {int(cost['pages'])} pages "
        f"({int(cost['requests'])} requests, {int(cost['retries'])} retries)"
    )
    core = {column: spec.type for column, spec in core_columns(name).items()}
    return StripeObjects(spool=spool, api_version=stripe.stripe_version, core_columns=core,
                         source=stripe.data_source)
