"""StripeDuckDBIOManager writes: schema evolution, partitions, SqlTable, DataFrames, metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest

from stripe_assets.io_manager import ObjectSpool, SqlTable, StripeDuckDBIOManager, StripeObjects
from stripe_assets.io_manager.stripe_handler import MERGE_BY_ID

from .io_support import (
    API_VERSION,
    DAILY,
    OURS,
    STOCK,
    charge,
    charges_asset,
    column_types,
    error_text,
    page_body,
    query,
    spool_of,
    stripe_objects,
    ts,
)
from .io_support import (
    charge_ids as ids,
)
from .io_support import (
    materialize_into as run,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


def metadata(result, node: str = "stripe__charges") -> dict[str, Any]:
    """The metadata of the node's (last) materialization: a range run has one per partition,
    the last one with the table's schema and preview."""
    materialization = result.asset_materializations_for_node(node)[-1]
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


def test_field_absent_from_a_batch_is_null_and_values_go_to_columns_by_name(db):
    day2 = [{"id": "ch_1", "created": ts("2024-01-02", 1), "amount": 5, "currency": "usd"}]
    # Another field order, `currency` missing, `status` new.
    day3 = [{"status": "failed", "amount": 7, "created": ts("2024-01-03", 1), "id": "ch_2"}]
    asset = charges_asset(OURS, {"2024-01-02": day2, "2024-01-03": day3})
    run(db, [asset], "2024-01-02")
    result = run(db, [asset], "2024-01-03")

    assert query(db, "SELECT id, amount, currency, status FROM stripe.charges ORDER BY id") == [
        ("ch_1", 5, "usd", None),
        ("ch_2", 7, None, "failed"),
    ]
    assert metadata(result)["columns_added"] == ["status"]


