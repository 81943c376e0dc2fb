"""A bad day at Stripe: random faults, a fault that outlasts the retries, pagination that breaks.

The tables after a faulty load must equal those of a clean load, row for row; a load that cannot
finish must leave the tables exactly as they were (no half-written or emptied partition).
"""

from __future__ import annotations

import random
import tempfile
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from stripe_assets.assets import stripe_assets_defs
from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets.sandbox.faults import RANDOM_KINDS
from stripe_assets_tests.pipeline import load_everything
from stripe_assets_tests.reliability_support import (
    column_types,
    copy_database,
    retries_per_run,
    snapshot,
)

# A month of a mid-sized account: ~450 requests, so 10% is ~45 faults of every kind.
CONFIG = SandboxConfig(seed=11, customers=120, charges=800, days=30, end=date(2025, 6, 30))
NOT_LOADED_AT = ("_loaded_at",)


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every asset loaded from CONFIG with no faults: the reference, and "the tables before"."""
    db = tmp_path_factory.mktemp("clean") / "stripe.duckdb"
    with SandboxServer(CONFIG) as server:
        outcomes = load_everything(server, db)
    assert all(o.ok for o in outcomes), [(o.name, o.error) for o in outcomes]
    return db


@pytest.mark.slow
def test_full_load_with_10_percent_of_requests_failing_equals_a_load_without_faults(
    clean_db: Path, tmp_path: Path
):
    db, home = tmp_path / "stripe.duckdb", tmp_path / "dagster_home"
    home.mkdir()
    with SandboxServer(CONFIG, fault_rate=0.1, fault_kinds=sorted(RANDOM_KINDS),
                       fault_seed=3) as server:
        outcomes = load_everything(server, db,
                                   instance=dg.DagsterInstance.from_config(str(home)))
        stats = server.stats
    assert all(o.ok for o in outcomes), [(o.name, o.error) for o in outcomes]
    # The faults happened, of every kind...
    assert set(stats.faults_injected) == RANDOM_KINDS, stats.faults_injected
    assert stats.faults_total >= 0.05 * stats.total_requests
    # ...and yet every table is the clean load's, row for row, column for column.
    assert column_types(db) == column_types(clean_db)
    assert snapshot(db, exclude=NOT_LOADED_AT) == snapshot(clean_db, exclude=NOT_LOADED_AT)
    # Retries stay bounded: exactly one per fault (none gave up), and the metadata says so.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        retries = {a.key: retries_per_run(instance, a.key) for a in stripe_assets_defs}
    assert all(len(runs) == 1 for runs in retries.values()), retries
    per_asset = {key.path[-1]: sum(runs.values()) for key, runs in retries.items()}
    assert sum(per_asset.values()) == stats.faults_total, per_asset
    assert sum(o.retries for o in outcomes) == stats.faults_total
    assert sum(o.requests for o in outcomes) == stats.total_requests


def test_fault_outlasting_the_retry_budget_fails_clearly_and_keeps_the_tables(
    clean_db: Path, tmp_path: Path, sandbox_factory
):
    db = copy_database(clean_db, tmp_path / "stripe.duckdb")
    before = snapshot(db)
    server = sandbox_factory(CONFIG)
    server.inject("503_html", count=100_000, path_prefix="/v1/charges")  # an outage of charges
    outcomes = {o.name: o for o in load_everything(
        server, db, names=["charges", "refunds", "refund_rates"], max_attempts=3)}
    charges = outcomes["stripe/charges"]
    assert not charges.ok and charges.error is not None
    assert "GET /v1/charges kept failing: 3 attempts" in charges.error
    assert "HTTP 503" in charges.error and "re-run later" in charges.error
    assert "Nothing was written" in charges.error and "Traceback" not in charges.error
    assert outcomes["stripe/refunds"].ok
    assert outcomes["analytics/refund_rates"].skipped
    after = snapshot(db)
    assert after["stripe.charges"] == before["stripe.charges"]  # _loaded_at included
    assert after["analytics.refund_rates"] == before["analytics.refund_rates"]
    assert after["stripe.refunds"] != before["stripe.refunds"]  # it did load, at a new time


def first_fault_at(seed: int, rate: float) -> int:
    """Index of the first request the sandbox's FaultPlan(rate, seed) fails (its own RNG)."""
    rng = random.Random(seed)
    return next(i for i in range(10_000) if rng.random() < rate)


@pytest.mark.parametrize("workers", [1, None], ids=["sequential_pages", "parallel_windows"])
def test_pagination_failing_midway_never_commits_a_partial_partition(
    clean_db: Path, tmp_path: Path, sandbox_factory, monkeypatch: pytest.MonkeyPatch,
    workers: int | None,
):
    rate = 0.25
    seed = next(s for s in range(1000) if first_fault_at(s, rate) == 4)  # 4 pages, then a 500
    db = copy_database(clean_db, tmp_path / "stripe.duckdb")
    spools = tmp_path / "spools"
    spools.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spools))
    before = snapshot(db)
    server = sandbox_factory(CONFIG, fault_rate=rate, fault_kinds=["500"], fault_seed=seed)
    [charges] = load_everything(server, db, names=["charges"], max_attempts=1,
                                max_workers=workers)
    assert not charges.ok and "GET /v1/charges kept failing: 1 attempts" in str(charges.error)
    stats = server.stats
    assert stats.responses_by_status[200] >= 4  # pages were fetched before the failure...
    if workers == 1:
        assert stats.total_requests == 5  # ...one after the other (8 pages in all)
    assert snapshot(db) == before  # ...and none of them reached the table
    assert list(spools.glob("stripe-*.json")) == []  # nor stayed on disk as a spool file

    server.faults.set_random(0.0, ["500"])
    [again] = load_everything(server, db, names=["charges"], max_workers=workers)
    assert again.ok and again.rows == len(server.account.objects("charges"))
    assert snapshot(db, exclude=NOT_LOADED_AT)["stripe.charges"] == \
        snapshot(clean_db, exclude=NOT_LOADED_AT)["stripe.charges"]
