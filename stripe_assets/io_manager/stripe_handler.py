"""Writing ``StripeObjects``: a spool of Stripe list pages becomes typed rows, all in DuckDB.

The steps, each one SQL statement over every object at once (no Python per row):

1. stage: ``read_json_objects`` splits the spool into its pages (JSON envelopes ``{"data": [...]}``,
   one per line), ``json_extract(page, '$.data[*]')`` into objects, kept (as compact
   JSON) in a temporary table;
2. discover: ``json_keys(obj)`` zipped with ``json_type(obj, '$.*')``, grouped by (field, JSON
   type); then, for the fields holding numbers, their range and whether any has a fraction;
3. decide each field's column type (``type_mapping``) and evolve the table (``schema``);
4. insert: ``json_transform`` each object once into a struct of the column types,
   ``INSERT INTO ... BY NAME``;
5. verify: every non-null value arrived, every row is inside the partition being written.

Steps 2 and 4 run as ``UNION ALL`` branches over ``rowid % threads`` so that DuckDB uses every
core (a small temporary table is one row group, which DuckDB would scan with one thread).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
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
from .schema import BatchColumn, Evolution, check_column_names, evolve_table
from .spool import StripeObjects
from .sql import (
    current_catalog,
    json_pointer,
    partition_predicate,
    quote_ident,
    quote_literal,
    table_name,
    time_partition_column,
)
from .type_mapping import (
    NUMERIC_JSON_TYPES,
    TIMESTAMPTZ,
    VARCHAR,
    FieldStats,
    FieldType,
    NumericStats,
    convert_sql,
    decide_field_type,
    json_transform_type,
    python_value_type,
)

# Asset metadata: keep rows the run did not fetch again, replace those it did (by id).
MERGE_BY_ID = "merge_by_id"
API_VERSION_COLUMN = "_stripe_api_version"
LOADED_AT_COLUMN = "_loaded_at"
RESERVED_COLUMNS = (API_VERSION_COLUMN, LOADED_AT_COLUMN)
# Below this many objects one thread is as fast as several.
PARALLEL_MIN_OBJECTS = 2_000
MAX_BRANCHES = 8

_log = logging.getLogger(__name__)


class StripeWriteError(ValueError):
    """The spooled objects cannot be written as they are; the message says why and where."""


def _branches(connection, object_count: int) -> int:
    if object_count < PARALLEL_MIN_OBJECTS:
        return 1
    row = connection.execute("SELECT current_setting('threads')").fetchall()[0]
    return max(1, min(int(row[0]) if row else 1, MAX_BRANCHES))


def _parallel(template: str, stage: str, branches: int) -> str:
    """``template`` (with ``{src}``) over disjoint parts of the stage, as UNION ALL branches."""
    if branches == 1:
        return template.replace("{src}", stage)
    return " UNION ALL ".join(
        template.replace("{src}", f"(SELECT obj FROM {stage} WHERE rowid % {branches} = {i})")
        for i in range(branches)
    )


def _discover(connection, stage: str, branches: int) -> dict[str, FieldStats]:
    """Per field: how many values of each JSON type it has."""
    rows = connection.execute(
        "SELECT k, t, count(*) FROM ("
        + _parallel(
            "SELECT unnest(json_keys(obj)) AS k, unnest(json_type(obj, '$.*')) AS t FROM {src}",
            stage,
            branches,
        )
        + ") GROUP BY k, t"
    ).fetchall()
    stats: dict[str, FieldStats] = {}
    for key, json_type, n in rows:
        stats.setdefault(key, FieldStats(key)).counts[json_type] = n
    return stats


def _measure_numbers(
    connection, stage: str, branches: int, stats: Mapping[str, FieldStats]
) -> None:
    """For fields holding numbers: integer range, integers beyond HUGEINT, values with fractions."""
    numeric = [key for key, s in stats.items() if any(s.counts.get(t) for t in NUMERIC_JSON_TYPES)]
    if not numeric:
        return
    paths = ", ".join(quote_literal(json_pointer(key)) for key in numeric)
    aggregates = []
    for index in range(1, len(numeric) + 1):
        text = f"CAST(v[{index}] AS VARCHAR)"
        is_int = f"regexp_full_match({text}, '-?[0-9]+')"
        is_number = f"regexp_full_match({text}, '-?[0-9][0-9.eE+-]*')"
        as_int = f"TRY_CAST({text} AS HUGEINT)"
        aggregates += [
            f"count(*) FILTER (WHERE {is_number} AND NOT {is_int})",
            f"count(*) FILTER (WHERE {is_int})",
            f"count(*) FILTER (WHERE {is_int} AND {as_int} IS NULL)",
            f"min({as_int}) FILTER (WHERE {is_int})",
            f"max({as_int}) FILTER (WHERE {is_int})",
        ]
    row = connection.execute(
        f"SELECT {', '.join(aggregates)} FROM ("
        + _parallel(f"SELECT json_value(obj, [{paths}]) AS v FROM {{src}}", stage, branches)
        + ")"
    ).fetchall()[0]
    for index, key in enumerate(numeric):
        floats, integers, beyond, low, high = row[5 * index : 5 * index + 5]
        stats[key].numbers = NumericStats(floats, integers, beyond, low, high)


def _first_key_order(connection, stage: str) -> list[str]:
    rows = connection.execute(f"SELECT json_keys(obj) FROM {stage} LIMIT 1").fetchall()
    return list(rows[0][0]) if rows and rows[0][0] else []


def _extra_columns(extra: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    return [(name, *python_value_type(value)) for name, value in extra.items()]


def write_stripe_objects(
    connection,
    table_slice: TableSlice,
    objects: StripeObjects,
    *,
    log: Any = None,
    merge: bool = False,
) -> WriteReport:
    """Write the spooled objects into the slice (already emptied by ``delete_table_slice``).

    With ``merge`` (asset metadata ``merge_by_id``) the slice was not emptied: rows with the
    ids being written are replaced and the others kept (for immutable logs that the API only
    serves for a while, such as events).

    Runs inside the caller's transaction; always deletes the spool file.
    """
    log = log or _log
    target = table_name(table_slice, current_catalog(connection))
    where = f"{table_slice.schema}.{table_slice.table}"
    stage = f"_stripe_stage_{uuid4().hex}"
    loaded_at = datetime.now(UTC)
    try:
        extras = _extra_columns(objects.extra_columns)
        path = objects.spool.finish()
        count = 0
        branches = _branches(connection, objects.spool.object_count)
        if path.stat().st_size:
            try:
                connection.execute(
                    f"CREATE TEMP TABLE {stage} AS SELECT unnest(json_extract(json, '$.data[*]'))"
                    f" AS obj FROM read_json_objects({quote_literal(str(path))},"
                    " format='newline_delimited')"
                ).fetchall()
            except duckdb.Error as error:
                raise StripeWriteError(
                    f"Could not read the spooled Stripe pages for {where} from {path}: {error}"
                ) from error
            count = connection.execute(f"SELECT count(*) FROM {stage}").fetchall()[0][0]
        if count != objects.spool.object_count:
            raise StripeWriteError(
                f"The spool for {where} recorded {objects.spool.object_count} objects but its"
                f" pages hold {count}: a page body without a `data` list (an error response?) or"
                " a wrong object_count was passed to ObjectSpool.add_page_body."
            )
        check_column_names(
            [*RESERVED_COLUMNS, *(name for name, _, _ in extras)], f"extra_columns of {where}"
        )
        if count == 0:
            return _write_empty(connection, table_slice, objects, extras)

        stats = _discover(connection, stage, branches)
        _measure_numbers(connection, stage, branches, stats)
        keys = _ordered_keys(_first_key_order(connection, stage), stats)
        _check_keys(keys, stats, count, extras, where)
        batch = [BatchColumn(key, decide_field_type(stats[key])) for key in keys]
        batch += _absent_core_columns(objects, keys)
        batch += [
            BatchColumn(API_VERSION_COLUMN, FieldType(VARCHAR)),
            BatchColumn(LOADED_AT_COLUMN, FieldType(TIMESTAMPTZ)),
            *(BatchColumn(n, FieldType(t, null_only=p is None)) for n, t, p in extras),
        ]
        evolution = evolve_table(connection, table_slice.schema, table_slice.table, batch)

        structure: dict[str, str] = {}
        selects = []
        for key in keys:
            transform_type, wrapper = json_transform_type(evolution.final_types[key])
            structure[key] = transform_type
            selects.append(f"{wrapper.format('x.' + quote_ident(key))} AS {quote_ident(key)}")
        parameters: list[Any] = [objects.api_version, loaded_at]
        selects.append(f"CAST($1 AS VARCHAR) AS {quote_ident(API_VERSION_COLUMN)}")
        selects.append(f"CAST($2 AS TIMESTAMPTZ) AS {quote_ident(LOADED_AT_COLUMN)}")
        for name, column_type, parameter in extras:
            parameters.append(parameter)
            value = f"CAST(${len(parameters)} AS {column_type})"
            value = convert_sql(value, column_type, evolution.final_types[name])
            selects.append(f"{value} AS {quote_ident(name)}")
        structure_sql = quote_literal(json.dumps(structure))
        if merge:
            connection.execute(
                f"DELETE FROM {target} WHERE id IN"
                f" (SELECT json_extract_string(obj, '$.id') FROM {stage})"
            ).fetchall()
        connection.execute(
            f"INSERT INTO {target} BY NAME "
            + _parallel(
                f"SELECT {', '.join(selects)}"
                f" FROM (SELECT json_transform(obj, {structure_sql}) AS x FROM {{src}})",
                stage,
                branches,
            ),
            parameters,
        ).fetchall()
        _verify(connection, table_slice, keys, stats, count, loaded_at, where)
        columns = preview_columns(
            [(key, evolution.final_types[key]) for key in keys] + [(LOADED_AT_COLUMN, TIMESTAMPTZ)]
        )
        preview = connection.execute(
            f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM {target}"
            f" WHERE {quote_ident(LOADED_AT_COLUMN)} = $1{_newest_first(columns)}"
            f" LIMIT {PREVIEW_ROWS}",
            [loaded_at],
        ).fetchall()
        summary = evolution_summary(evolution)
        log.info(f"Wrote {count} Stripe objects to {where}" + (f"; {summary}" if summary else ""))
        return WriteReport(count, evolution, columns, preview)
    finally:
        # If the transaction failed this fails too; its rollback drops the stage anyway.
        with contextlib.suppress(duckdb.Error):
            connection.execute(f"DROP TABLE IF EXISTS temp.{stage}").fetchall()
        objects.spool.discard()


def _newest_first(columns: Sequence[str]) -> str:
    """ORDER BY for the preview, as Stripe lists objects; the rows themselves have no order."""
    order = [f"{quote_ident(c)} DESC" for c in columns if c == "created"]
    order += [quote_ident(c) for c in columns if c == "id"]
    return f" ORDER BY {', '.join(order)}" if order else ""


def _ordered_keys(first: Sequence[str], stats: Mapping[str, FieldStats]) -> list[str]:
    """Columns in the order Stripe sends them (the first object's), then the rest by name."""
    ordered = [key for key in dict.fromkeys(first) if key in stats]
    seen = set(ordered)
    return ordered + sorted(key for key in stats if key not in seen)


def _check_keys(
    keys: Sequence[str],
    stats: Mapping[str, FieldStats],
    count: int,
    extras: Sequence[tuple[str, str, Any]],
    where: str,
) -> None:
    check_column_names(keys, f"The Stripe objects for {where}")
    lower = {key.lower() for key in keys}
    clashes = [n for n in (*RESERVED_COLUMNS, *(e[0] for e in extras)) if n.lower() in lower]
    if clashes:
        raise StripeWriteError(
            f"The Stripe objects for {where} have fields named {clashes}, which this IO manager"
            " adds itself (or the asset's extra_columns add): rename the extra column."
        )
    with_id = stats["id"].counts.get("VARCHAR", 0) if "id" in stats else 0
    if with_id < count:
        raise StripeWriteError(
            f"{count - with_id} of the {count} Stripe objects for {where} have no string `id`."
            " Every Stripe object has one: were error bodies, or values that are not Stripe"
            " objects, spooled?"
        )


def _verify(
    connection,
    table_slice: TableSlice,
    keys: Sequence[str],
    stats: Mapping[str, FieldStats],
    count: int,
    loaded_at: datetime,
    where: str,
) -> None:
    """Fail (and so roll back) unless every value arrived and every row is in the slice."""
    predicate = partition_predicate(table_slice) or "TRUE"
    counts = ", ".join(f"count({quote_ident(key)})" for key in keys)
    row = connection.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT coalesce({predicate}, false)), {counts}"
        f" FROM {table_name(table_slice, current_catalog(connection))}"
        f" WHERE {quote_ident(LOADED_AT_COLUMN)} = $1",
        [loaded_at],
    ).fetchall()[0]
    assert row is not None
    written, outside, *present = row
    lost = {
        key: stats[key].non_null - got
        for key, got in zip(keys, present, strict=True)
        if got < stats[key].non_null
    }
    if written != count or lost:
        raise StripeWriteError(
            f"Writing {where} would lose data: {count} objects gave {written} rows; values"
            f" that did not convert, by column: {lost}. This is a bug in the type mapping."
        )
    if outside:
        raise StripeWriteError(
            f"{outside} of the {count} objects written to {where} are outside the partition"
            f" being written ({predicate}). A re-run of this partition would not replace them,"
            " so they would be duplicated: check the Stripe `created` filter of the asset."
        )