def test_null_only_column_takes_the_type_of_its_first_real_values(db):
    nulls = {"application_fee_amount": None, "canceled_at": None, "fee_rate": None}
    values = {"application_fee_amount": 42, "canceled_at": 1704250000, "fee_rate": 0.029}
    day2 = [charge(1, ts("2024-01-02", 1), **nulls)]
    day3 = [charge(2, ts("2024-01-03", 1), **values)]
    asset = charges_asset(OURS, {"2024-01-02": day2, "2024-01-03": day3})
    run(db, [asset], "2024-01-02")
    types = column_types(db, "stripe.charges")
    # Placeholders by name: a time, an amount (so that sums work before any fee), else VARCHAR.
    assert types["canceled_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["application_fee_amount"] == "BIGINT"
    assert types["fee_rate"] == "VARCHAR"
    assert query(db, "SELECT sum(application_fee_amount) FROM stripe.charges") == [(None,)]

    result = run(db, [asset], "2024-01-03")

    types = column_types(db, "stripe.charges")
    assert types["application_fee_amount"] == "BIGINT"
    assert types["canceled_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["fee_rate"] == "DOUBLE"
    assert metadata(result)["columns_retyped"] == {"fee_rate": "VARCHAR -> DOUBLE"}
    rows = query(
        db, "SELECT application_fee_amount, epoch(canceled_at), fee_rate FROM stripe.charges"
    )
    assert sorted(rows, key=str) == sorted([(None, None, None), (42, 1704250000.0, 0.029)], key=str)


def test_a_null_only_amount_column_takes_fractions_when_they_come(db):
    day2 = [charge(1, ts("2024-01-02", 1), amount_tip=None)]
    day3 = [charge(2, ts("2024-01-03", 1), amount_tip=2.5)]
    asset = charges_asset(OURS, {"2024-01-02": day2, "2024-01-03": day3})
    run(db, [asset], "2024-01-02")
    assert column_types(db, "stripe.charges")["amount_tip"] == "BIGINT"

    result = run(db, [asset], "2024-01-03")

    assert metadata(result)["columns_retyped"] == {"amount_tip": "BIGINT -> DOUBLE"}
    assert sorted(query(db, "SELECT amount_tip FROM stripe.charges"), key=str) == [(2.5,), (None,)]


def test_an_empty_varchar_placeholder_takes_the_type_a_null_only_field_is_named_for(db):
    # A database written before amounts had a NULL-only type kept them VARCHAR: the next write
    # that still has no values retypes the empty column, so that sum() works; a VARCHAR that
    # holds values keeps them.
    day2 = [charge(1, ts("2024-01-02", 1), application_fee_amount=None, canceled_at=None)]
    day3 = [charge(2, ts("2024-01-03", 1), application_fee_amount=None, canceled_at=None)]
    asset = charges_asset(OURS, {"2024-01-02": day2, "2024-01-03": day3})
    run(db, [asset], "2024-01-02")
    with duckdb.connect(db) as connection:  # as the IO manager of 1978038 left it
        connection.execute("ALTER TABLE stripe.charges ALTER application_fee_amount TYPE VARCHAR")
        connection.execute("ALTER TABLE stripe.charges ALTER canceled_at TYPE VARCHAR")
        connection.execute("UPDATE stripe.charges SET canceled_at = 'set by hand'")

    result = run(db, [asset], "2024-01-03")

    types = column_types(db, "stripe.charges")
    assert types["application_fee_amount"] == "BIGINT"
    assert metadata(result)["columns_retyped"] == {"application_fee_amount": "VARCHAR -> BIGINT"}
    assert query(db, "SELECT sum(application_fee_amount) FROM stripe.charges") == [(None,)]
    assert types["canceled_at"] == "VARCHAR"
    assert query(db, "SELECT count(canceled_at) FROM stripe.charges") == [(1,)]


def test_conflicting_types_widen_losslessly_instead_of_failing(db):
    day2 = [
        {"id": "a", "created": ts("2024-01-02"), "amount": 100, "note": "x", "flag": True,
         "score": 5, "big": 2**60},
    ]  # fmt: skip
    day3 = [
        {"id": "b", "created": ts("2024-01-03"), "amount": 1.5, "note": 7, "flag": "yes",
         "score": 2**63, "big": 0.5},
    ]  # fmt: skip
    asset = charges_asset(OURS, {"2024-01-02": day2, "2024-01-03": day3})
    run(db, [asset], "2024-01-02")
    result = run(db, [asset], "2024-01-03")

    types = column_types(db, "stripe.charges")
    assert (types["amount"], types["note"], types["flag"]) == ("DOUBLE", "JSON", "JSON")
    assert (types["score"], types["big"]) == ("HUGEINT", "JSON")  # 2**60 is not exact as DOUBLE
    rows = query(db, "SELECT id, amount, note, flag, score, big FROM stripe.charges ORDER BY id")
    assert rows == [
        ("a", 100.0, '"x"', "true", 5, str(2**60)),
        ("b", 1.5, "7", '"yes"', 2**63, "0.5"),
    ]
    assert set(metadata(result)["columns_retyped"]) == {"amount", "note", "flag", "score", "big"}


def test_empty_result_on_an_existing_table_empties_the_slice_and_keeps_the_columns(db):
    batches: dict[str, Any] = {
        "2024-01-02": [charge(1, ts("2024-01-02", 1))],
        "2024-01-03": [charge(2, ts("2024-01-03", 1))],
    }
    asset = charges_asset(OURS, batches)
    run(db, [asset], "2024-01-02")
    run(db, [asset], "2024-01-03")
    columns = column_types(db, "stripe.charges")

    batches["2024-01-02"] = []
    result = run(db, [asset], "2024-01-02")

    assert ids(db) == ["ch_000000000000000000000002"]
    assert column_types(db, "stripe.charges") == columns
    assert metadata(result)["dagster/partition_row_count"] == 0
    assert metadata(result)["preview"] == "_no rows written_"


def test_a_dataframe_without_columns_empties_the_slice_or_says_what_to_return(db):
    # pd.DataFrame(), a user's "nothing today": DuckDB can neither register nor create it.
    batches: dict[str, Any] = {"2024-01-02": [charge(1, ts("2024-01-02", 1))],
                               "2024-01-03": [charge(2, ts("2024-01-03", 1))]}
    asset = charges_asset(STOCK, batches)
    first = dg.materialize([charges_asset(STOCK, {"2024-01-02": lambda: pd.DataFrame()})],
                           partition_key="2024-01-02", raise_on_error=False,
                           resources={"io_manager": StripeDuckDBIOManager(database=db)})
    assert not first.success
    assert "return an empty DataFrame with the table's columns" in error_text(first)
    run(db, [asset], "2024-01-02")
    run(db, [asset], "2024-01-03")
    columns = column_types(db, "stripe.charges")

    batches["2024-01-02"] = lambda: pd.DataFrame()
    result = run(db, [asset], "2024-01-02")
    assert result.success
    assert ids(db) == ["ch_000000000000000000000002"]
    assert column_types(db, "stripe.charges") == columns
    assert metadata(result)["dagster/partition_row_count"] == 0


def test_a_table_read_before_it_was_written_is_named_with_what_to_materialize(db):
    # As the UI's "Materialize selected" on a new file: no DuckDB catalog error, a line.
    @dg.asset(key=["stripe", "charges"])
    def charges() -> pd.DataFrame:
        return pd.DataFrame({"id": ["ch_1"]})

    @dg.asset(key=["analytics", "from_frame"], ins={"charges": dg.AssetIn(["stripe", "charges"])})
    def from_frame(charges: pd.DataFrame) -> pd.DataFrame:
        return charges

    @dg.asset(key=["analytics", "from_sql"], deps=[charges])
    def from_sql() -> SqlTable:
        return SqlTable("SELECT count(*) AS n FROM stripe.charges")

    for asset, expected in [
        (from_frame, f"stripe.charges is not in {db} yet: materialize stripe/charges first"),
        (from_sql, f"analytics.from_sql is built from a table {db} does not hold yet"
                   " (stripe.charges): materialize its upstream assets first"),
    ]:
        result = dg.materialize([charges, asset], selection=[asset.key], raise_on_error=False,
                                resources={"io_manager": StripeDuckDBIOManager(database=db)})
        assert not result.success
        assert expected in error_text(result)


def test_a_file_takes_stripe_objects_from_one_source_and_refuses_another_keeping_its_rows(db):
    # The sandbox's data, then a live account's into the same file: the event log would keep
    # the sandbox's old days among the account's.
    sources = iter(["the local sandbox (test mode)", "api.stripe.com (live mode)",
                    "the local sandbox (test mode)"])

    @dg.asset(name="charges", key_prefix=["stripe"], partitions_def=DAILY,
              metadata={"partition_expr": "created"})
    def charges(context) -> StripeObjects:
        day = context.partition_key
        return StripeObjects(spool_of([charge(int(day[-2:]), ts(day, 1))]), API_VERSION,
                             source=next(sources))

    assert run(db, [charges], "2024-01-02").success
    refused = run(db, [charges], "2024-01-03", raise_on_error=False)
    assert not refused.success
    assert (f"{db} holds Stripe data loaded from the local sandbox (test mode); this load reads"
            " api.stripe.com (live mode)") in error_text(refused)
    assert "STRIPE_ASSETS_DB=data/live.duckdb" in error_text(refused)
    assert ids(db) == ["ch_000000000000000000000002"]  # nothing of the refused write
    assert run(db, [charges], "2024-01-03").success  # the same source again: written
    assert len(ids(db)) == 2


def test_partitioned_rerun_replaces_exactly_that_day_half_open(db):
    batches: dict[str, Any] = {
        "2024-01-01": [charge(1, ts("2024-01-01", 23, 59, 59))],
        "2024-01-02": [charge(2, ts("2024-01-02")), charge(3, ts("2024-01-02", 23, 59, 59))],
        "2024-01-03": [charge(4, ts("2024-01-03"))],  # midnight belongs to the new day
    }
    asset = charges_asset(OURS, batches)
    for day in batches:
        run(db, [asset], day)

    batches["2024-01-02"] = [charge(5, ts("2024-01-02", 12))]
    run(db, [asset], "2024-01-02")
    run(db, [asset], "2024-01-02")  # idempotent

    assert ids(db) == [f"ch_{i:024d}" for i in (1, 4, 5)]


def test_backfill_of_a_range_is_one_run_that_replaces_every_day_of_the_window(db):
    batches: dict[str, Any] = {
        day: [charge(i, ts(day, 6))] for i, day in enumerate(["2024-01-01", "2024-01-02",
                                                               "2024-01-03", "2024-01-04",
                                                               "2024-01-05"])
    }  # fmt: skip
    asset = charges_asset(OURS, batches)
    for day in batches:
        run(db, [asset], day)

    batches["2024-01-02"] = [charge(10, ts("2024-01-02", 1))]
    batches["2024-01-03"] = []
    batches["2024-01-04"] = [charge(11, ts("2024-01-04", 23)), charge(12, ts("2024-01-04", 0))]
    result = run(
        db,
        [asset],
        tags={
            "dagster/asset_partition_range_start": "2024-01-02",
            "dagster/asset_partition_range_end": "2024-01-04",
        },
    )

    assert ids(db) == [f"ch_{i:024d}" for i in (0, 4, 10, 11, 12)]
    materializations = result.asset_materializations_for_node("stripe__charges")
    counts = {
        m.partition: m.metadata["dagster/partition_row_count"].value for m in materializations
    }
    assert counts == {"2024-01-02": 1, "2024-01-03": 0, "2024-01-04": 2}  # each its own day's
    # The table's schema and preview, and the run's rows_written (3: not each day's), once, on
    # the newest day (the UI's latest materialization).
    newest = materializations[-1]
    assert newest.partition == "2024-01-04"
    assert {"dagster/column_schema", "preview", "rows_written"} <= set(newest.metadata)
    assert newest.metadata["rows_written"].value == 3
    assert not any({"dagster/column_schema", "preview", "rows_written"} & set(m.metadata)
                   for m in materializations[:-1])
    assert "2024-01-05 00:00:00+00:00" in metadata(result)["Query"]


def test_rows_outside_the_partition_fail_the_write_and_keep_the_table(db):
    batches: dict[str, Any] = {"2024-01-02": [charge(1, ts("2024-01-02", 1))]}
    asset = charges_asset(OURS, batches)
    run(db, [asset], "2024-01-02")

    batches["2024-01-02"] = [charge(2, ts("2024-01-02", 2)), charge(3, ts("2024-01-03", 2))]
    result = run(db, [asset], "2024-01-02", raise_on_error=False)

    assert not result.success
    assert "1 of the 2 objects written to stripe.charges are outside" in error_text(result)
    assert ids(db) == ["ch_000000000000000000000001"]


def test_object_without_id_fails_naming_the_table_and_keeps_the_rows(db):
    batches: dict[str, Any] = {"2024-01-02": [charge(1, ts("2024-01-02", 1))]}
    asset = charges_asset(OURS, batches)
    run(db, [asset], "2024-01-02")

    no_id = {"created": ts("2024-01-02", 3), "amount": 1}
    batches["2024-01-02"] = [charge(2, ts("2024-01-02", 2)), no_id, dict(no_id)]
    result = run(db, [asset], "2024-01-02", raise_on_error=False)

    assert not result.success
    assert "2 of the 3 Stripe objects for stripe.charges have no string `id`" in error_text(result)
    assert ids(db) == ["ch_000000000000000000000001"]


def test_a_write_failing_after_its_schema_change_rolls_the_schema_back(db):
    # The write adds `brand_new` and retypes `amount` (BIGINT -> DOUBLE) before its INSERT; the
    # row outside the partition then fails it in _verify, after both changes were made.
    batches: dict[str, Any] = {"2024-01-02": [charge(1, ts("2024-01-02", 1))]}
    asset = charges_asset(OURS, batches)
    run(db, [asset], "2024-01-02")
    before = column_types(db, "stripe.charges")

    batches["2024-01-02"] = [charge(2, ts("2024-01-02", 2), brand_new="x", amount=1.5),
                             charge(3, ts("2024-01-03", 2))]
    result = run(db, [asset], "2024-01-02", raise_on_error=False)

    assert not result.success
    assert "outside the partition" in error_text(result)
    assert column_types(db, "stripe.charges") == before
    assert before["amount"] == "BIGINT" and "brand_new" not in before
    assert ids(db) == ["ch_000000000000000000000001"]


def test_number_fields_differing_only_in_case_fail_naming_both_and_keep_the_table(db):
    batches: dict[str, Any] = {"2024-01-02": [charge(1, ts("2024-01-02", 1))]}
    asset = charges_asset(OURS, batches)
    run(db, [asset], "2024-01-02")

    batches["2024-01-02"] = [charge(2, ts("2024-01-02", 2), Amount=5)]
    result = run(db, [asset], "2024-01-02", raise_on_error=False)

    assert not result.success
    assert "fields 'amount' and 'Amount', which differ only in case" in error_text(result)
    assert ids(db) == ["ch_000000000000000000000001"]


def test_spool_is_deleted_after_a_successful_and_after_a_failed_write(db):
    spools: list[ObjectSpool] = []

    def keep(spool: ObjectSpool) -> StripeObjects:
        spools.append(spool)
        return StripeObjects(spool, API_VERSION)

    good = spool_of([charge(1, ts("2024-01-02", 1))])
    bad = spool_of([charge(2, ts("2024-01-02", 1))])
    bad.add_page_body(b"{not json", 1)
    batches: dict[str, Any] = {"2024-01-02": lambda: keep(good)}
    asset = charges_asset(OURS, batches)
    run(db, [asset], "2024-01-02")
    batches["2024-01-02"] = lambda: keep(bad)
    result = run(db, [asset], "2024-01-02", raise_on_error=False)

    assert not result.success
    assert "Could not read the spooled Stripe pages for stripe.charges" in error_text(result)
    assert [s.path.exists() for s in spools] == [False, False]


def test_spool_holding_fewer_objects_than_recorded_fails_clearly(db):
    spool = spool_of([charge(1, ts("2024-01-02", 1))])
    error_body = b'{"error": {"type": "api_error", "message": "boom"}}'
    spool.add_page_body(error_body, 3)
    asset = charges_asset(OURS, {"2024-01-02": lambda: StripeObjects(spool, API_VERSION)})

    result = run(db, [asset], "2024-01-02", raise_on_error=False)

    assert "recorded 4 objects but its pages hold 1" in error_text(result)


def test_api_version_loaded_at_and_extra_columns_are_written(db):
    objects = [charge(1, ts("2024-01-02", 1)), charge(2, ts("2024-01-02", 2))]
    extra = {"account": "acct_1", "batch": 7, "sandbox": False, "origin": {"run": "r1"}}
    asset = charges_asset(OURS, {"2024-01-02": lambda: stripe_objects(objects, **extra)})
    run(db, [asset], "2024-01-02")

    rows = query(
        db,
        "SELECT DISTINCT _stripe_api_version, _loaded_at, account, batch, sandbox, origin"
        " FROM stripe.charges",
    )
    assert len(rows) == 1  # one _loaded_at for the whole write
    version, loaded_at, *rest = rows[0]
    assert (version, rest) == (API_VERSION, ["acct_1", 7, False, '{"run": "r1"}'])
    assert loaded_at.tzinfo is not None
    types = column_types(db, "stripe.charges")
    assert (types["batch"], types["sandbox"], types["origin"]) == ("BIGINT", "BOOLEAN", "JSON")


def test_a_merging_write_counts_the_rows_its_partition_keeps_not_only_those_it_wrote(db):
    # events merge by id: re-listing a day Stripe no longer serves keeps the stored rows.
    batches = {"2024-01-02": [[charge(1, ts("2024-01-02", 1)), charge(2, ts("2024-01-02", 2))],
                              []]}

    @dg.asset(name="charges", key_prefix=["stripe"], partitions_def=DAILY,
              metadata={"partition_expr": "created", MERGE_BY_ID: True})
    def merging(context) -> StripeObjects:
        return stripe_objects(batches[context.partition_key].pop(0))

    first = metadata(run(db, [merging], "2024-01-02"))
    second = metadata(run(db, [merging], "2024-01-02"))
    assert (first["rows_written"], first["dagster/partition_row_count"]) == (2, 2)
    assert second["rows_written"] == 0
    assert (second["dagster/row_count"], second["dagster/partition_row_count"]) == (2, 2)


def test_metadata_shows_counts_real_schema_descriptions_and_a_preview_newest_first(db):
    batches: dict[str, Any] = {
        "2024-01-02": [charge(i, ts("2024-01-02", i)) for i in range(8)],
        "2024-01-03": [charge(9, ts("2024-01-03", 1), risk_flag=True)],
    }
    asset = charges_asset(OURS, batches)
    first = metadata(run(db, [asset], "2024-01-02"))
    second = metadata(run(db, [asset], "2024-01-03"))

    assert (first["dagster/row_count"], first["dagster/partition_row_count"]) == (8, 8)
    assert first["rows_written"] == 8 and "columns_added" not in first
    assert (second["dagster/row_count"], second["dagster/partition_row_count"]) == (9, 1)
    assert second["columns_added"] == ["risk_flag"]
    schema = {c.name: c for c in second["dagster/column_schema"].columns}
    assert schema.keys() == column_types(db, "stripe.charges").keys()
    assert (schema["amount"].type, schema["payment_method_details"].type) == ("BIGINT", "JSON")
    assert "minor unit" in (schema["amount"].description or "")
    assert schema["_loaded_at"].description and schema["_stripe_api_version"].description
    preview = first["preview"].splitlines()
    assert preview[0] == "| id | created | amount | currency | status | customer |"
    assert len(preview) == 2 + 5
    # Newest first, as Stripe lists them (the table's rows have no order of their own).
    shown = [line.split(" | ")[0].removeprefix("| ") for line in preview[2:]]
    assert shown == [charge(i, 0)["id"] for i in (7, 6, 5, 4, 3)]
    assert "payment_method_details" not in first["preview"]
    assert first["dagster/table_name"] == "stripe.charges"
    assert not any(db in str(value) for value in [*first.values(), *second.values()])


def test_sql_table_is_built_in_place_and_rebuilt_with_its_new_columns(db):
    objects = [charge(i, ts("2024-01-02", i), currency=c) for i, c in enumerate("aab")]
    raw = charges_asset(OURS, {"2024-01-02": objects})
    sql = {"text": "SELECT currency, count(*) AS charges FROM stripe.charges GROUP BY ALL"}

    @dg.asset(key=["analytics", "by_currency"], deps=[raw])
    def by_currency() -> SqlTable:
        return SqlTable(sql["text"] + " ORDER BY currency;")

    run(db, [raw], "2024-01-02")
    first = metadata(run(db, [raw, by_currency], selection=[by_currency]), "analytics__by_currency")
    sql["text"] = "SELECT currency, sum(amount) AS amount FROM stripe.charges GROUP BY ALL"
    second = metadata(
        run(db, [raw, by_currency], selection=[by_currency]), "analytics__by_currency"
    )

    assert query(db, "SELECT * FROM analytics.by_currency ORDER BY currency") == [
        ("a", sum(charge(i, 0)["amount"] for i in (0, 1))),
        ("b", charge(2, 0)["amount"]),
    ]
    assert first["dagster/row_count"] == 2
    assert first["preview"].splitlines()[:3] == ["| currency | charges |", "|---|---|", "| a | 2 |"]
    assert (second["columns_added"], second["columns_removed"]) == (["amount"], ["charges"])
    assert [c.name for c in second["dagster/column_schema"].columns] == ["currency", "amount"]


def test_database_file_named_like_a_schema_still_resolves_stripe_tables(tmp_path):
    db = str(tmp_path / "stripe.duckdb")  # the project's default name: catalog "stripe"
    raw = charges_asset(OURS, {"2024-01-02": [charge(1, ts("2024-01-02", 1))]})

    @dg.asset(key=["analytics", "amounts"], deps=[raw])
    def amounts() -> SqlTable:
        return SqlTable("SELECT id, amount FROM stripe.charges")

    run(db, [raw], "2024-01-02")
    run(db, [raw, amounts], selection=[amounts])

    assert query(db, "SELECT id FROM stripe.analytics.amounts") == [(charge(1, 0)["id"],)]


def test_dataframe_input_loads_the_partition_half_open_with_the_requested_columns(db):
    batches = {
        "2024-01-02": [charge(1, ts("2024-01-02")), charge(2, ts("2024-01-02", 23, 59, 59))],
        "2024-01-03": [charge(3, ts("2024-01-03"))],
    }
    raw = charges_asset(OURS, batches)
    seen: dict[str, pd.DataFrame] = {}

    @dg.asset(
        partitions_def=DAILY,
        metadata={"partition_expr": "created"},
        ins={"charges": dg.AssetIn(key=["stripe", "charges"], metadata={"columns": ["id",
                                                                                   "created"]})},
    )  # fmt: skip
    def day_ids(charges: pd.DataFrame) -> pd.DataFrame:
        seen["day"] = charges
        return charges

    @dg.asset(deps=[], ins={"charges": dg.AssetIn(key=["stripe", "charges"])})
    def everything(charges) -> SqlTable:
        seen["all"] = charges
        return SqlTable("SELECT 1 AS one")

    for day in batches:
        run(db, [raw], day)
    run(db, [raw, day_ids], "2024-01-02", selection=[day_ids])
    run(db, [raw, everything], selection=[everything])

    one_day = seen["day"]
    assert list(one_day.columns) == ["id", "created"]
    assert sorted(one_day["id"]) == [charge(1, 0)["id"], charge(2, 0)["id"]]
    assert str(one_day["created"].dt.tz) == "UTC"
    assert len(seen["all"]) == 3 and "payment_method_details" in seen["all"]
    assert query(db, "SELECT count(*) FROM public.day_ids") == [(2,)]


def test_dataframe_outputs_use_the_same_by_name_schema_evolution(db):
    frames = {
        "2024-01-02": pd.DataFrame(
            {"created": pd.to_datetime([ts("2024-01-02", 1)], unit="s", utc=True),
             "n": [1], "tags": [{"a": [1, 2]}]}
        ),
        "2024-01-03": pd.DataFrame(
            {"extra": ["new"], "n": [2.5],
             "created": pd.to_datetime([ts("2024-01-03", 1)], unit="s", utc=True)}
        ),
    }  # fmt: skip

    @dg.asset(partitions_def=DAILY, metadata={"partition_expr": "created"})
    def user_table(context) -> pd.DataFrame:
        return frames[context.partition_key]

    run(db, [user_table], "2024-01-02")
    result = run(db, [user_table], "2024-01-03")

    rows = query(db, "SELECT n, tags, extra FROM public.user_table ORDER BY n")
    assert rows == [(1.0, '{"a": [1, 2]}', None), (2.5, None, "new")]
    assert column_types(db, "public.user_table")["tags"] == "JSON"
    assert metadata(result, "user_table")["columns_retyped"] == {"n": "BIGINT -> DOUBLE"}
    assert json.loads(rows[0][1]) == {"a": [1, 2]}


def test_pretty_printed_and_compact_pages_are_both_read(db):
    spool = ObjectSpool(prefix="test")
    spool.add_objects([charge(1, ts("2024-01-02", 1))])
    spool.add_page_body(page_body([charge(2, ts("2024-01-02", 2))], pretty=True), 1)
    spool.add_page_body(page_body([charge(3, ts("2024-01-02", 3))], pretty=False), 1)
    spool.add_page_body(page_body([], pretty=True), 0)
    asset = charges_asset(OURS, {"2024-01-02": lambda: StripeObjects(spool, API_VERSION)})

    run(db, [asset], "2024-01-02")

    assert ids(db) == [charge(i, 0)["id"] for i in (1, 2, 3)]


def test_columns_follow_stripes_field_order_even_when_the_spool_starts_with_an_empty_page(db):
    # Concurrent windows spool in the order they finish: an empty window often comes first.
    spool = ObjectSpool(prefix="test")
    spool.add_page_body(page_body([]), 0)
    spool.add_page_body(page_body([charge(i, ts("2024-01-02", i)) for i in range(3)]), 3)
    asset = charges_asset(OURS, {"2024-01-02": lambda: StripeObjects(spool, API_VERSION)})

    run(db, [asset], "2024-01-02")

    assert list(column_types(db, "stripe.charges"))[:3] == ["id", "object", "amount"]
