"""Schedules: a safety net beside stripe_events_sensor, STOPPED by default.

Why stopped: they re-read data whether or not anything changed, spending the Stripe account's
rate limit (shared with the merchant's own production traffic) every hour. The events sensor
already refreshes what changed. Turn them on for belt and braces (e.g. if the sensor may be
stopped for a while), or when the raw tables' freshness policy should stay green on a quiet
account.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.automation.ranges import partition_run_request
from stripe_assets.automation.run_requests import LAUNCHED_BY_TAG, REASON_TAG
from stripe_assets.jobs import (
    DAY_TABLES,
    refresh_stripe_days,
    refresh_stripe_full_tables,
    stripe_table_key,
)

RECENT_DAYS_CRON = "5 * * * *"  # hourly, a few minutes past the hour
FULL_TABLES_CRON = "30 3 * * *"  # daily, at a quiet hour


@dg.schedule(
    name="refresh_recent_days",
    cron_schedule=RECENT_DAYS_CRON,
    execution_timezone="UTC",
    job=refresh_stripe_days,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Every hour, re-list today and yesterday (UTC) of every day-partitioned Stripe table: "
        "one run per table covering both days. Catches changes the events sensor might miss."
    ),
)
def refresh_recent_days(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    when = context.scheduled_execution_time.astimezone(UTC)
    if (late := _superseded(when, timedelta(hours=1))) is not None:
        return late
    today = when.date()
    # On the first partition's day there is no yesterday to re-list: a range starting before
    # the first partition would fail every run.
    first = max(today - timedelta(days=1), daily_partitions.start.date())
    if first > today:
        return []
    tags = {LAUNCHED_BY_TAG: "refresh_recent_days", REASON_TAG: "schedule"}
    return [
        partition_run_request(
            stripe_table_key(table), first, today,
            job_name=refresh_stripe_days.name, run_key=f"{table}:{when.isoformat()}", tags=tags,
        )
        for table in DAY_TABLES
    ]


@dg.schedule(
    name="refresh_full_tables_daily",
    cron_schedule=FULL_TABLES_CRON,
    execution_timezone="UTC",
    job=refresh_stripe_full_tables,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    tags={LAUNCHED_BY_TAG: "refresh_full_tables_daily", REASON_TAG: "schedule"},
    description="Every day, re-read payment_links and payment_methods whole.",
)
def refresh_full_tables_daily(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    when = context.scheduled_execution_time.astimezone(UTC)
    return _superseded(when, timedelta(days=1)) or dg.RunRequest()


def _superseded(when: datetime, interval: timedelta) -> dg.SkipReason | None:
    """Skip a tick the next one has come due after: a daemon back from downtime replays the
    ticks it missed (up to 5 by default), and each would re-read the same data."""
    if datetime.now(UTC) - when < interval:
        return None
    return dg.SkipReason(
        f"The tick of {when:%Y-%m-%d %H:%M} UTC is evaluated late, after the next one came due:"
        " that one re-reads the same data, so this one is skipped."
    )

all_schedules = [refresh_recent_days, refresh_full_tables_daily]