def _write_empty(
    connection,
    table_slice: TableSlice,
    objects: StripeObjects,
    extras: Sequence[tuple[str, str, Any]],
) -> WriteReport:
    """No objects: the slice stays empty, but the table exists so that downstream SQL works."""
    batch = [BatchColumn("id", FieldType(VARCHAR, null_only=True))]
    partition_column = time_partition_column(table_slice)
    if partition_column and partition_column != "id":
        batch.append(BatchColumn(partition_column, FieldType(TIMESTAMPTZ, null_only=True)))
    batch += _absent_core_columns(objects, [c.name for c in batch])
    batch += [
        BatchColumn(API_VERSION_COLUMN, FieldType(VARCHAR, null_only=True)),
        BatchColumn(LOADED_AT_COLUMN, FieldType(TIMESTAMPTZ, null_only=True)),
        *(BatchColumn(n, FieldType(t, null_only=True)) for n, t, _ in extras),
    ]
    evolution = evolve_table(connection, table_slice.schema, table_slice.table, batch)
    return WriteReport(0, evolution, preview_columns([(c.name, "") for c in batch]), [])


def _absent_core_columns(objects: StripeObjects, present: Sequence[str]) -> list[BatchColumn]:
    """Core columns no object of this batch has: created NULL-only, so real values retype them."""
    have = {name.lower() for name in present}
    return [
        BatchColumn(name, FieldType(column_type, null_only=True))
        for name, column_type in objects.core_columns.items()
        if name.lower() not in have
    ]


class StripeObjectsTypeHandler(DbTypeHandler[StripeObjects]):
    """Writes ``StripeObjects`` (a spool of Stripe list pages) as typed rows; see module doc.

    Inputs are loaded as ``pd.DataFrame`` (the ``DataFrameTypeHandler``), not as StripeObjects.
    """

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: StripeObjects, connection
    ) -> Mapping[str, Any]:
        merge = bool((context.definition_metadata or {}).get(MERGE_BY_ID))
        report = write_stripe_objects(connection, table_slice, obj, log=context.log, merge=merge)
        return output_metadata(context, connection, table_slice, report)

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> Any:
        raise TypeError(
            f"{table_slice.schema}.{table_slice.table} cannot be loaded as StripeObjects: annotate"
            " the input as pd.DataFrame (or leave it unannotated), or query DuckDB directly."
        )

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [StripeObjects]


def evolution_summary(evolution: Evolution) -> str:
    parts = []
    if evolution.added and not evolution.created:
        parts.append(f"added columns {evolution.added}")
    if evolution.retyped:
        parts.append(f"retyped {evolution.retyped}")
    return "; ".join(parts)
