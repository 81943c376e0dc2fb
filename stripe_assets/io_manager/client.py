"""The DuckDB client of the IO manager: connecting, transactions, deleting a slice.

``DbIOManager.handle_output`` runs, on one connection::

    connect -> ensure_schema_exists -> delete_table_slice -> type handler's handle_output

For an output this client makes all of that ONE transaction: ``connect`` opens it (BEGIN) and
commits when the block ends, or rolls back on any exception, so a failed write leaves the table
exactly as it was (DuckDB DDL is transactional too). The connection is always closed, which
releases DuckDB's file lock even when a write fails.

Every connection runs with ``TimeZone='UTC'`` and every partition boundary is an explicit UTC
literal, so results never depend on the machine's time zone.

The file is attached under the catalog name ``stripe_assets`` (as ``stripe_assets.database`` does
for readers): DuckDB would otherwise name the catalog after the file, and with the project's
``data/stripe.duckdb`` every ``stripe.charges`` -- in this package's SQL and in ``SqlTable`` SQL --
would be an "ambiguous reference to catalog or schema".

DuckDB allows one read-write process per database file. Opening the file while another process
holds it is retried with exponential backoff and jitter for up to ``lock_timeout_seconds``, then
fails with ``DuckDBLockTimeoutError`` naming the process that holds the lock.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import InputContext, OutputContext
from dagster._core.storage.db_io_manager import DbClient, TableSlice

from stripe_assets.database import open_database

from .schema import table_exists
from .sql import (
    current_catalog,
    partition_predicate,
    quote_ident,
    select_statement,
    table_name,
)
from .stripe_handler import MERGE_BY_ID

LOCK_CONFLICT_MARKERS = ("Could not set lock on file", "Conflicting lock is held")
# Another DuckDB instance of this very process has the file open (DuckDB refuses to open it twice).
SAME_PROCESS_MARKER = "Unique file handle conflict"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 1.0


class DuckDBLockError(RuntimeError):
    """The DuckDB file is held by another DuckDB session; the message says which and what to do."""


class DuckDBLockTimeoutError(DuckDBLockError):
    """Another process kept the DuckDB file locked for longer than ``lock_timeout_seconds``."""


def is_lock_conflict(error: BaseException) -> bool:
    """Another *process* holds the file: worth waiting for."""
    return isinstance(error, duckdb.IOException) and any(
        marker in str(error) for marker in LOCK_CONFLICT_MARKERS
    )


def describe_lock_holder(message: str) -> str:
    """Who holds the lock, e.g. "PID 123 (duckdb /tmp/x.duckdb)", from DuckDB's error."""
    match = _HOLDER.search(message)
    if not match:
        return "another process"
    pid, program = match["pid"], match["program"]
    try:  # The command line says more than the executable ("jupyter-lab" vs "python3").
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        command = ""
    command = command or program
    if len(command) > 160:
        command = command[:159] + "…"
    return f"PID {pid} ({command})"


def connect_with_retry(
    database: str,
    *,
    config: Mapping[str, Any],
    lock_timeout_seconds: float,
    log: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> duckdb.DuckDBPyConnection:
    """``open_database`` that waits out another process's lock on the file, and only that."""
    deadline = clock() + lock_timeout_seconds
    delay = FIRST_DELAY_SECONDS
    waited = False
    while True:
        try:
            return open_database(database, read_only=False, config=config)
        except duckdb.Error as error:
            if SAME_PROCESS_MARKER in str(error):
                # Waiting cannot help: this very process (a notebook?) has the file open.
                raise DuckDBLockError(
                    f"DuckDB database {database!r} is already open in this process (PID"
                    f" {os.getpid()}), by a connection that is not this IO manager's, and DuckDB"
                    " opens a file only once per process. Close that connection (e.g. the"
                    " notebook's duckdb.connect(...) or stripe_assets.database.open_database())"
                    " before materializing from this process."
                ) from error
            if not is_lock_conflict(error):
                raise
            now = clock()
            holder = describe_lock_holder(str(error))
            if now >= deadline:
                raise DuckDBLockTimeoutError(
                    f"DuckDB database {database!r} is locked by {holder}, and it was still locked"
                    f" after waiting lock_timeout_seconds={lock_timeout_seconds:g}. While one"
                    " process has a DuckDB file open, even read-only, no other can write to it:"
                    " close the other DuckDB session that has this file open (a notebook, the"
                    " DuckDB CLI, a SQL IDE, or a stuck run), or raise lock_timeout_seconds on"
                    " StripeDuckDBIOManager."
                    f" DuckDB said: {error}"
                ) from error
            if not waited and log is not None:
                log.info(
                    f"DuckDB database {database!r} is locked by {holder}; retrying for up to"
                    f" {lock_timeout_seconds:g}s."
                )
            waited = True
            sleep(min(deadline - now, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, MAX_DELAY_SECONDS)


class StripeDuckDbClient(DbClient):
    """``DbClient`` for ``StripeDuckDBIOManager``: transactional, UTC, patient with locks."""

    def __init__(
        self,
        database: str,
        connection_config: Mapping[str, Any] | None = None,
        lock_timeout_seconds: float = 300,
    ):
        self.database = database
        self.connection_config = dict(connection_config or {})
        self.lock_timeout_seconds = lock_timeout_seconds

    @staticmethod
    def ensure_schema_exists(context: OutputContext, table_slice: TableSlice, connection) -> None:
        connection.execute(
            f"CREATE SCHEMA IF NOT EXISTS {quote_ident(current_catalog(connection))}"
            f".{quote_ident(table_slice.schema)}"
        ).fetchall()

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        # Look before deleting: inside a transaction a failed statement would abort it, so the
        # stock "try DELETE, ignore CatalogException" cannot be used here.
        if not table_exists(connection, table_slice.schema, table_slice.table):
            return
        if (context.definition_metadata or {}).get(MERGE_BY_ID):
            return  # the Stripe handler replaces by id instead (see stripe_handler.MERGE_BY_ID)
        predicate = partition_predicate(table_slice)
        where = f" WHERE {predicate}" if predicate else ""
        target = table_name(table_slice, current_catalog(connection))
        connection.execute(f"DELETE FROM {target}{where}").fetchall()

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        # Schema-qualified only: what resolves in a connection from stripe_assets.database.
        return select_statement(table_slice, None)

    @staticmethod
    def get_table_name(table_slice: TableSlice) -> str:
        # The base prefixes the database *path* ("data/stripe.duckdb.stripe.charges"); the name
        # people query is schema.table.
        return f"{table_slice.schema}.{table_slice.table}"

    # An instance method (the base declares a staticmethod): it needs this client's settings.
    @contextmanager
    def connect(  # type: ignore[override]
        self, context: OutputContext | InputContext, table_slice: TableSlice
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.database != ":memory:" and not self.database.startswith("md:"):
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        connection = connect_with_retry(
            self.database,
            config={"custom_user_agent": "dagster", **self.connection_config},
            lock_timeout_seconds=self.lock_timeout_seconds,
            log=getattr(context, "log", None),
        )
        try:
            connection.execute("SET TimeZone = 'UTC'").fetchall()
            if not isinstance(context, OutputContext):
                yield connection
                return
            connection.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield connection
            except BaseException:
                # If even that fails, closing the connection below discards the transaction.
                with contextlib.suppress(duckdb.Error):
                    connection.execute("ROLLBACK").fetchall()
                raise
            connection.execute("COMMIT").fetchall()
        finally:
            connection.close()
