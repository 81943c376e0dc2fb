"""``StripeDuckDBIOManager``: the project's DuckDB IO manager (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler
from dagster_duckdb import DuckDBIOManager
from pydantic import Field

from .client import StripeDuckDbClient
from .dataframe_handler import DataFrameTypeHandler
from .spool import StripeObjects
from .sql_handler import SqlTableTypeHandler
from .stripe_handler import StripeObjectsTypeHandler


class StripeDbIOManager(DbIOManager):
    """``DbIOManager`` that also deletes a ``StripeObjects`` spool when the write never started.

    (When it did start, the type handler deletes it; this covers e.g. a lock timeout.)
    """

    def handle_output(self, context: OutputContext, obj: object) -> None:
        try:
            super().handle_output(context, obj)
        finally:
            if isinstance(obj, StripeObjects):
                obj.spool.discard()


class StripeDuckDBIOManager(DuckDBIOManager):
    """Stores Stripe objects, derived SQL tables and DataFrames in one DuckDB file.

    Outputs: ``StripeObjects`` (typed rows from a spool of Stripe pages), ``SqlTable`` (a SELECT
    run in place) and ``pd.DataFrame``. Inputs load as ``pd.DataFrame``. Asset key
    ``["stripe", "charges"]`` is table ``stripe.charges``. Every write is one transaction; a
    locked file is waited for up to ``lock_timeout_seconds``.

    Example::

        StripeDuckDBIOManager(database=str(settings.db_path()))
    """

    lock_timeout_seconds: float = Field(
        default=300,
        description=(
            "How long to wait, in seconds, for another process (a concurrent run, a notebook,"
            " the DuckDB CLI) to release the database file before failing."
        ),
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [StripeObjectsTypeHandler(), SqlTableTypeHandler(), DataFrameTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pd.DataFrame

    def create_io_manager(self, context) -> DbIOManager:
        return StripeDbIOManager(
            db_client=StripeDuckDbClient(
                database=self.database,
                connection_config=self.connection_config,
                lock_timeout_seconds=self.lock_timeout_seconds,
            ),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="StripeDuckDBIOManager",
        )
