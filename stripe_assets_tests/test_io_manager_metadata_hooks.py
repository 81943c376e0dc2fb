"""What an asset can add to the metadata the IO manager reports: a summary of a SqlTable's result,
and descriptions of its own columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.metadata import TableMetadataSet

from stripe_assets.io_manager import SqlTable, StripeDuckDBIOManager

from .io_support import OURS, charge, charges_asset, ts

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def run(db: Path, assets: list, **options: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets, resources={"io_manager": StripeDuckDBIOManager(database=str(db))}, **options
    )


def metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, Any]:
    materialization = result.asset_materializations_for_node(node)[0]
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


def test_sql_table_summary_reads_the_built_table_and_adds_its_metadata(tmp_path):
    raw = charges_asset(OURS, {"2024-01-02": [charge(i, ts("2024-01-02", i)) for i in range(3)]})
    seen: list[str] = []

    def summarize(connection, table: str) -> dict[str, Any]:
        seen.append(table)
        (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
        return {"charges_counted": count, "note": dg.MetadataValue.md("**3 charges**")}

    @dg.asset(key=["analytics", "counted"], deps=[raw])
    def counted() -> SqlTable:
        return SqlTable("SELECT id FROM stripe.charges", summarize=summarize)

    run(tmp_path / "w.duckdb", [raw], partition_key="2024-01-02")
    result = run(tmp_path / "w.duckdb", [raw, counted], selection=[counted])

    meta = metadata(result, "analytics__counted")
    assert (meta["charges_counted"], meta["note"]) == (3, "**3 charges**")
    assert meta["dagster/row_count"] == 3  # the IO manager's own metadata is still there
    assert seen == ['"stripe_assets"."analytics"."counted"']  # resolves whatever the file


def test_columns_are_described_as_the_asset_declares_them_before_the_generic_table(tmp_path):
    schema = dg.TableSchema(columns=[
        dg.TableColumn("id", "VARCHAR", description="The charge this row counts."),
        dg.TableColumn("doubled", "BIGINT", description="Twice the amount."),
    ])
    raw = charges_asset(OURS, {"2024-01-02": [charge(1, ts("2024-01-02"))]})

    @dg.asset(key=["analytics", "doubled"], deps=[raw],
              metadata=dict(TableMetadataSet(column_schema=schema)))
    def doubled() -> SqlTable:
        return SqlTable("SELECT id, amount * 2 AS doubled, currency FROM stripe.charges")

    run(tmp_path / "w.duckdb", [raw], partition_key="2024-01-02")
    meta = metadata(run(tmp_path / "w.duckdb", [raw, doubled], selection=[doubled]),
                    "analytics__doubled")

    columns = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert columns["id"].description == "The charge this row counts."
    assert (columns["doubled"].type, columns["doubled"].description) == (
        "BIGINT", "Twice the amount.")
    # Not declared by the asset: the generic description of a Stripe column.
    assert columns["currency"].description == "Three-letter ISO currency code, lower case."
