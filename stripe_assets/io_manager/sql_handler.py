"""``SqlTable`` outputs: DuckDB runs the asset's SELECT to (re)build its table in place.

Unpartitioned: ``CREATE OR REPLACE TABLE <table> AS <sql>`` -- the table is exactly the query's
result, columns included. Partitioned: the result replaces the slice by column name, with the same
schema evolution as other outputs. Either way inside the write's single transaction.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

import duckdb
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice

from .metadata import (
    PREVIEW_ROWS,
    WriteReport,
    output_metadata,
    preview_columns,
)
from .missing_table import MissingInputTableError, database_label
from .relation import write_relation
from .schema import Evolution, table_columns
from .spool import SqlTable
from .sql import current_catalog, quote_ident, table_name

# DuckDB's message when a query names a table the file does not have.
_MISSING_TABLE = re.compile(r'Table with name (?P<name>"[^"]+"|\S+?)!? does not exist')


class SqlTableError(ValueError):
    """The asset's SELECT is empty or fails in DuckDB; the message names the table."""


def _query(sql_table: SqlTable, where: str) -> str:
    sql = sql_table.sql.strip()
    while sql.endswith(";"):
        sql = sql[:-1].rstrip()
    if not sql:
        raise SqlTableError(
            f"The SqlTable for {where} is empty: its sql must be a SELECT (or WITH ... SELECT)."
        )
    return sql


def build_table(connection, table_slice: TableSlice, sql_table: SqlTable) -> WriteReport:
    """Run the SELECT into the table (or slice); returns what happened, for metadata."""
    query = _query(sql_table, f"{table_slice.schema}.{table_slice.table}")
    if table_slice.partition_dimensions:
        staged = f"_stripe_sql_{uuid4().hex}"
        connection.execute(f"CREATE TEMP TABLE {staged} AS {query}").fetchall()
        try:
            return write_relation(connection, table_slice, f"temp.{staged}", what="The SQL result")
        finally:
            # If the transaction failed this fails too; its rollback drops the table anyway.
            with contextlib.suppress(duckdb.Error):
                connection.execute(f"DROP TABLE IF EXISTS temp.{staged}").fetchall()

    before = table_columns(connection, table_slice.schema, table_slice.table)
    target = table_name(table_slice, current_catalog(connection))
    connection.execute(f"CREATE OR REPLACE TABLE {target} AS {query}").fetchall()
    after = table_columns(connection, table_slice.schema, table_slice.table) or []
    old = {name.lower(): (name, data_type) for name, data_type in before or []}
    new = {name.lower() for name, _ in after}
    evolution = Evolution(
        created=before is None,
        final_types=dict(after),
        added=[name for name, _ in after if name.lower() not in old],
        retyped={
            name: f"{old[name.lower()][1]} -> {data_type}"
            for name, data_type in after
            if name.lower() in old and old[name.lower()][1] != data_type
        },
    )
    row = connection.execute(f"SELECT count(*) FROM {target}").fetchall()[0]
    chosen = preview_columns(after)
    preview = connection.execute(
        f"SELECT {', '.join(quote_ident(c) for c in chosen)} FROM {target} LIMIT {PREVIEW_ROWS}"
    ).fetchall()
    return WriteReport(
        row[0] if row else 0,
        evolution,
        chosen,
        preview,
        removed_columns=[name for name, _ in old.values() if name.lower() not in new],
    )


class SqlTableTypeHandler(DbTypeHandler[SqlTable]):
    """Builds derived tables from a SELECT, inside DuckDB (no data passes through Python)."""

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: SqlTable, connection
    ) -> Mapping[str, Any]:
        try:
            report = build_table(connection, table_slice, obj)
        except duckdb.Error as error:
            where = f"{table_slice.schema}.{table_slice.table}"
            missing = _MISSING_TABLE.search(str(error))
            if isinstance(error, duckdb.CatalogException) and missing is not None:
                database = database_label(context)
                table = missing["name"].strip('"')
                raise MissingInputTableError(
                    f"{where} is built from a table {database} does not hold yet ({table}):"
                    " materialize its upstream assets first (in the UI, select it with them;"
                    " with stripe-assets load, add them to --select, or load without --select)."
                    f" DuckDB said: {str(error).splitlines()[0]}"
                ) from error
            raise SqlTableError(
                f"The SELECT of {where} failed, so the table was left as it was: fix the"
                f" asset's SqlTable sql. DuckDB said: {error}"
            ) from error
        context.log.info(
            f"Built {table_slice.schema}.{table_slice.table}: {report.rows_written} rows"
        )
        metadata = output_metadata(context, connection, table_slice, report)
        if obj.summarize is not None:
            target = table_name(table_slice, current_catalog(connection))
            metadata.update(obj.summarize(connection, target))
        return metadata

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> Any:
        raise TypeError(
            f"{table_slice.schema}.{table_slice.table} cannot be loaded as SqlTable: annotate the"
            " input as pd.DataFrame (or leave it unannotated)."
        )

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [SqlTable]
