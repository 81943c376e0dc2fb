"""StripeDuckDBIOManager writes that fail over an existing table: the run fails with the product's
message, and the table keeps its rows and column types (the slice delete, schema changes and any
rebuild run in the write's one transaction, which rolls back)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from stripe_assets.io_manager import SqlTable, StripeObjects

from .io_support import (
    OURS,
    STOCK,
    charge,
    charges_asset,
    column_types,
    error_text,
    frame,
    query,
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

DAY, NEXT_DAY = "2024-01-02", "2024-01-03"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


def table_state(db: str, table: str) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    """Every row (in a stable order) and every column's type."""
    return query(db, f"SELECT * FROM {table} ORDER BY ALL"), column_types(db, table)


def two_days_of_charges(db: str, flavor: str) -> tuple[dict[str, Any], dg.AssetsDefinition]:
    """stripe.charges holding charges 1 and 2 on DAY and 3 on NEXT_DAY; the batches to change."""
    batches: dict[str, Any] = {
        DAY: [charge(1, ts(DAY, 1)), charge(2, ts(DAY, 2))],
        NEXT_DAY: [charge(3, ts(NEXT_DAY, 1))],
    }
    asset = charges_asset(flavor, batches)
    assert run(db, [asset], DAY).success
    assert run(db, [asset], NEXT_DAY).success
    assert ids(db) == [f"ch_{i:024d}" for i in (1, 2, 3)]
    return batches, asset


# --- 1. SqlTable: a failing CREATE OR REPLACE ---------------------------------------------


def test_a_sql_table_whose_rebuild_fails_fails_the_run_and_keeps_the_previous_table(db):
    sql = {"text": "SELECT 1 AS n, 'kept' AS label"}

    @dg.asset(key=["analytics", "numbers"])
    def numbers() -> SqlTable:
        return SqlTable(sql["text"])

    assert run(db, [numbers]).success
    before = table_state(db, "analytics.numbers")
    assert before == ([(1, "kept")], {"n": "INTEGER", "label": "VARCHAR"})

    # Would retype both columns and add one, were the rebuild not atomic.
    sql["text"] = "SELECT CAST('abc' AS INTEGER) AS n, 1.5 AS label, 'x' AS added"
    result = run(db, [numbers], raise_on_error=False)

    assert not result.success
    text = error_text(result)
    assert "The SELECT of analytics.numbers failed, so the table was left as it was: fix the" \
        " asset's SqlTable sql." in text
    assert "Could not convert string 'abc' to INT32" in text
    assert table_state(db, "analytics.numbers") == before


# --- 2. Partitioned DataFrames failing after the slice was deleted ------------------------


def test_a_dataframe_without_the_partition_column_fails_naming_it_and_keeps_the_partition(db):
    batches, asset = two_days_of_charges(db, STOCK)
    before = table_state(db, "stripe.charges")
    assert before[1]["amount"] == "BIGINT" and "brand_new" not in before[1]

    # Would add `brand_new` and retype `amount` to DOUBLE, were the schema changes kept.
    no_created = frame([charge(4, ts(DAY, 4), amount=1.5, brand_new="x")]).drop(columns="created")
    batches[DAY] = lambda: no_created
    result = run(db, [asset], DAY, raise_on_error=False)

    assert not result.success
    assert (
        "The DataFrame for stripe.charges has no column 'created', the partition_expr of this"
        " partitioned asset: every row needs it to land in its partition."
    ) in error_text(result)
    assert table_state(db, "stripe.charges") == before


def test_a_dataframe_with_a_row_outside_its_partition_fails_and_keeps_the_partition(db):
    batches, asset = two_days_of_charges(db, STOCK)
    before = table_state(db, "stripe.charges")
    assert before[1]["amount"] == "BIGINT" and "brand_new" not in before[1]

    batches[DAY] = lambda: frame(
        [charge(4, ts(DAY, 4), amount=1.5, brand_new="x"), charge(5, ts(NEXT_DAY, 4))]
    )
    result = run(db, [asset], DAY, raise_on_error=False)

    assert not result.success
    text = error_text(result)
    assert "1 of the 2 rows of the dataframe for stripe.charges are outside the partition" in text
    assert "A re-run of this partition would not replace them, so they would be duplicated:" \
        " return only the partition's rows" in text
    assert table_state(db, "stripe.charges") == before


# --- 3. Outputs the IO manager refuses, saying what to do ---------------------------------


