"""Read-only access to the DuckDB file for asset checks: they never take the write lock.

The file is attached under the alias `warehouse`, so `stripe.charges` means the schema
`stripe` whatever the file is called (a file named stripe.duckdb would otherwise make `stripe`
both a catalog and a schema, and DuckDB refuses the ambiguous name).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from stripe_assets.io_manager.client import is_lock_conflict
from stripe_assets.io_manager.sql import quote_literal

ALIAS = "warehouse"


class WarehouseMissingError(RuntimeError):
    """The DuckDB file does not exist yet: nothing was loaded."""


class DuckDBReader(dg.ConfigurableResource):
    """Opens the project's DuckDB file read-only. Point it at the IO manager's `database`."""

    database: str = Field(description="Path of the DuckDB file, as the IO manager's `database`.")
    lock_timeout_seconds: float = Field(
        default=60.0, description="How long to wait while a run writes to the file."
    )

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not Path(self.database).exists():
            raise WarehouseMissingError(
                f"DuckDB file {self.database} does not exist: load the Stripe tables first."
            )
        connection = duckdb.connect()
        try:
            self._attach(connection)
            connection.execute(f"USE {ALIAS}").fetchall()
            connection.execute("SET TimeZone = 'UTC'").fetchall()
            yield connection
        finally:
            connection.close()

    def _attach(self, connection: duckdb.DuckDBPyConnection) -> None:
        """A writer holds the file exclusively for one short transaction: wait for it."""
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                connection.execute(
                    f"ATTACH {quote_literal(self.database)} AS {ALIAS} (READ_ONLY)"
                ).fetchall()
                return
            except duckdb.IOException as error:
                if not is_lock_conflict(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 2.0)


def table_columns(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    """The table's columns; empty when the table does not exist."""
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = ? AND table_name = ?",
        [ALIAS, schema, table],
    ).fetchall()
    return {r[0] for r in rows}
