"""Stale partitions and tables as run requests: one run per table and run of contiguous days."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

import dagster as dg

from stripe_assets.automation.ranges import contiguous_ranges, partition_run_request
from stripe_assets.automation.routing import EVENTS, Routing
from stripe_assets.automation.waiting_runs import ALL, Relied
from stripe_assets.jobs import (
    DAY_TABLES,
    FULL_TABLES,
    refresh_stripe_days,
    refresh_stripe_full_tables,
    stripe_table_key,
)

LAUNCHED_BY_TAG = "stripe_assets/launched_by"
REASON_TAG = "stripe_assets/reason"


def batch_id(event_ids: Iterable[str]) -> str:
    """A short digest of a tick's events: the same events give the same run keys, so a tick
    retried after a crash does not launch its runs twice."""
    return hashlib.sha1(",".join(sorted(event_ids)).encode()).hexdigest()[:12]


def change_requests(routing: Routing, batch: str, launched_by: str) -> list[dg.RunRequest]:
    tags = {LAUNCHED_BY_TAG: launched_by, REASON_TAG: "stripe-events"}
    requests = []
    for table in sorted(routing.days):
        for first, last in contiguous_ranges(routing.days[table]):
            requests.append(partition_run_request(
                stripe_table_key(table), first, last, job_name=refresh_stripe_days.name,
                run_key=f"{table}:{first}:{last}:{batch}", tags=tags,
            ))
    for table in sorted(routing.full_refresh):
        requests.append(full_table_request(stripe_table_key(table), f"{table}:{batch}", tags))
    return requests


def again_requests(relied: Iterable[Relied], launched_by: str) -> list[dg.RunRequest]:
    """The refreshes left out for waiting runs that then ended without success (canceled,
    failed). One run key per such run and refresh: requested again once."""
    tags = {LAUNCHED_BY_TAG: launched_by, REASON_TAG: "relied-on-run-did-not-succeed"}
    requests = []
    for entry in dict.fromkeys(relied):
        table = entry.asset.path[-1]
        if entry.span is ALL:
            run_key = f"{table}:again:{entry.run_id}"
            requests.append(full_table_request(entry.asset, run_key, tags))
            continue
        first, last = entry.span
        requests.append(partition_run_request(
            entry.asset, date.fromisoformat(first), date.fromisoformat(last),
            job_name=refresh_stripe_days.name,
            run_key=f"{table}:{first}:{last}:again:{entry.run_id}", tags=tags,
        ))
    return requests


def full_table_request(asset_key: dg.AssetKey, run_key: str, tags: dict[str, str]) -> dg.RunRequest:
    return dg.RunRequest(run_key=run_key, job_name=refresh_stripe_full_tables.name,
                         asset_selection=[asset_key], tags=tags)


def reload_requests(
    first_day: date, last_day: date, events_first_day: date, run_key_suffix: str,
    launched_by: str, reason: str,
) -> list[dg.RunRequest]:
    """Every day of every day-partitioned table (one single run per table), and every full
    table; the event log only from `events_first_day` (Stripe serves nothing older, and
    re-listing an older day would replace its stored events with nothing)."""
    tags = {LAUNCHED_BY_TAG: launched_by, REASON_TAG: reason}
    requests: list[dg.RunRequest] = []
    for table in DAY_TABLES:
        first = max(first_day, events_first_day) if table == EVENTS else first_day
        if first > last_day:
            continue
        requests.append(partition_run_request(
            stripe_table_key(table), first, last_day, job_name=refresh_stripe_days.name,
            run_key=f"{reason}:{table}:{run_key_suffix}", tags=tags,
        ))
    for table in FULL_TABLES:
        requests.append(
            full_table_request(stripe_table_key(table), f"{reason}:{table}:{run_key_suffix}", tags)
        )
    return requests
