"""Refreshes already waiting to run: a tick does not queue the same one again.

A run that is still queued has listed nothing yet: when it starts it reads Stripe as it is
then, so it also covers what a later tick sees changed. On a busy account every tick sees
events on today's partitions; without this, each tick would queue one more run of the same
partitions, and behind the `stripe_api` pool's one slot the queue could grow faster than it
drains. Only runs not started count: a started run may have listed the day already.

A request left out for a waiting run is remembered (`Relied`, in the sensor's cursor) until
that run ends. If it succeeded, it started after the changes and wrote what it read. If it
ended any other way (canceled in the queue or while running, failed, deleted), its write did
not happen (a write is one transaction) or cannot be relied on, and nothing else would list
those changes: the next tick requests them again, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dagster as dg

from stripe_assets.automation.ranges import RANGE_END_TAG, RANGE_START_TAG

WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
NOT_SUCCEEDED = (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)
PARTITION_TAG = "dagster/partition"
ALL = None  # a run of an unpartitioned table, or of every partition
Span = tuple[str, str] | None  # first and last day (ISO), or ALL


@dataclass(frozen=True)
class Relied:
    """A refresh of `asset` over `span` left out because waiting run `run_id` covers it."""

    run_id: str
    asset: dg.AssetKey
    span: Span


# Waiting runs by asset: what each will refresh, and its run id.
Waiting = Mapping[dg.AssetKey, list[tuple[Span, str]]]


def waiting_spans(instance: dg.DagsterInstance) -> Waiting:
    """What each waiting run will refresh, by asset: only runs that name their assets."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=WAITING))
    return _by_asset((run.asset_selection or (), _span(run.tags), run.run_id) for run in runs)


def as_waiting(requests: Iterable[dg.RunRequest]) -> Waiting:
    """Requests about to be made, as if they were waiting runs (with no run id)."""
    return _by_asset((r.asset_selection or (), request_span(r), "") for r in requests)


def _by_asset(
    refreshes: Iterable[tuple[Iterable[dg.AssetKey], Span, str]]
) -> dict[dg.AssetKey, list[tuple[Span, str]]]:
    spans: dict[dg.AssetKey, list[tuple[Span, str]]] = {}
    for keys, span, run_id in refreshes:
        for key in keys:
            spans.setdefault(key, []).append((span, run_id))
    return spans


def not_waiting(
    requests: Iterable[dg.RunRequest], waiting: Waiting
) -> tuple[list[dg.RunRequest], list[dg.RunRequest], list[Relied]]:
    """The requests no waiting run covers, those it does (same asset, its days within), and
    which run covers each asset of the latter."""
    kept, covered, relied = [], [], []
    for request in requests:
        keys = request.asset_selection or []
        span = request_span(request)
        runs = [_covering_run(waiting.get(key, []), span) for key in keys]
        if keys and all(run_id is not None for run_id in runs):
            covered.append(request)
            relied += [Relied(run_id, key, span) for key, run_id in zip(keys, runs, strict=True)
                       if run_id]  # not the requests of as_waiting, which have no run id
        else:
            kept.append(request)
    return kept, covered, relied


def settle(
    instance: dg.DagsterInstance, relied: Iterable[Relied]
) -> tuple[list[Relied], list[Relied]]:
    """Those whose run has not ended yet (waiting or running), and those whose run ended
    without success (canceled, failed, or deleted): their refresh must be requested again.
    Those whose run succeeded are forgotten: it read Stripe after their changes."""
    pending, dropped = [], []
    for entry in relied:
        record = instance.get_run_record_by_id(entry.run_id)
        status = record.dagster_run.status if record else None
        if status == dg.DagsterRunStatus.SUCCESS:
            continue
        if record is None or status in NOT_SUCCEEDED:
            dropped.append(entry)
        else:
            pending.append(entry)
    return pending, dropped


def request_span(request: dg.RunRequest) -> Span:
    """The days a run request refreshes: its partition, its partition range, or ALL."""
    return _span(request.tags, request.partition_key)


def _span(tags: Mapping[str, str], partition_key: str | None = None) -> Span:
    day = partition_key or tags.get(PARTITION_TAG)
    if day:
        return day, day
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return tags[RANGE_START_TAG], tags[RANGE_END_TAG]
    return ALL


def _covering_run(spans: list[tuple[Span, str]], wanted: Span) -> str | None:
    """The id of a waiting run whose span covers `wanted`, if any."""
    for span, run_id in spans:
        if _covers(span, wanted):
            return run_id
    return None


def _covers(span: Span, wanted: Span) -> bool:
    if wanted is ALL:
        return span is ALL
    first, last = wanted
    # ISO days compare as text; a waiting run of all partitions covers any day.
    return span is ALL or (span[0] <= first and last <= span[1])
