"""When derived tables rebuild themselves: declarative automation, evaluated by one sensor."""

from typing import Any, cast

import dagster as dg

# Like eager(): rebuild after an upstream partition is updated, once nothing upstream is in
# progress; and also after a deploy that changes the asset's code_version (its SQL). Instead of
# eager()'s "no upstream partition missing" (the raw tables have a partition per day since
# STRIPE_START_DATE, and most of those days are never loaded: it would wait forever), every
# upstream table must have been loaded at least once: a rebuild before then would only fail on
# the missing table.
_UPDATED = cast("dg.AutomationCondition[Any]", (
    dg.AutomationCondition.newly_missing()
    | dg.AutomationCondition.any_deps_updated()
    | dg.AutomationCondition.code_version_changed()
))
ANALYTICS_CONDITION = (
    dg.AutomationCondition.in_latest_time_window()
    & _UPDATED.since_last_handled()
    & dg.AutomationCondition.all_deps_match(~dg.AutomationCondition.missing()).with_label(
        "every upstream table loaded at least once"
    )
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("eager, once every upstream table is loaded and its blocking checks passed, and on"
             " a new code version")

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
