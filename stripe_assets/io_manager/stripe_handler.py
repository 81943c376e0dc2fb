"""Writing ``StripeObjects``: a spool of Stripe list pages becomes typed rows, all in DuckDB.

The spool holds one list envelope (``{"data": [...]}``) per line; DuckDB reads it with
``read_json_objects``, splitting the file across its threads. Each step is one SQL statement
over every object at once (no Python per row), straight from the spool (no staged copy):

1. survey (``survey.py``): per page, ``json_structure`` (each field's kinds) and a
   ``json_transform`` of the integer fields to HUGEINT (their range), pages with equal
   structures grouped; a census by regex only for number fields that pass could not range;
2. decide each field's column type (``type_mapping``) and evolve the table (``schema``);
3. insert: ``json_transform`` each page once into a list of structs of the column types,
   unnested into rows, ``INSERT INTO ... BY NAME``;
4. verify: every number arrived, every row is inside the partition being written.

The insert runs with ``preserve_insertion_order`` off, so that each thread writes its own row
groups (with it on, DuckDB stores the rows with one thread); rows have no order in a table.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice

from .data_source import check_and_record
from .metadata import (
    PREVIEW_ROWS,
    WriteReport,
    output_metadata,
    preview_columns,
)
from .missing_table import database_label
from .schema import BatchColumn, Evolution, check_column_names, evolve_table
from .spool import StripeObjects
from .sql import (
    current_catalog,
    partition_predicate,
    quote_ident,
    quote_literal,
    table_name,
    time_partition_column,
)
from .survey import Survey, pages_sql, survey_spool
from .type_mapping import (
    TIMESTAMPTZ,
    VARCHAR,
    FieldStats,
    FieldType,
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
_log = logging.getLogger(__name__)


class StripeWriteError(ValueError):
    """The spooled objects cannot be written as they are; the message says why and where."""


@contextlib.contextmanager
def _insertion_order_off(connection) -> Iterator[None]:
    """Let every thread write its own row groups for one statement (DuckDB stores the rows of
    an insert with one thread while it must keep their order)."""
    before = connection.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    connection.execute("SET preserve_insertion_order = false").fetchall()
    try:
        yield
    finally:
        value = "true" if not before or before[0][0] else "false"
        with contextlib.suppress(duckdb.Error):
            connection.execute(f"SET preserve_insertion_order = {value}").fetchall()


def _extra_columns(extra: Mapping[str, Any], where: str) -> list[tuple[str, str, Any]]:
    columns = []
    for name, value in extra.items():
        try:
            columns.append((name, *python_value_type(value)))
        except TypeError as error:
            raise StripeWriteError(f"extra_columns[{name!r}] of {where}: {error}") from None
    return columns


def write_stripe_objects(
    connection,
    table_slice: TableSlice,
    objects: StripeObjects,
    *,
    log: Any = None,
    merge: bool = False,
    database: str = "This DuckDB file",
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
    loaded_at = datetime.now(UTC)
    try:
        if objects.source is not None:
            check_and_record(connection, objects.source, database)
        extras = _extra_columns(objects.extra_columns, where)
        path = objects.spool.finish()
        pages = pages_sql(path)
        survey = Survey()
        if path.stat().st_size:
            try:
                survey = survey_spool(connection, path, f"The Stripe objects for {where}")
            except duckdb.Error as error:
                raise StripeWriteError(
                    f"Could not read the spooled Stripe pages for {where} from {path}: {error}"
                ) from error
        count, stats, keys = survey.objects, survey.fields, survey.keys
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

        _check_keys(survey, extras, where)
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
        structure_sql = quote_literal(json.dumps({"data": [structure]}))
        if merge:
            connection.execute(
                f"DELETE FROM {target} WHERE id IN (SELECT"
                f" unnest(json_extract_string(json, '$.data[*].id')) FROM {pages})"
            ).fetchall()
        with _insertion_order_off(connection):
            connection.execute(
                f"INSERT INTO {target} BY NAME SELECT {', '.join(selects)} FROM"
                f" (SELECT unnest(json_transform(json, {structure_sql}).data) AS x FROM {pages})",
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
        objects.spool.discard()


def _newest_first(columns: Sequence[str]) -> str:
    """ORDER BY for the preview, as Stripe lists objects; the rows themselves have no order."""
    order = [f"{quote_ident(c)} DESC" for c in columns if c == "created"]
    order += [quote_ident(c) for c in columns if c == "id"]
    return f" ORDER BY {', '.join(order)}" if order else ""


def _check_keys(survey: Survey, extras: Sequence[tuple[str, str, Any]], where: str) -> None:
    lower = {key.lower() for key in survey.keys}
    clashes = [n for n in (*RESERVED_COLUMNS, *(e[0] for e in extras)) if n.lower() in lower]
    if clashes:
        raise StripeWriteError(
            f"The Stripe objects for {where} have fields named {clashes}, which this IO manager"
            " adds itself (or the asset's extra_columns add): rename that key of extra_columns,"
            " or leave the field out of the objects (or rename it) before spooling them."
        )
    count, with_id = survey.objects, survey.with_string_id
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
    """Fail (and so roll back) unless every value arrived and every row is in the slice.

    Only numbers can fail to convert (to an integer or time column): strings, booleans and
    nested values go to VARCHAR, BOOLEAN or JSON columns, which take any value of their kinds.
    The survey counted the numbers; those are the counts checked here."""
    predicate = partition_predicate(table_slice) or "TRUE"
    numbers = {key: n.count for key in keys if (n := stats[key].numbers) is not None}
    counts = "".join(f", count({quote_ident(key)})" for key in numbers)
    row = connection.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT coalesce({predicate}, false)){counts}"
        f" FROM {table_name(table_slice, current_catalog(connection))}"
        f" WHERE {quote_ident(LOADED_AT_COLUMN)} = $1",
        [loaded_at],
    ).fetchall()[0]
    assert row is not None
    written, outside, *present = row
    lost = {
        key: expected - got
        for (key, expected), got in zip(numbers.items(), present, strict=True)
        if got < expected
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
        database = database_label(context, default="This DuckDB file")
        report = write_stripe_objects(connection, table_slice, obj, log=context.log, merge=merge,
                                      database=database)
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
