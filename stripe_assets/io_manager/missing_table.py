"""A table read before any run wrote it, and how messages name the file it is missing from."""

from __future__ import annotations

from dagster import InputContext, OutputContext


class MissingInputTableError(LookupError):
    """An input's table was never written: its asset has not been materialized into this file."""


def database_label(context: InputContext | OutputContext, default: str = "the DuckDB file") -> str:
    """The IO manager's `database` (the file's path), for messages."""
    return str((context.resource_config or {}).get("database", default))
