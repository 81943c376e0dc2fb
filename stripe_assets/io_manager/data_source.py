"""Whose data a DuckDB file holds: one source (server, key mode, Connect account) per file.

A load from another source into the same file would mix the two: every day table replaces the
days it loads, but `stripe.events` keeps the days Stripe no longer serves, and a table the new
load does not touch keeps the old source's rows. So the first Stripe write records its source,
and a write from another one fails (rolling back, the tables untouched) saying what to do.
"""

from __future__ import annotations

import duckdb

from .schema import table_exists

SCHEMA = "_stripe_assets"
TABLE = f"{SCHEMA}.data_source"


class DataSourceMismatchError(ValueError):
    """The file holds another source's data; the message says how to load this one."""


def recorded_source(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The source the file's Stripe tables came from, or None before the first Stripe write."""
    if not table_exists(connection, SCHEMA, "data_source"):
        return None
    row = connection.execute(f"SELECT source FROM {TABLE} ORDER BY recorded_at LIMIT 1").fetchall()
    return row[0][0] if row else None


def mismatch_message(recorded: str, source: str, database: str) -> str:
    return (
        f"{database} holds Stripe data loaded from {recorded}; this load reads {source}. One"
        " file holds one source's data: mixed, the other's rows would stay (the event log keeps"
        " the days Stripe no longer serves). Load into a file of its own (e.g."
        " STRIPE_ASSETS_DB=data/live.duckdb), or move this one aside to start afresh."
    )


def check_and_record(
    connection: duckdb.DuckDBPyConnection, source: str, database: str
) -> None:
    """Inside the write's transaction: fail on another source's file, else record this one."""
    recorded = recorded_source(connection)
    if recorded is not None and recorded != source:
        raise DataSourceMismatchError(mismatch_message(recorded, source, database))
    if recorded is None:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}").fetchall()
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (source VARCHAR, recorded_at TIMESTAMPTZ)"
        ).fetchall()
        connection.execute(f"INSERT INTO {TABLE} VALUES ($1, now())", [source]).fetchall()
