"""The schedules, the safety net beside the events sensor: what one tick asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.automation import schedules
from stripe_assets.automation.run_requests import LAUNCHED_BY_TAG, REASON_TAG
from stripe_assets.automation.schedules import refresh_full_tables_daily, refresh_recent_days
from stripe_assets_tests.test_definitions import PARTITIONED as DAY_TABLES


def test_refresh_recent_days_asks_one_run_per_table_for_yesterday_and_today_in_utc(
    monkeypatch: pytest.MonkeyPatch,
):
    # Five past midnight UTC: "today" has just begun, yesterday is the day that ended.
    scheduled = datetime(2025, 7, 11, 0, 5, tzinfo=UTC)
    evaluated_at(monkeypatch, scheduled + timedelta(seconds=20))
    context = dg.build_schedule_context(scheduled_execution_time=scheduled)
    requests = refresh_recent_days(context)
    assert isinstance(requests, list)
    assert {(r.asset_selection[0].path[-1], r.tags["dagster/asset_partition_range_start"],  # type: ignore[index]
             r.tags["dagster/asset_partition_range_end"]) for r in requests} == {
        (table, "2025-07-10", "2025-07-11") for table in DAY_TABLES}
    assert len(requests) == len(DAY_TABLES)
    assert {r.job_name for r in requests} == {"refresh_stripe_days"}
    assert len({r.run_key for r in requests}) == len(requests)


def test_on_the_first_partitions_day_only_that_day_is_asked_for_and_before_it_nothing(
    monkeypatch: pytest.MonkeyPatch,
):
    # A range starting the day before the first partition would fail all its runs.
    first = daily_partitions.start.astimezone(UTC)
    evaluated_at(monkeypatch, first + timedelta(minutes=6))
    context = dg.build_schedule_context(scheduled_execution_time=first + timedelta(minutes=5))
    requests = refresh_recent_days(context)
    assert isinstance(requests, list)
    assert {(r.asset_selection[0].path[-1], r.partition_key) for r in requests} == {  # type: ignore[index]
        (table, first.date().isoformat()) for table in DAY_TABLES}
    evaluated_at(monkeypatch, first - timedelta(minutes=54))
    before = dg.build_schedule_context(scheduled_execution_time=first - timedelta(hours=1))
    assert refresh_recent_days(before) == []


def test_the_daily_schedule_refreshes_the_unpartitioned_tables(monkeypatch: pytest.MonkeyPatch):
    assert refresh_full_tables_daily.job_name == "refresh_stripe_full_tables"
    assert refresh_full_tables_daily.default_status == dg.DefaultScheduleStatus.STOPPED
    scheduled = datetime(2025, 7, 11, 3, 30, tzinfo=UTC)
    evaluated_at(monkeypatch, scheduled + timedelta(seconds=20))
    request = refresh_full_tables_daily(dg.build_schedule_context(
        scheduled_execution_time=scheduled))
    assert isinstance(request, dg.RunRequest)
    assert refresh_full_tables_daily.tags == {LAUNCHED_BY_TAG: "refresh_full_tables_daily",
                                              REASON_TAG: "schedule"}


@pytest.mark.parametrize(("schedule", "every"), [(refresh_recent_days, timedelta(hours=1)),
                                                 (refresh_full_tables_daily, timedelta(days=1))])
def test_a_tick_replayed_after_downtime_is_skipped_when_a_later_one_came_due(
    monkeypatch: pytest.MonkeyPatch, schedule: dg.ScheduleDefinition, every: timedelta,
):
    # Back from 5 hours (or days) of downtime, the daemon evaluates the missed ticks in turn:
    # only the newest, which re-reads the same data, should launch runs.
    newest = datetime(2025, 7, 11, 3, 30, tzinfo=UTC)
    evaluated_at(monkeypatch, newest + timedelta(minutes=2))
    for missed in range(1, 5):
        result = schedule(dg.build_schedule_context(
            scheduled_execution_time=newest - missed * every))
        assert isinstance(result, dg.SkipReason)
        assert "evaluated late" in (result.skip_message or "")
    assert not isinstance(schedule(dg.build_schedule_context(scheduled_execution_time=newest)),
                          dg.SkipReason)


def evaluated_at(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """The schedules compare a tick's time with the clock: set the clock."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return now if tz is None else now.astimezone(tz)

    monkeypatch.setattr(schedules, "datetime", Clock)
