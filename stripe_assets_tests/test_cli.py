"""`stripe-assets load` as a user runs it: a real subprocess, real sandbox, real DuckDB file."""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from stripe_assets.database import open_database
from stripe_assets.sandbox import SandboxConfig
from stripe_assets_tests.lock_support import hold_write_lock
from stripe_assets_tests.pipeline import env_without_project_settings, sandbox_days, start

# A short account for loads whose point does not depend on the range: every day of it costs
# Dagster events (the session's sandbox has a year).
THREE_WEEKS = SandboxConfig(seed=43, customers=40, charges=300, days=21, end=date(2025, 6, 30))
TABLES = ["stripe.customers", "stripe.charges", "stripe.payment_intents", "stripe.setup_intents",
          "stripe.refunds", "stripe.payouts", "stripe.payment_links", "stripe.payment_methods",
          "analytics.refund_rates", "analytics.payout_summary"]


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = env_without_project_settings()
    return subprocess.run(
        [sys.executable, "-m", "stripe_assets.cli", *args], env={**clean, **env}, cwd=cwd,
        capture_output=True, text=True, timeout=600,
    )


def table_counts(db: Path) -> dict[str, int]:
    with open_database(db) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}


@pytest.mark.slow
def test_load_without_a_key_starts_the_sandbox_and_fills_all_ten_tables(tmp_path):
    # As `make run` does: no key, no STRIPE_START_DATE.
    db = tmp_path / "data" / "stripe.duckdb"
    result = run_cli(["load"], {"STRIPE_ASSETS_DB": str(db)}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No STRIPE_API_KEY set" in result.stdout
    # Days from the sandbox's first (a year ago), not from 2020: no years of empty partitions.
    first = datetime.fromtimestamp(SandboxConfig().span()[0], UTC).date()
    assert f"Loading {first} .. {datetime.now(UTC).date()}" in result.stdout
    assert re.search(r"^(\d+)/\1 assets loaded", result.stdout, re.M), result.stdout
    counts = table_counts(db)
    assert all(n > 0 for n in counts.values()), counts
    for table in TABLES:
        assert table.split(".")[1] in result.stdout  # one progress line per asset


def test_load_with_a_key_reads_stripe_api_base_and_records_runs_in_dagster_home(
    sandbox_factory, tmp_path
):
    sandbox = sandbox_factory(THREE_WEEKS)  # each day is Dagster events in DAGSTER_HOME
    first, last = sandbox_days(sandbox)
    db = tmp_path / "stripe.duckdb"
    home = tmp_path / "dagster_home"  # given relative and not there yet, as people type it
    env = {"STRIPE_API_KEY": "sk_test_51CliKey000000000000000aaaa", "STRIPE_API_BASE": sandbox.url,
           "STRIPE_ASSETS_DB": str(db), "DAGSTER_HOME": "dagster_home",
           "STRIPE_REQUESTS_PER_SECOND": "500"}
    result = run_cli(["load", "--start", str(first), "--end", str(last),
                      "--select", "charges,refunds,refund_rates"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3/3 assets loaded" in result.stdout
    with open_database(db) as con:
        assert con.execute("SELECT count(*) FROM stripe.charges").fetchall()[0][0] == \
            len(sandbox.account.objects("charges"))
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert {r.job_name for r in runs} == {"load_everything"}  # the UI's job, not ephemeral
        # The range's API cost once, on its newest day, not on every day as if each cost it.
        records = instance.fetch_materializations(dg.AssetKey(["stripe", "charges"]),
                                                  limit=10_000).records
        costed = [r.partition_key for r in records
                  if "stripe_requests" in r.asset_materialization.metadata]  # type: ignore[union-attr]
        assert len(records) > 1 and costed == [str(last)]

    # Rows are what the load wrote, not what the table holds.
    day = [c for c in sandbox.account.objects("charges")
           if datetime.fromtimestamp(c["created"], UTC).date() == last]
    assert day
    again = run_cli(["load", "--start", str(last), "--end", str(last), "--select",
                     "stripe/charges"], env, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(rf"ok +stripe/charges +{len(day):,} rows ", again.stdout), again.stdout
    assert f": {len(day):,} rows written" in again.stdout


@pytest.mark.parametrize(("select", "tables", "add"), [
    ("payment_methods", "stripe.charges, stripe.customers, stripe.payment_intents,"
     " stripe.setup_intents", "charges,customers,payment_intents,setup_intents"),
    ("analytics/refund_rates", "stripe.charges, stripe.refunds", "charges,refunds"),
    ("customers,stripe.payment_methods", "stripe.charges, stripe.payment_intents,"
     " stripe.setup_intents", "charges,payment_intents,setup_intents"),
])
def test_a_selection_whose_upstream_tables_were_never_loaded_names_them_all_before_fetching(
    sandbox, tmp_path, select, tables, add,
):
    db = tmp_path / "stripe.duckdb"
    env = {"STRIPE_API_KEY": "sk_test_51CliKey000000000000000aaaa", "STRIPE_API_BASE": sandbox.url,
           "STRIPE_ASSETS_DB": str(db), "STRIPE_REQUESTS_PER_SECOND": "500"}
    before = sandbox.stats["requests"]
    result = run_cli(["load", "--select", select], env, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert f"the selected assets read {tables}, which are not in {db} yet: add {add} to" \
        " --select, or load without --select." in result.stderr
    assert sandbox.stats["requests"] == before  # nothing fetched


def test_a_load_from_another_source_into_a_file_stops_before_fetching(sandbox, tmp_path):
    db = tmp_path / "stripe.duckdb"
    env = {"STRIPE_API_KEY": "sk_test_51CliKey000000000000000aaaa", "STRIPE_API_BASE": sandbox.url,
           "STRIPE_ASSETS_DB": str(db), "STRIPE_REQUESTS_PER_SECOND": "500"}
    days = [str(day) for day in sandbox_days(sandbox)]  # not 2020 on: Dagster's per-day events
    first = run_cli(["load", "--select", "customers", "--start", days[0], "--end", days[1]],
                    env, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    before = sandbox.stats["requests"]
    other = run_cli(["load", "--select", "customers"],
                    {**env, "STRIPE_ACCOUNT": "acct_1OtherAccount"}, tmp_path)
    assert other.returncode == 2
    assert (f"{db} holds Stripe data loaded from the local sandbox (test mode); this load reads"
            " the local sandbox (test mode, account acct_1OtherAccount)") in other.stderr
    assert "Traceback" not in other.stdout + other.stderr
    assert sandbox.stats["requests"] == before  # nothing fetched


def test_a_load_names_the_session_holding_the_file_and_waits_for_it(sandbox, tmp_path):
    db = tmp_path / "stripe.duckdb"
    duckdb.connect(str(db)).close()
    env = {"STRIPE_API_KEY": "sk_test_51CliKey000000000000000aaaa", "STRIPE_API_BASE": sandbox.url,
           "STRIPE_ASSETS_DB": str(db), "STRIPE_REQUESTS_PER_SECOND": "500"}
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    # Held until the load says it waits (however slowly it starts on a busy machine).
    holder = multiprocessing.Process(target=hold_write_lock,
                                     args=(str(db), 120.0, ready, release))
    holder.start()
    output: list[str] = []
    try:
        assert ready.wait(30)
        first, last = sandbox_days(sandbox)  # not 2020 on: Dagster's per-day events
        load = start(["stripe_assets.cli", "load", "--select", "customers", "--start",
                      str(first), "--end", str(last)], env, tmp_path)
        assert load.stdout is not None
        for line in load.stdout:
            output.append(line)
            if line.startswith("note: "):
                release.set()
        assert load.wait(timeout=60) == 0, "".join(output)
    finally:
        release.set()
        holder.join()
    printed = "".join(output)
    assert re.search(rf"^note: {re.escape(str(db))} is open in PID {holder.pid}\b", printed,
                     re.M), printed
    assert "1/1 assets loaded" in printed


@pytest.mark.parametrize(("args", "env", "message"), [
    (["load", "--start", "2025-02-01", "--end", "2025-01-01"], {}, "is after --end"),
    (["load", "--start", "2025-13-01"], {}, "--start='2025-13-01' is not a date"),
    # With an unknown asset too: were the date let through, the load would stop there at
    # once, with another message, rather than fetch for minutes.
    (["load", "--end", "2999-12-31", "--select", "nope"], {},
     "--end 2999-12-31 is in the future; the last day is today ("),
    (["load", "--start", "2020-01-01"], {}, "is before the sandbox's first day"),
    (["load", "--start", "2019-12-31"], {"STRIPE_API_KEY": "sk_test_x"},
     "is before STRIPE_START_DATE (2020-01-01)"),
    (["load"], {"STRIPE_START_DATE": "01/02/2024"}, "STRIPE_START_DATE='01/02/2024' is not a date"),
    (["load"], {"STRIPE_API_BASE": "https://api.stripe.com"}, "STRIPE_API_KEY is not set"),
    (["load", "--select", "charges,nope"], {"STRIPE_API_KEY": "sk_test_x"}, "unknown assets: nope"),
    (["load", "--select", ","], {"STRIPE_API_KEY": "sk_test_x"}, "--select ',' names no asset"),
    (["load"], {"STRIPE_VERSION": "2024-6-20"},
     "STRIPE_VERSION='2024-6-20' is not a Stripe API version, which is a date such as"),
    (["load"], {"STRIPE_ENDPOINT_REQUESTS_PER_SECOND": "fast"},
     "STRIPE_ENDPOINT_REQUESTS_PER_SECOND='fast' must be a positive number"),
])
def test_bad_settings_end_with_one_clear_message_and_no_traceback(tmp_path, args, env, message):
    result = run_cli(args, {"STRIPE_ASSETS_DB": str(tmp_path / "db.duckdb"), **env}, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "db.duckdb").exists()


@pytest.mark.parametrize(("name", "under", "reason"), [
    ("DAGSTER_HOME", "blocker", "File exists"),
    ("DAGSTER_HOME", "blocker/home", "Not a directory"),
    ("STRIPE_ASSETS_DB", "blocker/stripe.duckdb", "a file is in the way"),
    ("STRIPE_ASSETS_DB", "blocker/data/stripe.duckdb", "a file is in the way"),
])
def test_a_file_in_the_way_of_dagster_home_or_the_database_ends_with_one_message(
    tmp_path, name, under, reason,
):
    """Root may write anywhere, so a regular file where a directory must go is what makes
    these paths unusable in a test. Nothing is created, and no sandbox is started."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    path = tmp_path / under
    env = {"STRIPE_ASSETS_DB": str(tmp_path / "db.duckdb"), name: str(path)}
    result = run_cli(["load"], env, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    if name == "DAGSTER_HOME":
        message = (f"error: DAGSTER_HOME={path}: cannot create {path.resolve()} ({reason}). Point"
                   " DAGSTER_HOME at a directory you can write, or unset it.")
    else:
        message = (f"error: STRIPE_ASSETS_DB={path}: cannot create the directory {path.parent}"
                   f" ({reason}). Point STRIPE_ASSETS_DB at a file in a directory you can write.")
    assert message in result.stderr and result.stderr.count("error:") == 1
    assert "Traceback" not in result.stdout
    assert "starting the bundled" not in result.stdout
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_open_database_reads_the_file_named_in_dot_env_as_the_cli_does(tmp_path, monkeypatch):
    db = tmp_path / "elsewhere.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA stripe; CREATE TABLE stripe.charges AS SELECT 'ch_1' AS id")
    (tmp_path / ".env").write_text(f"STRIPE_ASSETS_DB={db}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STRIPE_ASSETS_DB", "set only to be restored after the test")
    monkeypatch.delenv("STRIPE_ASSETS_DB")
    with open_database() as con:
        assert con.execute("SELECT id FROM stripe.charges").fetchall() == [("ch_1",)]
