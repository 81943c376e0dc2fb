"""`stripe-assets load` as a user runs it: a real subprocess, real sandbox, real DuckDB file."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stripe_assets.database import open_database
from stripe_assets.sandbox import SandboxConfig
from stripe_assets_tests.pipeline import env_without_project_settings, sandbox_days

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


def test_load_with_a_key_reads_stripe_api_base_and_records_runs_in_dagster_home(sandbox, tmp_path):
    first, last = sandbox_days(sandbox)
    db = tmp_path / "stripe.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {"STRIPE_API_KEY": "sk_test_51CliKey000000000000000aaaa", "STRIPE_API_BASE": sandbox.url,
           "STRIPE_ASSETS_DB": str(db), "DAGSTER_HOME": str(home),
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


def test_a_selection_whose_upstream_table_was_never_loaded_says_which_to_load(sandbox, tmp_path):
    db = tmp_path / "stripe.duckdb"
    env = {"STRIPE_API_KEY": "sk_test_51CliKey000000000000000aaaa", "STRIPE_API_BASE": sandbox.url,
           "STRIPE_ASSETS_DB": str(db), "STRIPE_REQUESTS_PER_SECOND": "500"}
    # payment_methods reads customers, payment_intents, setup_intents and charges from the file.
    result = run_cli(["load", "--select", "payment_methods"], env, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    named = re.search(rf"stripe\.(\w+) is not in {re.escape(str(db))} yet: materialize"
                      r" stripe/(\w+) first", result.stdout)
    assert named is not None, result.stdout
    table = named.group(1)
    assert table == named.group(2)
    assert table in {"customers", "payment_intents", "setup_intents", "charges"}
    assert f"add {table} to --select" in result.stdout


@pytest.mark.parametrize(("args", "env", "message"), [
    (["load", "--start", "2025-02-01", "--end", "2025-01-01"], {}, "is after --end"),
    (["load", "--start", "2025-13-01"], {}, "--start='2025-13-01' is not a date"),
    (["load"], {"STRIPE_START_DATE": "01/02/2024"}, "STRIPE_START_DATE='01/02/2024' is not a date"),
    (["load"], {"STRIPE_API_BASE": "https://api.stripe.com"}, "STRIPE_API_KEY is not set"),
    (["load", "--select", "charges,nope"], {"STRIPE_API_KEY": "sk_test_x"}, "unknown assets: nope"),
    (["load"], {"STRIPE_ENDPOINT_REQUESTS_PER_SECOND": "fast"},
     "STRIPE_ENDPOINT_REQUESTS_PER_SECOND='fast' must be a positive number"),
])
def test_bad_settings_end_with_one_clear_message_and_no_traceback(tmp_path, args, env, message):
    result = run_cli(args, {"STRIPE_ASSETS_DB": str(tmp_path / "db.duckdb"), **env}, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "db.duckdb").exists()
