"""The sandbox's simulated activity: a live account's changes, with the events Stripe sends,
made while it serves (so `stripe-assets dev` shows the events sensor at work)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
import requests

from stripe_assets.local_sandbox import running_sandbox
from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets.sandbox.activity import CHANGES, Activity
from stripe_assets.sandbox.api import StripeApi
from stripe_assets.sandbox.generator import generate
from stripe_assets.sandbox.server import TEST_KEY

ACCOUNT = SandboxConfig(seed=5, customers=30, charges=200, days=20, end=date(2025, 6, 30))
# Each change and the events it appends, as Stripe sends them.
EVENTS = {
    "refund": ["refund.created", "charge.refunded", "charge.refund.updated"],
    "update": ["customer.updated"],
    "detach": ["payment_method.detached"],
    "delete": ["customer.deleted"],
}


def test_each_change_updates_the_account_and_appends_the_events_stripe_sends():
    store = generate(ACCOUNT)
    now = [1_800_000_000]
    api = StripeApi(store, seed=ACCOUNT.seed, clock=lambda: now[0])
    activity = Activity(store, api.mutations, every_seconds=60, seed=1)
    before = {e["id"] for e in store.objects("events")}
    made = []
    for _ in range(60):
        now[0] += 60
        made.append((now[0], activity.step()))

    kinds = Counter(what.split()[0] for _, what in made)
    assert set(kinds) == set(EVENTS), kinds  # 60 draws of the 4 kinds: each came up
    new_events = sorted((e for e in store.objects("events") if e["id"] not in before),
                        key=lambda e: (e["created"], e["id"]))
    by_time: dict[int, list[str]] = {}
    for e in new_events:
        by_time.setdefault(e["created"], []).append(e["type"])
    for at, what in made:
        kind, object_id, *rest = what.split()
        assert sorted(by_time.pop(at)) == sorted(EVENTS[kind]), what
        if kind == "refund":
            charge = store.get_object(object_id)
            assert charge is not None and charge["amount_refunded"] <= charge["amount_captured"]
            refunds = [r for r in store.objects("refunds") if r["charge"] == object_id
                       and r["created"] == at]
            assert [r["amount"] for r in refunds] == [int(rest[0])]
        elif kind == "delete":
            assert object_id not in {c["id"] for c in store.objects("customers")}
        elif kind == "detach":
            assert (store.get_object(object_id) or {})["customer"] is None
    assert not by_time  # no event without its change


def test_activity_draws_the_kinds_of_change_by_their_weights():
    store = generate(ACCOUNT)
    api = StripeApi(store, seed=ACCOUNT.seed, clock=time.time)
    activity = Activity(store, api.mutations, every_seconds=60, seed=2)
    kinds = Counter(activity.step().split()[0] for _ in range(400))
    shares = {kind: weight / 100 for kind, weight in CHANGES}
    assert kinds["refund"] / 400 == pytest.approx(shares["refund"], abs=0.08)
    assert kinds["update"] / 400 == pytest.approx(shares["update_customer"], abs=0.08)


def test_a_sandbox_started_with_activity_changes_its_account_while_it_serves():
    args = ["--customers", "20", "--charges", "100", "--days", "5", "--activity", "0.2"]
    with running_sandbox(args, startup_timeout=60) as url:
        started = int(time.time())
        seen: list[dict] = []
        deadline = time.monotonic() + 30
        while len(seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
            seen = requests.get(f"{url}/v1/events", params={"created[gte]": started},
                                auth=(TEST_KEY, ""), timeout=10).json()["data"]
        assert len(seen) >= 5, seen
        expected = {t for types in EVENTS.values() for t in types}
        assert {e["type"] for e in seen} <= expected
        assert all(started <= e["created"] <= time.time() for e in seen)


def test_a_negative_activity_is_refused_before_the_account_is_generated():
    with pytest.raises(ValueError, match=r"--activity \(seconds between changes\) must be >= 0"):
        SandboxServer(ACCOUNT, activity_seconds=-1)
