"""How stale a raw Stripe table may get before the UI flags it (evaluated by Dagster's
freshness daemon from the last materialization of any of the table's partitions)."""

from datetime import timedelta

import dagster as dg

# Warn after a day and an hour without any load (refresh_full_tables_daily and
# refresh_recent_days keep every table well inside it); fail after three days. With the
# schedules stopped (the default) a quiet account shows WARN: nothing re-read the tables, and
# that is worth knowing. The events sensor's own health is the events_sensor_is_polling check.
RAW_TABLE_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=3), warn_window=timedelta(hours=25)
)


def with_raw_freshness(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(freshness_policy=RAW_TABLE_FRESHNESS), assets
    ))
