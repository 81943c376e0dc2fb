"""`stripe-assets load` killed with SIGKILL while it writes DuckDB: each table is as it was before
the load or as the load makes it, never in between, and the next run completes normally.

"Before" is a load of one account (BEFORE); the killed run loads another, larger one (AFTER,
other ids, same days), so a table half-way between the two cannot pass for either.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets_tests.pipeline import load_everything, sandbox_days, start
from stripe_assets_tests.reliability_support import Snapshot, copy_database, days_of, snapshot
from stripe_assets_tests.test_cli import run_cli

BEFORE = SandboxConfig(seed=21, customers=60, charges=400, days=10, end=date(2025, 6, 30))
AFTER = SandboxConfig(seed=22, customers=250, charges=2500, days=10, end=date(2025, 6, 30))
FIRST, LAST = days_of(AFTER)
LOAD = ["load", "--start", str(FIRST), "--end", str(LAST)]
NOT_LOADED_AT = ("_loaded_at",)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def before_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("before") / "stripe.duckdb"
    with SandboxServer(BEFORE) as server:
        assert all(o.ok for o in load_everything(server, db))
    return db


@pytest.fixture(scope="module")
def after_server() -> Iterator[SandboxServer]:
    with SandboxServer(AFTER) as server:
        assert sandbox_days(server) == (FIRST, LAST)
        yield server


@pytest.fixture(scope="module")
def after(before_db: Path, after_server: SandboxServer,
          tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """Every table as a complete load of AFTER over BEFORE's file leaves it (but _loaded_at)."""
    db = copy_database(before_db, tmp_path_factory.mktemp("after") / "stripe.duckdb")
    assert all(o.ok for o in load_everything(after_server, db))
    return snapshot(db, exclude=NOT_LOADED_AT)


def env_for(server: SandboxServer, db: Path) -> dict[str, str]:
    return {"STRIPE_API_KEY": "sk_test_51CrashTestKey000000000aaaa", "STRIPE_API_BASE": server.url,
            "STRIPE_ASSETS_DB": str(db), "STRIPE_START_DATE": str(FIRST),
            "STRIPE_REQUESTS_PER_SECOND": "500"}


def states(db: Path, before: Snapshot, after: Snapshot) -> dict[str, str]:
    """"before" or "after" for each table; fails on a table that is neither."""
    exact, content = snapshot(db), snapshot(db, exclude=NOT_LOADED_AT)
    assert exact.keys() == after.keys()
    out = {}
    for table in after:
        if exact[table] == before[table]:
            out[table] = "before"  # to the byte, _loaded_at included
        elif content[table] == after[table]:
            out[table] = "after"
        else:
            pytest.fail(f"{table} is neither as it was nor as the load makes it: "
                        f"{len(content[table])} rows, before {len(before[table])}, "
                        f"after {len(after[table])}")
    return out


def assert_next_run_completes(db: Path, env: dict[str, str], cwd: Path, after: Snapshot) -> None:
    result = run_cli(LOAD, env, cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^(\d+)/\1 assets loaded", result.stdout, re.M), result.stdout
    assert snapshot(db, exclude=NOT_LOADED_AT) == after


def test_sigkill_inside_a_write_transaction_leaves_that_table_as_before_and_the_next_run_completes(
    before_db: Path, after_server: SandboxServer, after: Snapshot, tmp_path: Path
):
    db = copy_database(before_db, tmp_path / "stripe.duckdb")
    before = snapshot(db)
    assert all(before[t] != after[t] for t in before if t.startswith("stripe.")), \
        "BEFORE and AFTER must differ in every raw table"
    marker = tmp_path / "inside_charges_write"
    env = env_for(after_server, db)
    proc = start(["stripe_assets_tests.crash_support", str(marker), "charges", *LOAD], env,
                 tmp_path)
    deadline = time.monotonic() + 180
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the load never reached the charges write"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Killed with AFTER's charges in the uncommitted transaction (BEFORE's deleted)...
    inside = json.loads(marker.read_text())
    assert inside["rows_in_transaction"] == len(after_server.account.objects("charges"))
    # ...the table is BEFORE's, to the byte; customers, written earlier, is AFTER's.
    found = states(db, before, after)
    assert found["stripe.charges"] == "before"
    assert found["stripe.customers"] == "after"
    assert found["stripe.refunds"] == "before"
    assert_next_run_completes(db, env, tmp_path, after)


def test_sigkill_at_staggered_commits_never_leaves_a_table_in_between(
    before_db: Path, after_server: SandboxServer, after: Snapshot, tmp_path: Path
):
    """Killed as the k-th write's commit creates the WAL file (DuckDB writes it at COMMIT and
    folds it into the database file as the connection closes): the plain CLI, no hooks."""
    wal_left_behind = 0
    killed_at: list[dict[str, str]] = []
    for k in (1, 5, 9):
        run_dir = tmp_path / f"kill_at_commit_{k}"
        db = copy_database(before_db, run_dir / "stripe.duckdb")
        wal = Path(f"{db}.wal")
        before = snapshot(db)
        env = env_for(after_server, db)
        proc = start(["stripe_assets.cli", *LOAD], env, run_dir)
        commits, present = 0, False
        while proc.poll() is None:
            exists = wal.exists()
            if exists and not present:
                commits += 1
                if commits == k:
                    proc.send_signal(signal.SIGKILL)
                    break
            present = exists
            time.sleep(0.0002)
        output = proc.communicate(timeout=30)[0]
        assert proc.returncode == -signal.SIGKILL, f"commit {k} was never seen:\n{output}"
        wal_left_behind += wal.exists()
        killed_at.append(states(db, before, after))
    # The k-th write (one per asset, in order) was being committed: the k-1 before it are
    # AFTER's, it and the rest are BEFORE's, or it just made it.
    after_counts = [sum(s == "after" for s in found.values()) for found in killed_at]
    assert all(k - 1 <= n <= k for k, n in zip((1, 5, 9), after_counts, strict=True)), \
        after_counts
    # At least one kill left a WAL file behind: the next run must open the file through it.
    assert wal_left_behind >= 1
    assert_next_run_completes(db, env, run_dir, after)