REFUSED_OUTPUTS: list[Any] = [
    pytest.param(
        lambda: stripe_objects([charge(4, ts(DAY, 4), _loaded_at="2024-01-02T00:00:00Z")]),
        "The Stripe objects for stripe.charges have fields named ['_loaded_at'], which this IO"
        " manager adds itself (or the asset's extra_columns add): rename that key of"
        " extra_columns, or leave the field out of the objects (or rename it) before spooling"
        " them.",
        id="stripe_field_named_like_a_reserved_column",
    ),
    pytest.param(
        lambda: stripe_objects([charge(4, ts(DAY, 4))], batch={1}),
        "extra_columns['batch'] of stripe.charges: extra_columns value {1} of type set is not"
        " supported: use None, bool, int, float, str, datetime, date, or a JSON-serialisable"
        " dict or list.",
        id="unsupported_extra_columns_value",
    ),
    pytest.param(
        lambda: stripe_objects([charge(4, ts(DAY, 4))], **{"": "x"}),
        "extra_columns of stripe.charges has a field with an empty name, which DuckDB cannot"
        " store: give it a name, or leave it out.",
        id="empty_extra_column_name",
    ),
    pytest.param(
        lambda: stripe_objects([charge(4, ts(DAY, 4), **{"": 7})]),
        "The Stripe objects for stripe.charges has a field with an empty name, which DuckDB"
        " cannot store: give it a name, or leave it out.",
        id="stripe_field_with_an_empty_name",
    ),
    pytest.param(
        lambda: frame([charge(4, ts(DAY, 4))]).rename(columns={"amount": ""}),
        "The DataFrame for stripe.charges has a field with an empty name, which DuckDB cannot"
        " store: give it a name, or leave it out.",
        id="dataframe_column_with_an_empty_name",
    ),
    pytest.param(
        lambda: frame([charge(4, ts(DAY, 4))])[["id", "created", "amount", "amount"]],
        "The DataFrame for stripe.charges has duplicate columns ['amount']: keep one of each,",
        id="dataframe_with_duplicate_columns",
    ),
    pytest.param(
        lambda: pd.DataFrame(index=range(2)),
        "The DataFrame for stripe.charges has 2 rows but no columns: give it the columns its"
        " rows have.",
        id="dataframe_with_rows_but_no_columns",
    ),
    pytest.param(
        lambda: SqlTable(" ;\n ; "),
        "The SqlTable for stripe.charges is empty: its sql must be a SELECT (or WITH ..."
        " SELECT).",
        id="empty_sql_table",
    ),
]


@pytest.mark.parametrize(("output", "message"), REFUSED_OUTPUTS)
def test_an_output_the_io_manager_refuses_fails_with_its_message_and_keeps_the_partition(
    db, output: Callable[[], Any], message: str
):
    batches, asset = two_days_of_charges(db, OURS)
    before = table_state(db, "stripe.charges")

    batches[DAY] = output
    result = run(db, [asset], DAY, raise_on_error=False)

    assert not result.success
    assert message in error_text(result)
    assert table_state(db, "stripe.charges") == before


# --- 4. Inputs that cannot be loaded as the type they are annotated with -------------------


def stripe_objects_reader() -> dg.AssetsDefinition:
    @dg.asset(key=["analytics", "reader"], ins={"charges": dg.AssetIn(["stripe", "charges"])})
    def reader(charges: StripeObjects) -> SqlTable:
        return SqlTable("SELECT 1 AS n")

    return reader


def sql_table_reader() -> dg.AssetsDefinition:
    @dg.asset(key=["analytics", "reader"], ins={"charges": dg.AssetIn(["stripe", "charges"])})
    def reader(charges: SqlTable) -> SqlTable:
        return SqlTable("SELECT 1 AS n")

    return reader


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        pytest.param(
            stripe_objects_reader,
            "stripe.charges cannot be loaded as StripeObjects: annotate the input as"
            " pd.DataFrame (or leave it unannotated), or query DuckDB directly.",
            id="StripeObjects",
        ),
        pytest.param(
            sql_table_reader,
            "stripe.charges cannot be loaded as SqlTable: annotate the input as pd.DataFrame"
            " (or leave it unannotated).",
            id="SqlTable",
        ),
    ],
)
def test_an_input_annotated_as_an_output_only_type_fails_telling_to_annotate_it_as_a_dataframe(
    db, reader: Callable[[], dg.AssetsDefinition], message: str
):
    _, asset = two_days_of_charges(db, OURS)
    downstream = reader()

    result = run(db, [asset, downstream], selection=[downstream], raise_on_error=False)

    assert not result.success
    assert message in error_text(result)
