"""Is stripe_events_sensor keeping up? Checked hourly on its own (a stopped sensor launches no
runs, so a check that ran only after loads would never notice)."""

import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import SensorInstigatorData

from stripe_assets.automation.conditions import HOURLY_CHECK_CONDITION
from stripe_assets.automation.cursor import CursorError, EventsCursor
from stripe_assets.automation.events_sensor import SENSOR_NAME
from stripe_assets.automation.retention import RETENTION_DAYS
from stripe_assets.checks.warehouse import DuckDBReader, table_columns
from stripe_assets.jobs import stripe_table_key

MAX_CURSOR_AGE_SECONDS = 3600  # the sensor ticks every 30 s


def _cursor_through(instance: dg.DagsterInstance) -> tuple[int | None, str]:
    """The newest `through` of the sensor's stored cursors, and its status (for metadata)."""
    best: tuple[int | None, str] = (None, "never ticked")
    if instance.schedule_storage is None:  # an ephemeral instance keeps no sensor state
        return None, "unknown: this Dagster instance stores no sensor state"
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.name != SENSOR_NAME or not isinstance(state.instigator_data, SensorInstigatorData):
            continue
        try:
            cursor = EventsCursor.from_json(state.instigator_data.cursor)
        except CursorError:
            cursor = None
        if cursor is not None and (best[0] is None or cursor.through > best[0]):
            best = (cursor.through, state.status.value)
    return best


def _age(ts: float | None, now: float) -> float | None:
    return None if ts is None else round((now - ts) / 3600, 2)


@dg.asset_check(
    asset=stripe_table_key("events"), name="events_sensor_is_polling",
    automation_condition=HOURLY_CHECK_CONDITION,
    description=(
        "stripe_events_sensor has read the event log within the last hour (its cursor's "
        "polled-through time, so a quiet account passes). WARN when it is behind: after "
        f"{RETENTION_DAYS} days behind, changes are lost from the event log and the sensor "
        "re-loads everything. Also reports the newest stored event."
    ),
)
def events_sensor_is_polling(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBReader
) -> dg.AssetCheckResult:
    now = time.time()
    through, status = _cursor_through(context.instance)
    newest_event: float | None = None
    with warehouse.connect() as con:
        if "created" in table_columns(con, "stripe", "events"):
            value = con.execute("SELECT max(epoch(created)) FROM stripe.events").fetchall()[0][0]
            newest_event = float(value) if value is not None else None
    metadata: dict[str, Any] = {
        "sensor_status": status,
        "cursor_age_hours": _age(through, now),
        "newest_event_age_hours": _age(newest_event, now),
    }
    if through is not None:
        metadata["polled_through"] = dg.MetadataValue.timestamp(
            datetime.fromtimestamp(through, UTC)
        )
    if newest_event is not None:
        metadata["newest_event"] = dg.MetadataValue.timestamp(
            datetime.fromtimestamp(newest_event, UTC)
        )
    if through is None:
        description = (f"{SENSOR_NAME} has no cursor: it never ticked (is it stopped, or the "
                       "daemon not running?). Changes to old objects are not being picked up.")
    elif now - through > MAX_CURSOR_AGE_SECONDS:
        description = (f"{SENSOR_NAME} last read events {(now - through) / 3600:.1f} hours ago "
                       f"(status: {status}). Changes since then are not in the tables yet.")
    else:
        description = None
    return dg.AssetCheckResult(
        passed=description is None, severity=dg.AssetCheckSeverity.WARN,
        description=description, metadata=metadata,
    )
