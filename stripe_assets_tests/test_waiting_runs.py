"""Which run requests a waiting (queued, not started) run already covers."""

from __future__ import annotations

from datetime import date

import dagster as dg

from stripe_assets.automation.ranges import partition_run_request
from stripe_assets.automation.waiting_runs import ALL, Span, not_waiting

CHARGES, REFUNDS = dg.AssetKey(["stripe", "charges"]), dg.AssetKey(["stripe", "refunds"])
LINKS = dg.AssetKey(["stripe", "payment_links"])


def days(key: dg.AssetKey, first: str, last: str) -> dg.RunRequest:
    return partition_run_request(key, date.fromisoformat(first), date.fromisoformat(last),
                                 job_name="refresh_stripe_days", run_key=None, tags={})


def test_a_waiting_run_covers_its_asset_and_days_only():
    waiting: dict[dg.AssetKey, list[Span]] = {CHARGES: [("2025-01-01", "2025-01-05")],
                                              LINKS: [ALL]}
    inside = days(CHARGES, "2025-01-02", "2025-01-03")
    across = days(CHARGES, "2025-01-04", "2025-01-06")
    other_table = days(REFUNDS, "2025-01-02", "2025-01-02")
    full = dg.RunRequest(job_name="refresh_stripe_full_tables", asset_selection=[LINKS])
    single = days(CHARGES, "2025-01-05", "2025-01-05")
    kept, covered = not_waiting([inside, across, other_table, full, single], waiting)
    assert covered == [inside, full, single]
    assert kept == [across, other_table]


def test_a_day_run_does_not_stand_in_for_a_full_refresh():
    full = dg.RunRequest(job_name="refresh_stripe_full_tables", asset_selection=[LINKS])
    assert not_waiting([full], {LINKS: [("2025-01-01", "2025-01-01")]}) == ([full], [])
