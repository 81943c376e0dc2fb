"""Several writers and readers on one DuckDB file: a multiprocess backfill of every asset, and a
notebook-like reader while a load writes. None of them may make a load fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets_tests.backfill_support import run_backfill
from stripe_assets_tests.pipeline import load_everything, rows
from stripe_assets_tests.reliability_support import (
    SMALL,
    days_of,
    most_at_once,
    snapshot,
    step_windows,
)

REPO = Path(__file__).resolve().parents[1]
BACKFILL = SandboxConfig(seed=31, customers=40, charges=200, days=3, end=date(2025, 6, 30))
RUNS = 5
LOCK_TROUBLE = ("DuckDBLockError", "DuckDBLockTimeoutError", "Could not set lock",
                "Conflicting lock", "Unique file handle conflict")


@pytest.mark.slow
def test_multiprocess_backfill_of_every_asset_five_times_has_no_lock_error(
    sandbox_factory, tmp_path: Path
):
    server = sandbox_factory(BACKFILL)
    first, last = days_of(BACKFILL)
    home, db = tmp_path / "dagster_home", tmp_path / "stripe.duckdb"
    home.mkdir()
    runs = run_backfill(home, api_base=server.url, db=db, first=first, last=last, runs=RUNS,
                        requests_per_second=500, key="sk_test_51BackfillKey00000000000aaaa",
                        cwd=tmp_path)
    assert [r["success"] for r in runs] == [True] * RUNS, runs[0]["stderr"]

    writing_at_once, steps_at_once, lock_waits = [], [], 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in runs:
            records = instance.all_logs(run["run_id"])
            assert not [r for r in records if r.dagster_event and
                        r.dagster_event.event_type_value == "STEP_FAILURE"]
            text = "\n".join(r.user_message for r in records)
            assert not any(trouble in text for trouble in LOCK_TROUBLE)
            assert not [r for r in records if r.level in ("ERROR", 40, "CRITICAL", 50)]
            lock_waits += text.count("is locked by")
            # Several steps ran at once, and their writes (output handed to the IO manager ->
            # written) overlapped: they wrote, or waited to write, the same file together.
            steps = step_windows(records, "STEP_START", "STEP_SUCCESS")
            assert len(steps) == 12, steps
            steps_at_once.append(most_at_once(steps))
            writing_at_once.append(most_at_once(
                step_windows(records, "STEP_OUTPUT", "HANDLED_OUTPUT")))
    print(f"steps at once per run: {steps_at_once}; writes at once per run: {writing_at_once};"
          f" lock waits: {lock_waits}")
    # Steps of ~0.6 s started by a busy machine do not always reach 3 at once in every run.
    assert min(steps_at_once) >= 2 and max(steps_at_once) >= 3
    assert max(writing_at_once) >= 2

    counts = {t: len(rows) for t, rows in snapshot(db).items()}
    for name in ("customers", "charges", "payment_intents", "setup_intents", "refunds",
                 "payouts", "payment_links"):
        assert counts[f"stripe.{name}"] == len(server.account.objects(name)), name


# ---- readers while a load writes -----------------------------------------------------------


@pytest.fixture
def loaded_db(tmp_path: Path, sandbox_factory) -> tuple[Path, SandboxServer]:
    server = sandbox_factory(SMALL)
    db = tmp_path / "stripe.duckdb"
    assert all(o.ok for o in load_everything(server, db))
    return db, server


def reader(mode: str, db: Path, argument: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_assets_tests.reader_support", mode, str(db), argument],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])},
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_load_waits_for_a_reader_holding_the_file_and_completes_once_it_closes(loaded_db):
    db, server = loaded_db
    hold = reader("hold", db, "4")  # a notebook with the file open for 4 more seconds
    began = time.time()
    outcomes = load_everything(server, db, names=["charges", "refunds", "refund_rates"])
    took = time.time() - began
    out, _ = hold.communicate(timeout=60)
    closed_at = float(out.strip())
    assert hold.returncode == 0
    assert all(o.ok for o in outcomes), [(o.name, o.error) for o in outcomes]
    # The write waited for the reader (the fetch did not): rows are stamped after it closed.
    [(written_at,)] = rows(db, "SELECT max(epoch(_loaded_at)) FROM stripe.charges")
    assert written_at >= closed_at and took >= 3.5, (written_at, closed_at, took)


def test_a_reader_polling_throughout_a_load_never_makes_it_fail(loaded_db, tmp_path: Path):
    db, server = loaded_db
    stop = tmp_path / "stop"
    poll = reader("poll", db, str(stop))
    began = time.time()
    outcomes = load_everything(server, db)
    ended = time.time()
    stop.touch()
    out, _ = poll.communicate(timeout=60)
    assert poll.returncode == 0
    assert all(o.ok for o in outcomes), [(o.name, o.error) for o in outcomes]
    seen = json.loads(out)
    during = [t for t in seen["reads"] if began < t < ended]
    print(f"{len(during)} reads during the {ended - began:.1f}s load, {seen['refused']} refused")
    assert len(during) >= 10  # the reader really did read, again and again, while it wrote
