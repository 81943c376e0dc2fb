"""Refreshes already waiting to run: a tick does not queue the same one again.

A run that is still queued has listed nothing yet: when it starts it reads Stripe as it is
then, so it also covers what a later tick sees changed. On a busy account every tick sees
events on today's partitions; without this, each tick would queue one more run of the same
partitions, and behind the `stripe_api` pool's one slot the queue could grow faster than it
drains. Only runs not started count: a started run may have listed the day already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg

from stripe_assets.automation.ranges import RANGE_END_TAG, RANGE_START_TAG

WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
PARTITION_TAG = "dagster/partition"
ALL = None  # a run of an unpartitioned table, or of every partition
Span = tuple[str, str] | None  # first and last day (ISO), or ALL


def waiting_spans(instance: dg.DagsterInstance) -> dict[dg.AssetKey, list[Span]]:
    """What each waiting run will refresh, by asset: only runs that name their assets."""
    spans: dict[dg.AssetKey, list[Span]] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=WAITING)):
        for key in run.asset_selection or ():
            spans.setdefault(key, []).append(_span(run.tags))
    return spans


def not_waiting(
    requests: Iterable[dg.RunRequest], waiting: Mapping[dg.AssetKey, list[Span]]
) -> tuple[list[dg.RunRequest], list[dg.RunRequest]]:
    """The requests no waiting run covers, and those it does (same asset, its days within)."""
    kept, covered = [], []
    for request in requests:
        keys = request.asset_selection or []
        span = request_span(request)
        if keys and all(_covers(waiting.get(key, []), span) for key in keys):
            covered.append(request)
        else:
            kept.append(request)
    return kept, covered


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


def _covers(spans: list[Span], wanted: Span) -> bool:
    if wanted is ALL:
        return ALL in spans
    first, last = wanted
    # ISO days compare as text; a waiting run of all partitions covers any day.
    return any(s is ALL or (s[0] <= first and last <= s[1]) for s in spans)
