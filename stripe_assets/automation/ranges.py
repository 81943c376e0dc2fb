"""Days as partition runs: contiguous days become one partition-range run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import dagster as dg

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def contiguous_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted, de-duplicated days as inclusive (first, last) runs of consecutive days.

    Days far apart stay separate runs: one range over the gap would re-list every day between.
    """
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def partition_run_request(
    asset_key: dg.AssetKey,
    first: date,
    last: date,
    *,
    job_name: str,
    run_key: str | None,
    tags: dict[str, str],
) -> dg.RunRequest:
    """One run of one asset over [first, last]: a single partition, or a partition range run
    (the assets' single-run backfill policy fetches the whole range in one run)."""
    if first == last:
        return dg.RunRequest(
            run_key=run_key, job_name=job_name, asset_selection=[asset_key],
            partition_key=first.isoformat(), tags=tags,
        )
    return dg.RunRequest(
        run_key=run_key, job_name=job_name, asset_selection=[asset_key],
        tags={**tags, RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
    )
