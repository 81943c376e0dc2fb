"""Read-only access to the DuckDB file for asset checks: they never take the write lock.

Opened with the project's `open_database` (the file attached under a fixed alias, so that
`stripe.charges` resolves whatever the file is called), waiting while a run writes.
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

from stripe_assets.database import CATALOG, open_database
from stripe_assets.io_manager.client import is_lock_conflict


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
        connection = self._open()
        try:
            yield connection
        finally:
            connection.close()

    def _open(self) -> duckdb.DuckDBPyConnection:
        """A writer holds the file exclusively for one short transaction: wait for it."""
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                return open_database(self.database, read_only=True)
            except duckdb.IOException as error:
                if not is_lock_conflict(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 1.0)


def table_columns(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    """The table's columns; empty when the table does not exist."""
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_schema = ? AND table_name = ?",
        [CATALOG, schema, table],
    ).fetchall()
    return {r[0] for r in rows}
