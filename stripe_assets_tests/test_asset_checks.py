"""Each asset check fails on data built to violate it, and passes on good data."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster._core.scheduler.instigation import SensorInstigatorData

from stripe_assets.checks import DuckDBReader
from stripe_assets.checks.events_sensor_health import events_sensor_is_polling
from stripe_assets.checks.integrity import amount_refunded_within_amount, refund_charges_exist
from stripe_assets.checks.raw_tables import (
    build_id_is_unique,
    build_livemode_is_consistent,
    build_required_fields_not_null,
)
from stripe_assets_tests.lock_support import hold_write_lock
from stripe_assets_tests.workspace_support import code_location, current_state

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN

GOOD = """
CREATE SCHEMA stripe;
CREATE TABLE stripe.charges AS SELECT * FROM (VALUES
    ('ch_1', TIMESTAMPTZ '2025-01-01 10:00:00+00', 1000, 0, false),
    ('ch_2', TIMESTAMPTZ '2025-01-02 10:00:00+00', 2000, 2000, false),
    ('ch_3', TIMESTAMPTZ '2025-01-03 10:00:00+00', 3000, 500, false)
) t(id, created, amount, amount_refunded, livemode);
CREATE TABLE stripe.refunds AS SELECT * FROM (VALUES
    ('re_1', TIMESTAMPTZ '2025-02-01 10:00:00+00', 'ch_2', 2000, false),
    ('re_2', TIMESTAMPTZ '2025-02-02 10:00:00+00', 'ch_3', 500, false),
    ('re_3', TIMESTAMPTZ '2025-02-03 10:00:00+00', NULL, 100, false)
) t(id, created, charge, amount, livemode);
CREATE TABLE stripe.payment_links AS SELECT * FROM (VALUES
    ('plink_1', true, false)) t(id, active, livemode);
