"""After a full load, the CLI says where the account's data starts, when that is long after
the first partition: every empty day costs Dagster events in every load and backfill."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from stripe_assets.database import open_database
from stripe_assets.start_date_hint import oldest_day, start_date_hint
from stripe_assets_tests.pipeline import sandbox_days
from stripe_assets_tests.test_cli import THREE_WEEKS, run_cli

KEY = "sk_test_51HintKey00000000000000000aaaa"


def test_the_oldest_day_is_the_earliest_created_of_the_loaded_tables(tmp_path):
    db = tmp_path / "stripe.duckdb"  # the catalog is named like the schema: must still resolve
    with open_database(db, read_only=False) as connection:
        connection.execute("CREATE SCHEMA stripe")
        connection.execute("CREATE TABLE stripe.charges (id VARCHAR, created TIMESTAMPTZ)")
        connection.execute("INSERT INTO stripe.charges VALUES ('a', '2024-03-02 23:30:00+00'),"
                           " ('b', '2025-01-01 00:00:00+00')")
        connection.execute("CREATE TABLE stripe.refunds (id VARCHAR, created TIMESTAMPTZ)")
        connection.execute("CREATE TABLE stripe.payouts (id VARCHAR, created VARCHAR)")
        connection.execute("INSERT INTO stripe.payouts VALUES ('p', '2019')")  # not a time
    tables = [("stripe", "charges"), ("stripe", "refunds"), ("stripe", "payouts"),
              ("stripe", "customers")]  # empty, not a time, absent: none of them counts
    assert oldest_day(db, tables) == date(2024, 3, 2)  # the UTC day
    assert oldest_day(db, [("stripe", "refunds")]) is None


def test_a_hint_only_when_the_data_starts_more_than_a_month_after_the_first_partition():
    first = date(2020, 1, 1)
    assert start_date_hint(first, None) is None
    assert start_date_hint(first, date(2020, 1, 31)) is None
    hint = start_date_hint(first, date(2024, 3, 2))
    assert hint is not None
    assert "2024-03-02, 1,522 days after the first partition (STRIPE_START_DATE, 2020-01-01)" \
        in hint
    assert "STRIPE_START_DATE=2024-03-02" in hint


@pytest.mark.slow
def test_a_full_load_names_the_start_date_to_set_and_a_selection_does_not(
    sandbox_factory, tmp_path
):
    sandbox = sandbox_factory(THREE_WEEKS)  # every day loaded is Dagster events
    first, last = sandbox_days(sandbox)
    db = tmp_path / "stripe.duckdb"
    env = {"STRIPE_API_KEY": KEY, "STRIPE_API_BASE": sandbox.url, "STRIPE_ASSETS_DB": str(db),
           "STRIPE_REQUESTS_PER_SECOND": "500",
           "STRIPE_START_DATE": str(first - timedelta(days=60))}  # 60 empty days first
    result = run_cli(["load", "--end", str(last)], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with open_database(db) as connection:
        tables = connection.execute(
            "SELECT table_name FROM duckdb_columns() WHERE database_name = current_database()"
            " AND schema_name = 'stripe' AND column_name = 'created'").fetchall()
        oldest = min(connection.execute(f"SELECT min(created)::DATE FROM stripe.{table}")
                     .fetchall()[0][0] for (table,) in tables)
    assert first <= oldest < first + timedelta(days=2)
    hint = re.search(r"^hint: the account's oldest object was created on (\S+),", result.stdout,
                     re.M)
    assert hint and hint.group(1) == str(oldest), result.stdout
    assert f"STRIPE_START_DATE={oldest}" in result.stdout

    result = run_cli(["load", "--select", "customers", "--end", str(last)], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hint:" not in result.stdout  # other tables may start earlier than customers
