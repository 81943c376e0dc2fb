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
from stripe_assets.checks.warehouse import DuckDBReader, WarehouseMissingError, table_columns
from stripe_assets.jobs import stripe_table_key

MAX_CURSOR_AGE_SECONDS = 3600  # the sensor ticks every 30 s


def _stored_cursor(instance: dg.DagsterInstance) -> tuple[EventsCursor | None, str]:
    """The sensor's stored cursor polled furthest, and its status (for metadata)."""
    best: tuple[EventsCursor | None, str] = (None, "never ticked")
    if instance.schedule_storage is None:  # an ephemeral instance keeps no sensor state
        return None, "unknown: this Dagster instance stores no sensor state"
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.name != SENSOR_NAME or not isinstance(state.instigator_data, SensorInstigatorData):
            continue
        try:
            cursor = EventsCursor.from_json(state.instigator_data.cursor)
        except CursorError:
            cursor = None
        if cursor is not None and (best[0] is None or cursor.through > best[0].through):
            best = (cursor, state.status.value)
    return best


def _age(ts: float | None, now: float) -> float | None:
    return None if ts is None else round((now - ts) / 3600, 2)


@dg.asset_check(
    asset=stripe_table_key("events"), name="events_sensor_is_polling",
    automation_condition=HOURLY_CHECK_CONDITION,
    description=(
        "stripe_events_sensor has read the event log within the last hour (its cursor's "
        "polled-through time, so a quiet account passes), and has no older stretch of it left "
        "to read (after an outage it catches up a page budget a tick). WARN when it is "
        f"behind: after {RETENTION_DAYS} days behind, changes are lost from the event log and "
        "the sensor re-loads everything. Also reports the newest stored event."
    ),
)
def events_sensor_is_polling(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBReader
) -> dg.AssetCheckResult:
    now = time.time()
    cursor, status = _stored_cursor(context.instance)
    through = cursor.through if cursor is not None else None
    # After a long outage the sensor polls up to now at once, but reads the windows it skipped
    # a page budget at a time: the oldest of those, not `through`, is how far behind it is.
    unread = cursor.oldest_unread(overlap_seconds=0) if cursor is not None else None
    newest_event: float | None = None
    try:
        with warehouse.connect() as con:
            if "created" in table_columns(con, "stripe", "events"):
                value = con.execute("SELECT max(epoch(created)) FROM stripe.events").fetchall()
                newest_event = float(value[0][0]) if value[0][0] is not None else None
    except WarehouseMissingError:
        pass  # nothing loaded yet: the sensor's own state is still worth reporting
    metadata: dict[str, Any] = {
        "sensor_status": status,
        "cursor_age_hours": _age(through, now),
        "unread_since_hours": _age(unread, now),
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
    if cursor is None:
        description = (f"{SENSOR_NAME} has no cursor: it never ticked (is it stopped, or the "
                       "daemon not running?). Changes to old objects are not being picked up.")
    elif now - cursor.through > MAX_CURSOR_AGE_SECONDS:
        description = (f"{SENSOR_NAME} last read events {(now - cursor.through) / 3600:.1f} hours"
                       f" ago (status: {status}). Changes since then are not in the tables yet.")
    elif unread is not None and now - unread > MAX_CURSOR_AGE_SECONDS:
        description = (f"{SENSOR_NAME} is catching up: events since"
                       f" {datetime.fromtimestamp(unread, UTC):%Y-%m-%d %H:%M} UTC"
                       f" ({(now - unread) / 3600:.1f} hours ago) are still to be read, a page"
                       " budget a tick. Changes in them are not in the tables yet.")
    else:
        description = None
    return dg.AssetCheckResult(
        passed=description is None, severity=dg.AssetCheckSeverity.WARN,
        description=description, metadata=metadata,
    )
