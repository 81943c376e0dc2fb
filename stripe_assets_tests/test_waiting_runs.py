"""Which run requests a waiting (queued, not started) run already covers."""

from __future__ import annotations

from datetime import date

import dagster as dg

from stripe_assets.automation.ranges import partition_run_request
from stripe_assets.automation.waiting_runs import (
    ALL,
    Relied,
    Span,
    Waiting,
    as_waiting,
    not_waiting,
)

CHARGES, REFUNDS = dg.AssetKey(["stripe", "charges"]), dg.AssetKey(["stripe", "refunds"])
LINKS = dg.AssetKey(["stripe", "payment_links"])


def days(key: dg.AssetKey, first: str, last: str) -> dg.RunRequest:
    return partition_run_request(key, date.fromisoformat(first), date.fromisoformat(last),
                                 job_name="refresh_stripe_days", run_key=None, tags={})


def test_a_waiting_run_covers_its_asset_and_days_only():
    jan: Span = ("2025-01-01", "2025-01-05")
    waiting: Waiting = {CHARGES: [(jan, "run-a")], LINKS: [(ALL, "run-b")]}
    inside = days(CHARGES, "2025-01-02", "2025-01-03")
    across = days(CHARGES, "2025-01-04", "2025-01-06")
    other_table = days(REFUNDS, "2025-01-02", "2025-01-02")
    full = dg.RunRequest(job_name="refresh_stripe_full_tables", asset_selection=[LINKS])
    single = days(CHARGES, "2025-01-05", "2025-01-05")
    kept, covered, relied = not_waiting([inside, across, other_table, full, single], waiting)
    assert covered == [inside, full, single]
    assert kept == [across, other_table]
    # Remembered until those runs start, in case they are canceled first.
    assert relied == [Relied("run-a", CHARGES, ("2025-01-02", "2025-01-03")),
                      Relied("run-b", LINKS, ALL),
                      Relied("run-a", CHARGES, ("2025-01-05", "2025-01-05"))]


def test_a_day_run_does_not_stand_in_for_a_full_refresh():
    full = dg.RunRequest(job_name="refresh_stripe_full_tables", asset_selection=[LINKS])
    day: Span = ("2025-01-01", "2025-01-01")
    assert not_waiting([full], {LINKS: [(day, "run-a")]}) == ([full], [], [])


def test_requests_about_to_be_made_cover_like_waiting_runs_but_are_not_remembered():
    week = days(CHARGES, "2025-01-01", "2025-01-07")
    again = days(CHARGES, "2025-01-03", "2025-01-03")
    assert not_waiting([again], as_waiting([week])) == ([], [again], [])
