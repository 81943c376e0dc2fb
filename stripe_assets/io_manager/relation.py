"""Writing an in-DuckDB relation (a registered DataFrame, a staged query result) by column name.

The same schema-evolving path as Stripe objects: new columns are added, absent ones are NULL,
NULL-only columns take the first real type, conflicts widen (``type_mapping.MERGE_RULES``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from dagster._core.storage.db_io_manager import TableSlice

from .metadata import PREVIEW_ROWS, WriteReport, preview_columns
from .schema import BatchColumn, check_column_names, evolve_table
from .sql import (
    current_catalog,
    partition_predicate,
    quote_ident,
    table_name,
    time_partition_column,
)
from .type_mapping import (
    DOUBLE_EXACT_INT,
    JSON,
    TIMESTAMPTZ,
    VARCHAR,
    FieldType,
    canonical_type,
    convert_sql,
    is_nested_type,
)


class RelationWriteError(ValueError):
    """The output cannot be written to its table as it is; the message says why."""


def write_relation(
    connection,
    table_slice: TableSlice,
    source: str,
    *,
    json_columns: Collection[str] = (),
    what: str = "The output",
) -> WriteReport:
    """Insert every row of ``source`` (a table or view name) into the slice, by column name.

    ``json_columns`` are VARCHAR columns holding JSON text, stored as JSON.
    """
    where = f"{table_slice.schema}.{table_slice.table}"
    described = connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    names = [row[0] for row in described]
    check_column_names(names, f"{what} for {where}")
    counts_sql = ", ".join(f"count({quote_ident(name)})" for name in names)
    row = connection.execute(
        f"SELECT count(*){', ' if names else ''}{counts_sql} FROM {source}"
    ).fetchall()[0]
    rows, non_null = row[0], row[1:]

    source_types: dict[str, str] = {}
    batch: list[BatchColumn] = []
    for (name, duckdb_type, *_), present in zip(described, non_null, strict=True):
        source_type = canonical_type(duckdb_type)
        if name in json_columns:
            source_type = JSON
        source_types[name] = source_type
        if source_type == "NULL":
            batch_type = VARCHAR
        elif is_nested_type(source_type):
            batch_type = JSON
        else:
            batch_type = source_type
        batch.append(BatchColumn(name, FieldType(batch_type, null_only=present == 0)))

    partition_column = time_partition_column(table_slice)
    if partition_column and partition_column.lower() not in {n.lower() for n in names}:
        if rows:
            raise RelationWriteError(
                f"{what} for {where} has no column {partition_column!r}, the partition_expr of"
                " this partitioned asset: every row needs it to land in its partition."
            )
        batch.append(BatchColumn(partition_column, FieldType(TIMESTAMPTZ, null_only=True)))

    def ints_fit_double(column: BatchColumn) -> bool:
        fits = connection.execute(
            f"SELECT coalesce(max(abs(CAST({quote_ident(column.name)} AS DOUBLE)))"
            f" < {DOUBLE_EXACT_INT}, true) FROM {source}"
        ).fetchall()[0]
        return bool(fits and fits[0])

    evolution = evolve_table(
        connection,
        table_slice.schema,
        table_slice.table,
        batch,
        incoming_ints_fit_double=ints_fit_double,
    )
    columns = names
    converted = ", ".join(
        f"{convert_sql(quote_ident(name), source_types[name], evolution.final_types[name])}"
        f" AS {quote_ident(name)}"
        for name in columns
    )
    select = f"SELECT {converted} FROM {source}" if columns else None

    predicate = partition_predicate(table_slice)
    if predicate and select and rows:
        outside_row = connection.execute(
            f"SELECT count(*) FROM ({select}) WHERE NOT coalesce({predicate}, false)"
        ).fetchall()[0]
        outside = outside_row[0] if outside_row else 0
        if outside:
            raise RelationWriteError(
                f"{outside} of the {rows} rows of {what.lower()} for {where} are outside the"
                f" partition being written ({predicate}). A re-run of this partition would not"
                " replace them, so they would be duplicated: return only the partition's rows"
                " (filter on the partition's time window, context.partition_time_window)."
            )

    preview: list[tuple[Any, ...]] = []
    chosen = preview_columns([(n, evolution.final_types[n]) for n in columns])
    if select and rows:
        target = table_name(table_slice, current_catalog(connection))
        connection.execute(f"INSERT INTO {target} BY NAME {select}").fetchall()
        picked = ", ".join(quote_ident(c) for c in chosen)
        preview = connection.execute(
            f"SELECT {picked} FROM ({select}) LIMIT {PREVIEW_ROWS}"
        ).fetchall()
    return WriteReport(rows, evolution, chosen, preview)
