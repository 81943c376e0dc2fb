"""Small SQL-text helpers shared by the DuckDB client and the type handlers.

Everything that ends up inside SQL text goes through here: identifiers are always quoted (Stripe
field names may contain any character), string literals are escaped, and partition boundaries are
written as explicit UTC ``TIMESTAMPTZ`` literals so that no comparison depends on the session's or
the machine's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from dagster import TimeWindow
from dagster._core.storage.db_io_manager import (
    TablePartitionDimension,
    TableSlice,
    static_where_clause,
)

_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier: double-quoted, embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def current_catalog(connection) -> str:
    """The catalog (DuckDB's name for the attached database file) a connection works in."""
    return str(connection.execute("SELECT current_database()").fetchall()[0][0])


def table_name(table_slice: TableSlice, catalog: str | None) -> str:
    """``"catalog"."schema"."table"``, quoted.

    With the catalog whenever known: a bare ``stripe.charges`` is an "ambiguous reference to
    catalog or schema" in a connection whose catalog is also called ``stripe`` (a file named
    ``stripe.duckdb`` opened directly).
    """
    name = f"{quote_ident(table_slice.schema)}.{quote_ident(table_slice.table)}"
    return f"{quote_ident(catalog)}.{name}" if catalog else name


def utc_timestamp_literal(moment: datetime) -> str:
    """``TIMESTAMPTZ '2024-01-02 00:00:00+00:00'``: an instant that means the same in every zone.

    A naive datetime is taken to be UTC (Dagster's time windows are always aware).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat(sep=' ')}'"


def plain_column(partition_expr: str) -> str | None:
    """The column name if ``partition_expr`` is just a column (``created`` or ``"created"``)."""
    expr = partition_expr.strip()
    if _PLAIN_IDENTIFIER.fullmatch(expr):
        return expr
    if len(expr) >= 2 and expr[0] == expr[-1] == '"' and '"' not in expr[1:-1].replace('""', ""):
        return expr[1:-1].replace('""', '"')
    return None


def _dimension_predicate(dimension: TablePartitionDimension) -> str:
    if isinstance(dimension.partitions, TimeWindow):
        start, end = dimension.partitions
        # Half-open [start, end): a row created exactly at midnight belongs to the new day.
        return (
            f"({dimension.partition_expr} >= {utc_timestamp_literal(start)}"
            f" AND {dimension.partition_expr} < {utc_timestamp_literal(end)})"
        )
    if not dimension.partitions:
        return "FALSE"
    return f"({static_where_clause(dimension)})"


def partition_predicate(table_slice: TableSlice) -> str | None:
    """The WHERE condition selecting a slice's partitions, or None for a whole table."""
    dimensions: Sequence[TablePartitionDimension] = table_slice.partition_dimensions or []
    if not dimensions:
        return None
    return " AND ".join(_dimension_predicate(d) for d in dimensions)


def time_partition_column(table_slice: TableSlice) -> str | None:
    """The column a time-partitioned slice is partitioned on, when it is a plain column."""
    for dimension in table_slice.partition_dimensions or []:
        if isinstance(dimension.partitions, TimeWindow):
            return plain_column(dimension.partition_expr)
    return None


def select_statement(table_slice: TableSlice, catalog: str | None) -> str:
    """The SELECT that loads a slice (also shown as the "Query" metadata in the UI)."""
    columns = ", ".join(quote_ident(c) for c in table_slice.columns) if table_slice.columns else "*"
    query = f"SELECT {columns} FROM {table_name(table_slice, catalog)}"
    predicate = partition_predicate(table_slice)
    return f"{query} WHERE {predicate}" if predicate else query