"""


def warehouse(tmp_path: Path, *statements: str) -> DuckDBReader:
    db = tmp_path / "stripe.duckdb"  # catalog `stripe` and schema `stripe`: the checks cope
    with duckdb.connect() as con:  # attached under another name: `stripe` is the schema only
        con.execute(f"ATTACH '{db}' AS built; USE built")
        for sql in (GOOD, *statements):
            con.execute(sql)
    return DuckDBReader(database=str(db), lock_timeout_seconds=5)


def run(check: dg.AssetChecksDefinition, reader: DuckDBReader) -> dg.AssetCheckResult:
    result = check(warehouse=reader)
    assert isinstance(result, dg.AssetCheckResult)
    return result


def meta(result: dg.AssetCheckResult, name: str):
    value = result.metadata[name]
    return getattr(value, "value", getattr(value, "data", value))


@pytest.mark.parametrize("table", ["charges", "refunds", "payment_links"])
def test_every_check_passes_on_good_data(tmp_path, table):
    reader = warehouse(tmp_path)
    for build in (build_id_is_unique, build_required_fields_not_null,
                  build_livemode_is_consistent):
        assert run(build(table), reader).passed, (build.__name__, table)
    assert run(amount_refunded_within_amount, reader).passed
    assert run(refund_charges_exist, reader).passed


def test_a_duplicated_id_fails_with_the_duplicates_named(tmp_path):
    reader = warehouse(tmp_path, "INSERT INTO stripe.charges SELECT * FROM stripe.charges "
                                 "WHERE id = 'ch_2'")
    result = run(build_id_is_unique("charges"), reader)
    assert not result.passed and result.severity == ERROR
    assert meta(result, "rows") == 4 and meta(result, "duplicated_ids") == 1
    assert meta(result, "examples") == ["ch_2 x2"]


def test_a_null_id_or_created_fails(tmp_path):
    reader = warehouse(
        tmp_path,
        "INSERT INTO stripe.charges VALUES (NULL, TIMESTAMPTZ '2025-01-01 00:00:00+00', 1, 0, "
        "false), ('ch_9', NULL, 1, 0, false)")
    result = run(build_required_fields_not_null("charges"), reader)
    assert not result.passed and result.severity == ERROR
    assert (meta(result, "null_id"), meta(result, "null_created")) == (1, 1)
    assert sorted(meta(result, "examples")) == ["(null id)", "ch_9"]
    # payment links have no `created` at all: only the id is required.
    assert run(build_required_fields_not_null("payment_links"), reader).passed


def test_a_charge_refunded_beyond_its_amount_is_an_error(tmp_path):
    reader = warehouse(tmp_path, "UPDATE stripe.charges SET amount_refunded = 1001 "
                                 "WHERE id = 'ch_1'")
    result = run(amount_refunded_within_amount, reader)
    assert not result.passed and result.severity == ERROR
    assert meta(result, "over_refunded") == 1
    assert meta(result, "examples") == ["ch_1: amount 1000, refunded 1001"]


def test_a_refund_of_an_unknown_charge_is_a_warning(tmp_path):
    reader = warehouse(tmp_path, "INSERT INTO stripe.refunds VALUES ('re_9', "
                                 "TIMESTAMPTZ '2025-03-01 00:00:00+00', 'ch_gone', 10, false)")
    result = run(refund_charges_exist, reader)
    assert not result.passed and result.severity == WARN
    assert meta(result, "refunds_without_charge") == 1
    assert meta(result, "examples") == ["re_9 -> ch_gone"]


def test_live_rows_in_a_test_database_fail_every_tables_livemode_check(tmp_path):
    reader = warehouse(tmp_path, "UPDATE stripe.refunds SET livemode = true WHERE id = 're_1'")
    for table in ("charges", "refunds"):
        result = run(build_livemode_is_consistent(table), reader)
        assert not result.passed and result.severity == ERROR
        assert "mixes test and live data" in (result.description or "")
        assert "live rows in refunds" in (result.description or "")
    assert meta(result, "livemode_rows_by_table")["refunds"] == {"live": 1, "test": 2}


def test_a_table_not_loaded_yet_fails_its_checks_with_a_clear_message(tmp_path):
    result = run(build_id_is_unique("payouts"), warehouse(tmp_path))
    assert not result.passed and "stripe.payouts does not exist yet" in (result.description or "")


def test_checks_wait_for_a_writer_and_never_take_the_write_lock(tmp_path):
    reader = warehouse(tmp_path)
    ready = multiprocessing.get_context("spawn").Event()
    writer = multiprocessing.get_context("spawn").Process(
        target=hold_write_lock, args=(reader.database, 1.5, ready))
    writer.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        assert run(build_id_is_unique("charges"), reader).passed
        assert time.monotonic() - started > 0.5  # it waited for the writer to finish
    finally:
        writer.join(10)
    # While a check reads, another process can still open the file read-only.
    with reader.connect() as con, duckdb.connect(reader.database, read_only=True) as other:
        assert con.execute("SELECT count(*) FROM stripe.charges").fetchall() == [(3,)]
        assert other.execute("SELECT count(*) FROM stripe.stripe.charges").fetchall() == [(3,)]


def test_the_events_sensor_check_reads_the_cursor_stored_in_the_instance(tmp_path):
    reader = warehouse(tmp_path, "CREATE TABLE stripe.events AS SELECT 'evt_1' AS id, "
                                 "now() - INTERVAL 40 DAY AS created")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        def check() -> dg.AssetCheckResult:
            context = dg.build_asset_check_context(instance=instance)
            result = events_sensor_is_polling(context, warehouse=reader)
            assert isinstance(result, dg.AssetCheckResult)
            return result

        never = check()
        assert not never.passed and never.severity == WARN
        assert "never ticked" in (never.description or "")

        with code_location(instance) as repo:
            sensor = repo.get_sensor("stripe_events_sensor")
            state = current_state(instance, sensor)  # running by default, as the daemon finds it

            def store_cursor(through: float, backlog: list[list[int]] | None = None) -> None:
                cursor: dict[str, Any] = {"v": 1, "through": int(through)}
                if backlog:
                    cursor["backlog"] = backlog
                data = SensorInstigatorData(cursor=json.dumps(cursor))
                stored = instance.get_instigator_state(state.instigator_origin_id,
                                                       state.selector_id)
                if stored is None:
                    instance.add_instigator_state(state.with_data(data))
                else:
                    instance.update_instigator_state(stored.with_data(data))

            # A quiet account: the newest event is 40 days old, the sensor polled 30 s ago.
            store_cursor(time.time() - 30)
            quiet = check()
            assert quiet.passed
            assert meta(quiet, "newest_event_age_hours") > 40 * 24 - 1

            store_cursor(time.time() - 3 * 3600)
            behind = check()
            assert not behind.passed and behind.severity == WARN
            assert "last read events 3.0 hours ago" in (behind.description or "")

            # Back from an outage: polled up to now, but 20 days of events still to be read.
            now = int(time.time())
            store_cursor(now - 30, backlog=[[now - 20 * 86400, now - 86400]])
            catching_up = check()
            assert not catching_up.passed and catching_up.severity == WARN
            assert "catching up" in (catching_up.description or "")
            assert meta(catching_up, "unread_since_hours") == pytest.approx(20 * 24, abs=0.1)


def test_the_events_sensor_check_reports_the_sensor_before_anything_was_loaded(tmp_path):
    missing = DuckDBReader(database=str(tmp_path / "not-loaded-yet.duckdb"))
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        context = dg.build_asset_check_context(instance=instance)
        result = events_sensor_is_polling(context, warehouse=missing)
    assert isinstance(result, dg.AssetCheckResult)
    assert not result.passed and "never ticked" in (result.description or "")
    assert meta(result, "newest_event_age_hours") is None
