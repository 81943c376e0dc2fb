"""The schedules, the safety net beside the events sensor: what one tick asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.automation.schedules import refresh_full_tables_daily, refresh_recent_days
from stripe_assets.jobs import DAY_TABLES


def test_refresh_recent_days_asks_one_run_per_table_for_yesterday_and_today_in_utc():
    # Five past midnight UTC: "today" has just begun, yesterday is the day that ended.
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2025, 7, 11, 0, 5, tzinfo=UTC))
    requests = refresh_recent_days(context)
    assert isinstance(requests, list)
    assert {(r.asset_selection[0].path[-1], r.tags["dagster/asset_partition_range_start"],  # type: ignore[index]
             r.tags["dagster/asset_partition_range_end"]) for r in requests} == {
        (table, "2025-07-10", "2025-07-11") for table in DAY_TABLES}
    assert len(requests) == len(DAY_TABLES)
    assert {r.job_name for r in requests} == {"refresh_stripe_days"}
    assert len({r.run_key for r in requests}) == len(requests)


def test_on_the_first_partitions_day_only_that_day_is_asked_for_and_before_it_nothing():
    # A range starting the day before the first partition would fail all its runs.
    first = daily_partitions.start.astimezone(UTC)
    context = dg.build_schedule_context(scheduled_execution_time=first + timedelta(minutes=5))
    requests = refresh_recent_days(context)
    assert isinstance(requests, list)
    assert {(r.asset_selection[0].path[-1], r.partition_key) for r in requests} == {  # type: ignore[index]
        (table, first.date().isoformat()) for table in DAY_TABLES}
    before = dg.build_schedule_context(scheduled_execution_time=first - timedelta(hours=1))
    assert refresh_recent_days(before) == []


def test_the_daily_schedule_refreshes_the_unpartitioned_tables():
    assert refresh_full_tables_daily.job_name == "refresh_stripe_full_tables"
    assert refresh_full_tables_daily.default_status == dg.DefaultScheduleStatus.STOPPED
