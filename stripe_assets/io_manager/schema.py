"""Creating and evolving a table so that a write fits it, whatever fields came and went.

Runs inside the write's transaction (DuckDB DDL is transactional): if the insert that follows
fails, added columns and widened types roll back with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .sql import current_catalog, quote_ident
from .type_mapping import (
    DOUBLE_EXACT_INT,
    VARCHAR,
    FieldType,
    canonical_type,
    convert_sql,
    is_integer_type,
    merge_types,
)


@dataclass(frozen=True)
class BatchColumn:
    """One column as a write needs it: its name and the type its values have in this write."""

    name: str
    type: FieldType


@dataclass
class Evolution:
    """What a write did to the table's schema, and the type each written column ends up with."""

    created: bool = False
    final_types: dict[str, str] = field(default_factory=dict)  # batch column name -> table type
    added: list[str] = field(default_factory=list)
    retyped: dict[str, str] = field(default_factory=dict)  # column -> "OLD -> NEW"


def table_exists(connection, schema: str, table: str) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND lower(schema_name) = lower($1) AND lower(table_name) = lower($2)",
        [schema, table],
    ).fetchall()[0]
    return bool(row and row[0])


def table_columns(connection, schema: str, table: str) -> list[tuple[str, str]] | None:
    """``[(name, type), ...]`` of an existing table in column order, or None if it is missing."""
    if not table_exists(connection, schema, table):
        return None
    rows = connection.execute(
        "SELECT column_name, data_type FROM duckdb_columns()"
        " WHERE database_name = current_database()"
        " AND lower(schema_name) = lower($1) AND lower(table_name) = lower($2)"
        " ORDER BY column_index",
        [schema, table],
    ).fetchall()
    return [(name, canonical_type(data_type)) for name, data_type in rows]


def check_column_names(names: Sequence[str], what: str) -> None:
    """DuckDB column names are case-insensitive and cannot be empty: fail clearly on both."""
    if any(name == "" for name in names):
        raise ValueError(f"{what} has a field with an empty name, which DuckDB cannot store:"
                         " give it a name, or leave it out.")
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ValueError(
                f"{what} has fields {other!r} and {name!r}, which differ only in case; DuckDB"
                " column names are case-insensitive, so they cannot be two columns: rename or"
                " leave out one of them."
            )


def evolve_table(
    connection,
    schema: str,
    table: str,
    batch: Sequence[BatchColumn],
    *,
    incoming_ints_fit_double: Callable[[BatchColumn], bool] | None = None,
) -> Evolution:
    """Create the table, or add and widen its columns, so that ``batch`` can be inserted by name.

    Must run after the slice being replaced was deleted: a column whose remaining values are all
    NULL takes the incoming type instead of being widened.
    """
    catalog = current_catalog(connection)
    qualified = f"{quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(table)}"
    existing = table_columns(connection, schema, table)
    if existing is None:
        columns = ", ".join(f"{quote_ident(c.name)} {c.type.duckdb_type}" for c in batch)
        connection.execute(f"CREATE TABLE {qualified} ({columns})").fetchall()
        return Evolution(
            created=True,
            final_types={c.name: c.type.duckdb_type for c in batch},
            added=[c.name for c in batch],
        )

    evolution = Evolution()
    by_lower = {name.lower(): (name, data_type) for name, data_type in existing}
    conflicts: list[tuple[BatchColumn, str, str]] = []
    for column in batch:
        hit = by_lower.get(column.name.lower())
        if hit is None:
            connection.execute(
                f"ALTER TABLE {qualified} ADD COLUMN {quote_ident(column.name)}"
                f" {column.type.duckdb_type}"
            ).fetchall()
            evolution.added.append(column.name)
            evolution.final_types[column.name] = column.type.duckdb_type
        elif hit[1] == column.type.duckdb_type or (
            column.type.null_only and not _named_type_over_varchar(column, hit[1])
        ):
            evolution.final_types[column.name] = hit[1]
        else:
            conflicts.append((column, hit[0], hit[1]))
    if not conflicts:
        return evolution

    # One scan for every conflicting column: does it still hold values, and would its integers
    # survive becoming DOUBLE?
    probes = []
    for _, name, data_type in conflicts:
        probes.append(f"count({quote_ident(name)})")
        if is_integer_type(data_type):
            probes.append(
                f"coalesce(max(abs(CAST({quote_ident(name)} AS DOUBLE))) < {DOUBLE_EXACT_INT},"
                " true)"
            )
        else:
            probes.append("true")
    row = connection.execute(f"SELECT {', '.join(probes)} FROM {qualified}").fetchall()[0]
    assert row is not None
    for index, (column, name, data_type) in enumerate(conflicts):
        has_values, existing_fit = row[2 * index] > 0, bool(row[2 * index + 1])
        incoming = column.type.duckdb_type
        if not has_values:
            target, using = incoming, f"CAST(NULL AS {incoming})"
        elif column.type.null_only:
            target = data_type  # a placeholder never retypes values
        else:
            incoming_fit = column.type.ints_fit_double
            if incoming_ints_fit_double is not None and is_integer_type(incoming):
                incoming_fit = incoming_ints_fit_double(column)
            target = merge_types(
                data_type,
                incoming,
                existing_ints_fit_double=existing_fit,
                incoming_ints_fit_double=incoming_fit,
            )
            using = convert_sql(quote_ident(name), data_type, target)
        if target != data_type:
            connection.execute(
                f"ALTER TABLE {qualified} ALTER COLUMN {quote_ident(name)}"
                f" SET DATA TYPE {target} USING {using}"
            ).fetchall()
            evolution.retyped[name] = f"{data_type} -> {target}"
        evolution.final_types[column.name] = target
    return evolution


def _named_type_over_varchar(column: BatchColumn, existing_type: str) -> bool:
    """A NULL-only field whose name gives its type (a time, an amount) meets a VARCHAR column:
    a conflict, checked with the others in one scan. If the column holds no values either, it
    is a placeholder from a write before the name rule existed (or a generic one) and takes the
    named type, so that its sums and time arithmetic work before the first value; if it holds
    values, it keeps them and its type."""
    return existing_type == VARCHAR and column.type.duckdb_type != VARCHAR
