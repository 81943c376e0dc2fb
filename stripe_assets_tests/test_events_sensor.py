"""stripe_events_sensor against the sandbox over HTTP, with real runs into a real DuckDB file."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType

from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.automation.events_sensor import _log_skipped
from stripe_assets.automation.ranges import partition_run_request
from stripe_assets.automation.retention import first_fetchable_day
from stripe_assets.automation.routing import route_events
from stripe_assets.jobs import DAY_TABLES, refresh_stripe_days
from stripe_assets.sandbox import SandboxServer
from stripe_assets.sandbox.activity import Activity
from stripe_assets.stripe_client import StripeRetriesExhaustedError
from stripe_assets_tests.sensor_support import (
    DB_NAME,
    SMALL_CONFIG,
    Captured,
    Clock,
    World,
    requested,
)

pytestmark = pytest.mark.slow  # runs whole loads
DAY = 86400
_, HISTORY_END = SMALL_CONFIG.span()  # midnight after the last generated day
# Noon, ten days after the generated history: the account's "now" in these tests.
NOW = HISTORY_END + 10 * DAY + 12 * 3600
TODAY = datetime.fromtimestamp(NOW, UTC).date()


def day_of(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def expand(partitions: str) -> list[str]:
    """"2025-01-01..2025-01-03" -> its days; a single day -> itself."""
    first, _, last = partitions.partition("..")
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


@pytest.fixture
def world(sandbox_factory: Callable[..., SandboxServer], tmp_path) -> Iterator[World]:
    clock = Clock(NOW)
    server = sandbox_factory(SMALL_CONFIG, clock=clock)
    with dg.DagsterInstance.ephemeral() as instance:
        yield World(server, clock, tmp_path / DB_NAME, instance)


def test_the_first_tick_starts_watching_from_now_and_reads_no_history(world: World):
    world.server.reset_stats()
    result, log = world.tick(cursor=None)
    assert world.server.stats.total_requests == 0
    assert not result.run_requests
    assert json.loads(result.cursor or "") == {"v": 1, "through": NOW}
    assert "watching Stripe events from 2025-07-11 12:00:00 UTC" in log.text()
    assert "stripe-assets load" in log.text()


def test_a_quiet_account_costs_one_request_and_requests_no_run(world: World):
    # The newest event is 55 days old: only the time polled through matters to the guard.
    world.clock.now = NOW + 45 * DAY
    cursor = json.dumps({"v": 1, "through": world.clock.now - 30})
    world.server.reset_stats()
    result, log = world.tick(cursor)
    assert world.server.stats.total_requests == 1
    assert world.server.stats.requests_by_path == {"/v1/events": 1}
    assert not result.run_requests
    assert json.loads(result.cursor or "") == {"v": 1, "through": world.clock.now}
    assert log.text(logging.WARNING) == ""


def test_the_sandboxs_own_activity_is_routed_to_the_days_it_touched(world: World):
    """What `stripe-assets dev` shows with no key: the sandbox changes its account now and
    then, and the next tick requests the days of the objects changed."""
    first, _ = world.tick(cursor=None)
    activity = Activity(world.server.store, world.server.api.mutations, 60, seed=4)
    made = []
    for _ in range(16):
        world.clock.now += 60
        made.append(activity.step().split())
    world.clock.now += 60
    tick, _ = world.tick(first.cursor)

    got = {(asset, day) for asset, days in requested(tick) if days != "all"
           for day in expand(days)}
    full = {asset for asset, days in requested(tick) if days == "all"}
    assert ("stripe/events", TODAY.isoformat()) in got
    for kind, object_id, *_ in made:
        obj = world.server.account.get_object(object_id)
        assert obj is not None
        if kind == "refund":
            assert {("stripe/charges", day_of(obj["created"])),
                    ("stripe/refunds", TODAY.isoformat())} <= got
        elif kind in ("update", "delete"):
            assert ("stripe/customers", day_of(obj["created"])) in got
        else:
            assert "stripe/payment_methods" in full
    assert {kind for kind, *_ in made} == {"refund", "update", "detach", "delete"}


def queue(world: World, request: dg.RunRequest) -> dg.DagsterRun:
    """A run of the request that has not started. (The daemon's are QUEUED, which Dagster
    creates only with a code location's origin; a NOT_STARTED run waits the same way.)"""
    partition = {"dagster/partition": request.partition_key} if request.partition_key else {}
    return world.instance.create_run_for_job(
        job_def=world.defs.resolve_job_def(request.job_name or ""),
        status=dg.DagsterRunStatus.NOT_STARTED, tags={**request.tags, **partition},
        asset_selection=frozenset(request.asset_selection or []),
    )


def test_a_tick_does_not_queue_again_what_a_queued_run_will_refresh(world: World):
    """A queued run has listed nothing yet, so it also covers the later changes: a busy
    account must not grow the queue by today's partitions on every tick."""
    first, _ = world.tick(cursor=None)
    old = [c for c in world.server.account.objects("charges")
           if c["status"] == "succeeded" and c["amount_refunded"] == 0
           and NOW - c["created"] > 30 * DAY]
    a, b = old[0], next(c for c in old if day_of(c["created"]) != day_of(old[0]["created"]))
    world.clock.now += 60
    world.post("/v1/refunds", {"charge": a["id"]})
    world.clock.now += 60
    tick1, _ = world.tick(first.cursor)
    today = TODAY.isoformat()
    assert requested(tick1) == {("stripe/charges", day_of(a["created"])),
                                ("stripe/refunds", today), ("stripe/events", today)}
    queued = [queue(world, r) for r in tick1.run_requests or []]

    world.clock.now += 60
    world.post("/v1/refunds", {"charge": b["id"]})
    world.clock.now += 60
    tick2, log = world.tick(tick1.cursor)
    # Today's refunds and events are waiting in the queue already: only b's day is new.
    assert requested(tick2) == {("stripe/charges", day_of(b["created"]))}
    assert f"(queued already: stripe/events {today}; stripe/refunds {today})" in log.text()

    # Once those runs have started, they may have listed today already: queue again.
    for run in queued:
        start(world, run)
    world.clock.now += 60
    world.post("/v1/refunds", {"charge": next(c for c in old if c not in (a, b))["id"]})
    world.clock.now += 60
    tick3, log = world.tick(tick2.cursor)
    assert {("stripe/refunds", today), ("stripe/events", today)} <= requested(tick3)
    # They succeed: they read Stripe after tick 2's changes and wrote it, nothing is owed.
    for run in queued:
        succeed(world, run)
    world.clock.now += 60
    tick4, log = world.tick(tick3.cursor)
    assert not tick4.run_requests and "without success" not in log.text()
    assert "relied" not in json.loads(tick4.cursor or "")


def start(world: World, run: dg.DagsterRun) -> None:
    """The run leaves the queue and starts, as the run launcher would have it."""
    report(world, run, DagsterEventType.RUN_START)


def succeed(world: World, run: dg.DagsterRun) -> None:
    report(world, run, DagsterEventType.RUN_SUCCESS)


def report(world: World, run: dg.DagsterRun, event_type: DagsterEventType) -> None:
    world.instance.report_dagster_event(
        DagsterEvent(event_type_value=event_type.value, job_name=run.job_name),
        run_id=run.run_id,
    )


def test_a_refresh_left_to_a_queued_run_is_requested_again_if_that_run_is_canceled(world: World):
    """The refresh a tick left out for a queued run would be lost for good if the run were
    then canceled before it started: the next tick requests it again, once."""
    first, _ = world.tick(cursor=None)
    charge = next(c for c in world.server.account.objects("charges")
                  if c["status"] == "succeeded" and c["amount_refunded"] == 0)
    today = TODAY.isoformat()
    queued = {table: queue(world, partition_run_request(
                  dg.AssetKey.from_user_string(table), TODAY, TODAY,
                  job_name=refresh_stripe_days.name, run_key=None, tags={}))
              for table in ("stripe/refunds", "stripe/events")}
    world.clock.now += 60
    world.post("/v1/refunds", {"charge": charge["id"]})
    world.clock.now += 60
    tick1, _ = world.tick(first.cursor)
    assert requested(tick1) == {("stripe/charges", day_of(charge["created"]))}

    world.instance.report_run_canceled(queued["stripe/refunds"])  # canceled in the queue
    start(world, queued["stripe/events"])  # started: it reads today's events itself
    world.clock.now += 60
    tick2, log = world.tick(tick1.cursor)
    assert requested(tick2) == {("stripe/refunds", today)}
    request = (tick2.run_requests or [])[0]
    assert request.tags["stripe_assets/reason"] == "relied-on-run-did-not-succeed"
    assert f"Queued run(s) {queued['stripe/refunds'].run_id} ended without success" \
        in log.text()

    world.clock.now += 60
    tick3, _ = world.tick(tick2.cursor)
    assert not tick3.run_requests  # the events run is still running


def test_a_refresh_left_to_a_queued_run_is_requested_again_if_that_run_fails_after_starting(
    world: World,
):
    """A run that started and then failed wrote nothing (a write is one transaction): the
    changes left to it would be lost, so the next tick requests them again, once."""
    first, _ = world.tick(cursor=None)
    charge = next(c for c in world.server.account.objects("charges")
                  if c["status"] == "succeeded" and c["amount_refunded"] == 0)
    refunds = queue(world, partition_run_request(
        dg.AssetKey(["stripe", "refunds"]), TODAY, TODAY, job_name=refresh_stripe_days.name,
        run_key=None, tags={}))
    world.clock.now += 60
    world.post("/v1/refunds", {"charge": charge["id"]})
    world.clock.now += 60
    tick1, _ = world.tick(first.cursor)
    assert ("stripe/refunds", TODAY.isoformat()) not in requested(tick1)

    start(world, refunds)
    world.clock.now += 60
    tick2, _ = world.tick(tick1.cursor)
    assert ("stripe/refunds", TODAY.isoformat()) not in requested(tick2)  # still running

    world.instance.report_run_failed(refunds)
    world.clock.now += 60
    tick3, log = world.tick(tick2.cursor)
    assert requested(tick3) == {("stripe/refunds", TODAY.isoformat())}
    assert f"Queued run(s) {refunds.run_id} ended without success" in log.text()
    world.clock.now += 60
    tick4, _ = world.tick(tick3.cursor)
    assert not tick4.run_requests  # once



def test_a_refund_of_a_months_old_charge_refreshes_that_charge_day_and_refund_rates(world: World):
    world.load(["charges", "refunds", "events", "refund_rates"])
    baseline = dg.evaluate_automation_conditions(defs=world.defs, instance=world.instance)
    first, _ = world.tick(cursor=None)

    charge = next(c for c in world.server.account.objects("charges")
                  if c["status"] == "succeeded" and c["amount_refunded"] == 0
                  and NOW - c["created"] > 60 * DAY)
    charge_day = day_of(charge["created"])
    world.clock.now += 60
    refund = world.post("/v1/refunds", {"charge": charge["id"], "amount": "500"})
    world.clock.now += 60
    world.server.reset_stats()
    tick, _ = world.tick(first.cursor)

    assert world.server.stats.total_requests == 1
    assert requested(tick) == {("stripe/charges", charge_day),
                               ("stripe/refunds", TODAY.isoformat()),
                               ("stripe/events", TODAY.isoformat())}
    assert {r.job_name for r in tick.run_requests or []} == {"refresh_stripe_days"}

    def refund_rate_row() -> tuple:
        return world.rows(
            "SELECT charges_refunded, amount_refunded FROM analytics.refund_rates "
            f"WHERE charge_day = DATE '{charge_day}' AND currency = '{charge['currency']}'")[0]

    before = refund_rate_row()
    checks = {}
    for request in tick.run_requests or []:
        result = world.run(request)
        checks.update({(e.asset_key.to_user_string(), e.check_name): e.passed
                       for e in result.get_asset_check_evaluations()})
    # The runs also ran the tables' checks, which hold on this data. (The sensor-health check
    # cannot see a cursor in an ephemeral instance, so it warns.)
    assert checks.pop(("stripe/events", "events_sensor_is_polling")) is False
    assert checks and all(checks.values()), checks
    assert ("stripe/charges", "amount_refunded_within_amount") in checks
    assert world.rows(f"SELECT amount_refunded, refunded FROM stripe.charges "
                      f"WHERE id = '{charge['id']}'") == [(500, False)]
    assert world.rows(f"SELECT charge, amount FROM stripe.refunds WHERE id = '{refund['id']}'"
                      ) == [(charge["id"], 500)]

    # Declarative automation sees charges and refunds updated: refund_rates, not payouts.
    evaluation = dg.evaluate_automation_conditions(
        defs=world.defs, instance=world.instance, cursor=baseline.cursor)
    wanted = {r.key for r in evaluation.results if r.true_subset.size}
    assert dg.AssetKey(["analytics", "refund_rates"]) in wanted
    assert dg.AssetKey(["analytics", "payout_summary"]) not in wanted
    world.materialize("refund_rates")
    assert refund_rate_row() == (before[0] + 1, before[1] + 500)

    # The same events are not routed again on the next tick (the overlap re-reads them).
    world.clock.now += 30
    again, _ = world.tick(tick.cursor)
    assert not again.run_requests


def test_a_deleted_customer_leaves_customers_and_is_recorded_in_deleted_objects(world: World):
    world.load(["customers", "charges", "payment_intents", "setup_intents", "payment_methods",
                "events", "deleted_objects"])
    first, _ = world.tick(cursor=None)
    customers_before = world.server.account.count("customers")
    customer = world.server.account.objects("customers")[3]
    world.clock.now += 60
    world.delete(f"/v1/customers/{customer['id']}")
    world.clock.now += 60
    tick, _ = world.tick(first.cursor)

    assert requested(tick) == {("stripe/customers", day_of(customer["created"])),
                               ("stripe/events", TODAY.isoformat()),
                               ("stripe/payment_methods", "all")}
    for request in tick.run_requests or []:
        world.run(request)
    assert world.rows(f"SELECT count(*) FROM stripe.customers WHERE id = '{customer['id']}'"
                      ) == [(0,)]
    assert world.rows("SELECT count(*) FROM stripe.customers")[0][0] == customers_before - 1

    world.materialize("deleted_objects")
    deleted = world.rows("SELECT object_type, change, epoch(deleted_at)::BIGINT, event_type, "
                         "event_id FROM analytics.deleted_objects "
                         f"WHERE object_id = '{customer['id']}'")
    event_id = world.rows("SELECT id FROM stripe.events WHERE type = 'customer.deleted' "
                          f"AND data->>'$.object.id' = '{customer['id']}'")[0][0]
    assert deleted == [("customer", "deleted", NOW + 60, "customer.deleted", event_id)]


def test_a_cursor_older_than_30_days_fires_the_guard_and_reloads_everything(world: World):
    through = NOW - 31 * DAY
    world.server.reset_stats()
    result, log = world.tick(json.dumps({"v": 1, "through": through}))

    errors = log.text(logging.ERROR)
    # From when (the cursor minus its overlap), how long ago, and what it requests.
    assert "up to 2025-06-10 11:55:00 UTC, 31.0 days ago" in errors
    assert "Stripe keeps events for 30 days" in errors
    assert "re-load of every partition that may be stale" in errors
    start = daily_partitions.get_first_partition_key()  # STRIPE_START_DATE
    assert f"charges {start}..2025-07-11" in errors and "payment_links (full refresh)" in errors
    first_events_day = first_fetchable_day(NOW)
    assert requested(result) == {
        *((f"stripe/{t}", f"{start}..{TODAY}") for t in DAY_TABLES if t != "events"),
        ("stripe/events", f"{first_events_day}..{TODAY}"),
        ("stripe/payment_links", "all"), ("stripe/payment_methods", "all")}
    assert first_events_day == TODAY - timedelta(days=29)
    assert {r.tags["stripe_assets/reason"] for r in result.run_requests or []} == {
        "events-beyond-retention"}
    assert json.loads(result.cursor or "") == {"v": 1, "through": NOW}
    assert world.server.stats.total_requests == 0  # nothing to read: everything is re-listed


def test_the_guard_leaves_out_reloads_a_queued_run_will_do_and_requests_them_if_it_never_starts(
    world: World,
):
    """A backfill already waiting in the queue lists the same days: the guard does not queue
    them a second time, and remembers the run, as a tick does for its changes."""
    start = date.fromisoformat(daily_partitions.get_first_partition_key() or "")
    backfill = queue(world, partition_run_request(
        dg.AssetKey(["stripe", "charges"]), start, TODAY, job_name=refresh_stripe_days.name,
        run_key=None, tags={}))
    result, log = world.tick(json.dumps({"v": 1, "through": NOW - 31 * DAY}))
    assert ("stripe/charges", f"{start}..{TODAY}") not in requested(result)
    assert ("stripe/refunds", f"{start}..{TODAY}") in requested(result)
    assert f"queued already: stripe/charges {start}..{TODAY}" in log.text(logging.ERROR)
    assert json.loads(result.cursor or "")["relied"] == [
        [backfill.run_id, "stripe/charges", start.isoformat(), TODAY.isoformat()]]

    world.instance.report_run_canceled(backfill)  # canceled before it started
    world.clock.now += 60
    again, _ = world.tick(result.cursor)
    assert requested(again) == {("stripe/charges", f"{start}..{TODAY}")}


def test_a_busy_tick_stops_at_its_page_budget_and_the_next_ticks_read_the_rest(
    sandbox: SandboxServer, tmp_path
):
    # The read-only session sandbox: four weeks of its generated events, two pages per tick.
    end = sandbox.config.span()[1]
    since = end - 28 * DAY
    window = [e for e in sandbox.account.objects("events") if e["created"] >= since - 300]
    assert len(window) > 400  # five pages at least
    expected = {day_of(e["data"]["object"]["created"]) for e in window
                if e["data"]["object"]["object"] == "charge"}

    with dg.DagsterInstance.ephemeral() as instance:
        world = World(sandbox, Clock(end + 3600), tmp_path / DB_NAME, instance)
        cursor: str | None = json.dumps({"v": 1, "through": since})
        charge_days: set[str] = set()
        for ticks in range(1, 10):  # noqa: B007 (how many it took)
            result, log = world.tick(cursor, max_pages=2)
            charge_days |= {d for k, p in requested(result) if k == "stripe/charges"
                            for d in expand(p)}
            cursor = result.cursor
            if "backlog" not in json.loads(cursor or ""):
                break
            assert "read on the next ticks" in log.text(logging.WARNING)
            world.clock.now += 30
    # The backlog ran out (the loop did not just stop at its last tick) and took 3+ ticks.
    assert "backlog" not in json.loads(cursor or ""), (ticks, cursor)
    assert ticks >= 3
    assert charge_days == expected


def test_a_failing_stripe_fails_the_tick_fast_and_keeps_the_cursor(world: World):
    first, _ = world.tick(cursor=None)
    world.clock.now += 60
    change = Activity(world.server.store, world.server.api.mutations, 60, seed=4).step()
    world.clock.now += 60
    world.server.reset_stats()
    world.server.inject("500", count=2, path_prefix="/v1/events")
    began = time.monotonic()
    with pytest.raises(StripeRetriesExhaustedError, match="kept failing"):
        world.tick(first.cursor)
    assert time.monotonic() - began < 10  # a sensor tick has 60 s; retries must not eat them
    assert world.server.stats.requests_by_path == {"/v1/events": 2}  # bounded for the tick
    # Dagster keeps the cursor of a failed tick: the next tick, from the same cursor, reads the
    # change made before the failure.
    tick, _ = world.tick(first.cursor)
    assert ("stripe/events", TODAY.isoformat()) in requested(tick), change
    assert json.loads(tick.cursor or "")["through"] == world.clock.now


def test_skipped_events_are_logged_with_examples():
    routing = route_events(
        [{"id": "evt_1", "created": NOW, "type": "invoice.paid",
          "data": {"object": {"id": "in_1", "object": "invoice", "created": NOW}}},
         {"id": "evt_2", "created": NOW, "type": "charge.updated",
          "data": {"object": {"id": "ch_old", "object": "charge", "created": NOW - 400 * DAY}}}],
        first_day=TODAY - timedelta(days=100), last_day=TODAY)
    log = logging.getLogger("test_skipped_events")
    log.setLevel(logging.DEBUG)
    captured = Captured()
    log.addHandler(captured)
    _log_skipped(log, routing, TODAY - timedelta(days=100))
    assert "objects this project does not load: invoice x1" in captured.text()
    assert "created before the first partition" in captured.text(logging.WARNING)
    assert "charges ch_old (2024-06-06)" in captured.text(logging.WARNING)
