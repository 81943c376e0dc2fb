"""When derived tables rebuild themselves: declarative automation, evaluated by one sensor."""

from typing import cast

import dagster as dg

# eager(): rebuild after any upstream partition is updated, once nothing upstream is in
# progress. Without its "no upstream partition missing" clause: the raw tables have a partition
# per day since STRIPE_START_DATE and most of those days are never loaded (the account is
# younger, or was loaded with --start), so plain eager() would wait forever.
ANALYTICS_CONDITION = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager (never-loaded upstream days allowed)")
)

# Checks that watch the loader itself run on a clock, not only after a materialization: a
# stopped sensor materializes nothing, and its check must still say so.
HOURLY_CHECK_CONDITION = cast(
    "dg.AutomationCondition[dg.AssetCheckKey]",
    dg.AutomationCondition.cron_tick_passed("15 * * * *", cron_timezone="UTC").with_label(
        "hourly"
    ),
)

automation_sensor = dg.AutomationConditionSensorDefinition(
    "stripe_automation_sensor",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=30,
    # RUNNING by default: the analytics should follow the raw tables without anyone clicking,
    # and the evaluation itself is cheap (no API calls; runs only when upstream changed).
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates the automation conditions: rebuilds analytics.* after their upstream "
        "tables change, and runs the events-sensor health check hourly."
    ),
)
