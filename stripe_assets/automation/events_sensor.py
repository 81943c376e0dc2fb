"""stripe_events_sensor: Stripe's event log as the change feed of the day-partitioned tables.

Each tick reads the events created since the cursor (one request when nothing happened), routes
them to the partitions they make stale (see routing.py) and requests runs that re-list those
partitions at the pinned Stripe-Version. Rows are never written from event payloads: they are
rendered in the API version of their time and lack expanded fields.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import dagster as dg

from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.automation.cursor import EventsCursor
from stripe_assets.automation.polling import (
    MAX_PAGES_PER_TICK,
    OVERLAP_SECONDS,
    TICK_SECONDS_BUDGET,
    fetch_window,
    next_cursor,
    poll,
)
from stripe_assets.automation.retention import (
    beyond_retention,
    first_fetchable_day,
    iso,
    retention_message,
)
from stripe_assets.automation.routing import Routing, route_events
from stripe_assets.automation.run_requests import (
    again_requests,
    batch_id,
    change_requests,
    reload_requests,
)
from stripe_assets.automation.waiting_runs import (
    ALL,
    Relied,
    as_waiting,
    not_waiting,
    request_span,
    settle,
    waiting_spans,
)
from stripe_assets.jobs import refresh_stripe_days, refresh_stripe_full_tables
from stripe_assets.stripe_client import StripeClient

SENSOR_NAME = "stripe_events_sensor"
MIN_INTERVAL_SECONDS = 30
EXAMPLES = 5  # skipped events named in the log


def tick_client(stripe: StripeClient) -> StripeClient:
    """The same client with retries bounded so that a tick ends well inside 60 s even when
    Stripe is failing (a failed tick keeps its cursor: the next one tries again)."""
    fields = {name: getattr(stripe, name) for name in StripeClient.model_fields}
    # Worst case per request: 2 attempts x (5 s connect + 8 s read) + 4 s of backoff.
    fields.update(
        max_attempts=min(stripe.max_attempts, 2),
        max_retry_seconds=min(stripe.max_retry_seconds, 4.0),
        connect_timeout_seconds=min(stripe.connect_timeout_seconds, 5.0),
        read_timeout_seconds=min(stripe.read_timeout_seconds, 8.0),
    )
    return StripeClient(**fields)


def _days(now: int) -> tuple[date, date]:
    """The first and last daily partitions that exist at `now`."""
    with dg.partition_loading_context(effective_dt=datetime.fromtimestamp(now, UTC)):
        first_key = daily_partitions.get_first_partition_key()
        last_key = daily_partitions.get_last_partition_key()
    return date.fromisoformat(first_key or ""), date.fromisoformat(last_key or "")


def _log_skipped(log: logging.Logger, routing: Routing, first_day: date) -> None:
    if routing.ignored_types:
        kinds = ", ".join(f"{k} x{n}" for k, n in routing.ignored_types.most_common())
        log.info(f"Ignored events about objects this project does not load: {kinds}.")
    if routing.before_first_day:
        examples = ", ".join(
            f"{s.table} {s.object_id} ({s.day})" for s in routing.before_first_day[:EXAMPLES]
        )
        log.warning(
            f"{len(routing.before_first_day)} event(s) changed objects created before the first "
            f"partition ({first_day}, STRIPE_START_DATE); not loaded, so not refreshed: "
            f"{examples}."
        )
    if routing.no_created:
        examples = ", ".join(f"{s.event_id} ({s.table})" for s in routing.no_created[:EXAMPLES])
        log.warning(
            f"{len(routing.no_created)} event(s) carry an object without `created`, so their "
            f"partition is unknown (refresh_recent_days and backfills still cover it): {examples}."
        )
    if routing.deferred_event_ids:
        log.info(
            f"{len(routing.deferred_event_ids)} event(s) belong to a day whose partition does not "
            "exist yet (clocks apart at midnight): routed on a later tick."
        )


def build_stripe_events_sensor(
    *,
    clock: Callable[[], float] = time.time,
    max_pages: int = MAX_PAGES_PER_TICK,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """The sensor; `clock` is injectable so tests can run it at a sandbox's "now"."""

    @dg.sensor(
        name=SENSOR_NAME,
        jobs=[refresh_stripe_days, refresh_stripe_full_tables],
        minimum_interval_seconds=MIN_INTERVAL_SECONDS,
        # RUNNING by default: without it, changes to old objects (refunds, deletions, status
        # changes) never reach the tables. It costs one API request per tick when idle.
        default_status=default_status,
        description=(
            "Polls GET /v1/events from a durable cursor (a few minutes of overlap) and re-lists "
            "the day partitions (the object's own `created` day) and full tables that the new "
            "events make stale. If the cursor is older than Stripe's 30-day event retention, "
            "logs an error and re-loads everything that may be stale."
        ),
    )
    def stripe_events_sensor(
        context: dg.SensorEvaluationContext, stripe: StripeClient
    ) -> dg.SensorResult:
        started = time.monotonic()
        now = int(clock())
        first_day, last_day = _days(now)
        cursor = EventsCursor.from_json(context.cursor)

        if cursor is None:
            context.log.info(
                f"First tick: watching Stripe events from {iso(now)} on. Earlier history is "
                "loaded by `stripe-assets load` or a backfill, not by this sensor."
            )
            return dg.SensorResult(
                cursor=EventsCursor(through=now).to_json(),
                skip_reason=f"Started watching Stripe events at {iso(now)}.",
            )

        oldest_unread = cursor.oldest_unread(OVERLAP_SECONDS)
        if beyond_retention(oldest_unread, now):
            requests = reload_requests(
                first_day, last_day, first_fetchable_day(now), run_key_suffix=str(now),
                launched_by=SENSOR_NAME, reason="events-beyond-retention",
            )
            # A waiting run that will list the same days (a queued backfill) does it already;
            # remembered as relied on, so that its refresh is requested if it never starts.
            requests, queued, relied = not_waiting(requests, waiting_spans(context.instance))
            reloads = [_describe(r) for r in requests]
            if queued:
                reloads.append("queued already: " + ", ".join(_describe(r) for r in queued))
            context.log.error(retention_message(oldest_unread, now, reloads))
            return dg.SensorResult(
                run_requests=requests,
                cursor=EventsCursor(through=now, relied=tuple(relied)).to_json(),
            )

        client = tick_client(stripe)
        deadline = started + TICK_SECONDS_BUDGET
        result = poll(
            cursor, now,
            lambda lo, hi, budget: fetch_window(client, lo, hi, budget, deadline),
            max_pages,
        )
        routing = route_events(result.new_events, first_day=first_day, last_day=last_day)
        _log_skipped(context.log, routing, first_day)
        if result.backlog:
            context.log.warning(
                f"Read {result.pages} page(s) of events, the most a tick may: older events of "
                f"{len(result.backlog)} window(s) from {iso(min(lo for lo, _ in result.backlog))} "
                "on are read on the next ticks."
            )
        routed_ids = [str(e["id"]) for e in result.new_events]
        requests = change_requests(routing, batch_id(routed_ids), launched_by=SENSOR_NAME)
        still_relied, dropped = settle(context.instance, cursor.relied)
        requests += _again(context.log, dropped, requests)
        requests, queued, relied = not_waiting(requests, waiting_spans(context.instance))
        new_cursor = replace(
            next_cursor(result, now, keep_unseen=routing.deferred_event_ids),
            relied=tuple(dict.fromkeys([*still_relied, *relied])),
        )
        already = "; ".join(_describe(r) for r in queued)
        if not requests:
            return dg.SensorResult(
                cursor=new_cursor.to_json(),
                skip_reason=f"{len(result.new_events)} new event(s); "
                + (f"the refreshes they need are queued already: {already}." if queued
                   else "no table to refresh."),
            )
        context.log.info(
            f"{len(result.new_events)} new event(s) -> {len(requests)} run(s): "
            + "; ".join(_describe(r) for r in requests)
            + (f" (queued already: {already})" if queued else "")
        )
        return dg.SensorResult(run_requests=requests, cursor=new_cursor.to_json())

    return stripe_events_sensor


def _again(
    log: logging.Logger, dropped: list[Relied], requests: list[dg.RunRequest]
) -> list[dg.RunRequest]:
    """Refreshes left out on earlier ticks for queued runs that then ended without success
    (canceled, failed, or failed to launch), unless this tick requests them anyway."""
    again, _, _ = not_waiting(again_requests(dropped, SENSOR_NAME), as_waiting(requests))
    if again:
        runs = ", ".join(sorted({entry.run_id for entry in dropped}))
        log.info(
            f"Queued run(s) {runs} ended without success; requesting again what they"
            " would have refreshed: " + "; ".join(_describe(r) for r in again)
        )
    return again


def _describe(request: dg.RunRequest) -> str:
    key = "/".join((request.asset_selection or [dg.AssetKey("?")])[0].path)
    span = request_span(request)
    if span is ALL:
        return f"{key} (full refresh)"
    first, last = span
    return f"{key} {first}" if first == last else f"{key} {first}..{last}"


stripe_events_sensor = build_stripe_events_sensor()
