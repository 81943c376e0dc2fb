"""Concurrent writers and DuckDB's file lock: waited out with backoff, never a bare failure."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from stripe_assets.io_manager import (
    DuckDBLockTimeoutError,
    ObjectSpool,
    StripeDuckDBIOManager,
    StripeObjects,
)
from stripe_assets.io_manager.client import connect_with_retry

from .io_support import (
    API_VERSION,
    HOLD_LOCK,
    charge,
    error_text,
    materialize_charges_worker,
    query,
    spool_of,
    ts,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def hold_lock(db: str) -> Iterator[Any]:
    """Start another process that holds a read-write connection to ``db`` for N seconds."""
    holders: list[subprocess.Popen] = []

    def start(seconds: float) -> subprocess.Popen:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, db, str(seconds)], stdout=subprocess.PIPE, text=True
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        return holder

    yield start
    for holder in holders:  # only the processes this test started
        if holder.poll() is None:
            # SIGKILL: a runner may start tests with SIGTERM ignored, and the holder only sleeps.
            holder.kill()
        holder.wait(timeout=30)


def charges_table(spools: list[ObjectSpool] | None = None) -> dg.AssetsDefinition:
    @dg.asset(name="charges", key_prefix=["stripe"])
    def table() -> StripeObjects:
        spool = spool_of([charge(1, ts("2024-01-02", 1))])
        if spools is not None:
            spools.append(spool)
        return StripeObjects(spool, API_VERSION)

    return table


def test_three_processes_writing_different_tables_into_one_file_all_succeed(db):
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    names = ["charges", "refunds", "payouts"]
    workers = [
        context.Process(
            target=materialize_charges_worker, args=(db, name, 10_000, barrier, results)
        )
        for name in names
    ]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=180) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)

    assert [(name, ok) for name, ok, _ in outcomes] == [(n, True) for n in sorted(names)]
    assert any(waited for _, _, waited in outcomes)  # they did meet each other's lock
    counts = query(db, " UNION ALL ".join(f"SELECT count(*) FROM stripe.{n}" for n in names))
    assert counts == [(10_000,)] * 3


def test_a_lock_held_for_two_seconds_is_waited_out(db, hold_lock):
    holder = hold_lock(2)
    started = time.monotonic()
    result = dg.materialize(
        [charges_table()],
        resources={"io_manager": StripeDuckDBIOManager(database=db, lock_timeout_seconds=30)},
    )

    assert result.success
    assert time.monotonic() - started > 1  # it did wait for the holder
    assert holder.wait(timeout=30) == 0
    assert query(db, "SELECT count(*) FROM stripe.charges") == [(1,)]


def test_a_lock_held_past_the_timeout_fails_naming_the_holder_and_the_remedy(db, hold_lock):
    holder = hold_lock(60)
    spools: list[ObjectSpool] = []
    started = time.monotonic()
    result = dg.materialize(
        [charges_table(spools)],
        resources={"io_manager": StripeDuckDBIOManager(database=db, lock_timeout_seconds=1)},
        raise_on_error=False,
    )
    elapsed = time.monotonic() - started

    assert not result.success
    message = error_text(result)
    assert "DuckDBLockTimeoutError" in message or "is locked by" in message
    assert f"is locked by PID {holder.pid}" in message
    assert "lock_timeout_seconds=1" in message
    assert "close the other DuckDB session" in message and "notebook" in message
    assert 1 <= elapsed < 20
    assert not spools[0].path.exists()  # the spool is deleted even though no write started


def test_lock_retries_back_off_exponentially_with_jitter_until_the_timeout(db, hold_lock):
    hold_lock(60)
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with pytest.raises(DuckDBLockTimeoutError, match="lock_timeout_seconds=10"):
        connect_with_retry(
            db, config={}, lock_timeout_seconds=10, sleep=sleep, clock=lambda: now[0]
        )

    assert sum(sleeps) == pytest.approx(10)
    assert 0.025 <= sleeps[0] <= 0.075  # first delay 50 ms, ±50 % jitter
    assert sleeps[3] > sleeps[0] * 2  # grows exponentially...
    assert max(sleeps) <= 1.5  # ...up to a cap of 1 s (+ jitter)
    assert len(set(sleeps)) == len(sleeps)  # jittered, so concurrent waiters spread out


def test_errors_other_than_a_lock_conflict_are_not_retried(db):
    Path(db).write_bytes(b"this is not a DuckDB database" * 100)
    started = time.monotonic()
    result = dg.materialize(
        [charges_table()],
        resources={"io_manager": StripeDuckDBIOManager(database=db, lock_timeout_seconds=60)},
        raise_on_error=False,
    )

    assert not result.success
    assert time.monotonic() - started < 30
    assert "is locked by" not in error_text(result)


def test_file_already_open_in_this_process_fails_at_once_saying_what_to_close(db):
    with duckdb.connect(db):
        started = time.monotonic()
        result = dg.materialize(
            [charges_table()],
            resources={"io_manager": StripeDuckDBIOManager(database=db, lock_timeout_seconds=60)},
            raise_on_error=False,
        )

    assert not result.success
    assert time.monotonic() - started < 30
    assert "already open in this process" in error_text(result)
    assert "Close that connection" in error_text(result)
