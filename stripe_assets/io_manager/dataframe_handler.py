"""``pd.DataFrame`` outputs (for users' own assets) and every input load.

Outputs go through the same by-name, schema-evolving path as Stripe objects (``relation``).
Inputs load as DataFrames, honouring partitions (half-open UTC windows) and ``columns`` metadata.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

import pandas as pd
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice

from .metadata import output_metadata
from .missing_table import MissingInputTableError, database_label
from .relation import RelationWriteError, write_relation
from .schema import check_column_names, table_columns, table_exists
from .sql import current_catalog, select_statement


def _json_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return json.dumps(value, default=str)


def prepare_frame(frame: pd.DataFrame, where: str) -> tuple[pd.DataFrame, set[str]]:
    """String column names, and dict/list cells as JSON text (DuckDB would store their repr).

    Returns the frame to register (the caller's is not modified) and the JSON column names.
    """
    if any(not isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise RelationWriteError(
            f"The DataFrame for {where} has duplicate columns {duplicated}: keep one of each,"
            " e.g. frame.loc[:, ~frame.columns.duplicated()], or rename them."
        )
    try:  # DuckDB would store an empty name as "C0", and fail on names differing in case
        check_column_names(list(frame.columns), f"The DataFrame for {where}")
    except ValueError as error:
        raise RelationWriteError(str(error)) from None
    json_columns: set[str] = set()
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        first = column.first_valid_index()
        if first is not None and isinstance(column[first], dict | list):
            if not json_columns:
                frame = frame.copy(deep=False)
            frame[name] = column.map(_json_text)
            json_columns.add(name)
    return frame, json_columns


def _no_columns(
    frame: pd.DataFrame, table_slice: TableSlice, connection, where: str
) -> pd.DataFrame:
    """``pd.DataFrame()``, the usual "nothing this time": no rows for the table's columns. DuckDB
    cannot register a frame without columns, nor create a table without any."""
    if len(frame.index):
        raise RelationWriteError(
            f"The DataFrame for {where} has {len(frame.index)} rows but no columns: give it"
            " the columns its rows have."
        )
    columns = table_columns(connection, table_slice.schema, table_slice.table)
    if not columns:
        raise RelationWriteError(
            f"The DataFrame for {where} is empty and has no columns, and {where} does not exist"
            " yet: return an empty DataFrame with the table's columns, e.g."
            " pd.DataFrame(columns=['id', 'created']), so that a readable table can be created."
        )
    return pd.DataFrame(columns=[name for name, _ in columns])


class DataFrameTypeHandler(DbTypeHandler[pd.DataFrame]):
    """Writes DataFrames by column name with schema evolution; loads any table as a DataFrame."""

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ) -> Mapping[str, Any]:
        where = f"{table_slice.schema}.{table_slice.table}"
        if len(obj.columns) == 0:
            obj = _no_columns(obj, table_slice, connection, where)
        frame, json_columns = prepare_frame(obj, where)
        view = f"_stripe_frame_{uuid4().hex}"
        connection.register(view, frame)
        try:
            report = write_relation(
                connection, table_slice, view, json_columns=json_columns, what="The DataFrame"
            )
        finally:
            connection.unregister(view)
        context.log.info(f"Wrote {report.rows_written} DataFrame rows to {where}")
        return output_metadata(context, connection, table_slice, report)

    def load_input(
        self, context: InputContext, table_slice: TableSlice, connection
    ) -> pd.DataFrame:
        if table_slice.partition_dimensions and not context.asset_partition_keys:
            return pd.DataFrame()
        if not table_exists(connection, table_slice.schema, table_slice.table):
            database = database_label(context)
            asset = f"{table_slice.schema}/{table_slice.table}"
            raise MissingInputTableError(
                f"{table_slice.schema}.{table_slice.table} is not in {database} yet: materialize "
                f"{asset} first (in the UI, select it with what reads it; with stripe-assets "
                f"load, add {table_slice.table} to --select, or load without --select)."
            )
        return connection.execute(
            select_statement(table_slice, current_catalog(connection))
        ).fetchdf()

    @property
    def supported_types(self) -> Sequence[type[object]]:
        return [pd.DataFrame]
