"""The column schema each asset shows in the UI, before its first materialization too.

Built from the same column tables the IO manager describes its writes with (columns.py for
Stripe tables, the analytics' own next to their SQL), so definition and materialization agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster._core.definitions.metadata import TableMetadataSet

from stripe_assets.columns import LOADER_COLUMNS, Column, core_columns
from stripe_assets.io_manager.metadata import column_schema
from stripe_assets.io_manager.type_mapping import canonical_type


def schema_metadata(columns: Mapping[str, Column]) -> dict[str, Any]:
    """`dagster/column_schema` definition metadata for these columns, typed as DuckDB spells
    them in its catalog (as the IO manager reports them)."""
    schema = column_schema(
        [(name, canonical_type(col.type)) for name, col in columns.items()],
        {name: col.description for name, col in columns.items()},
    )
    return dict(TableMetadataSet(column_schema=schema))


def stripe_table_metadata(endpoint: str) -> dict[str, Any]:
    """The columns `stripe.<endpoint>` always has; Stripe's other fields appear once loaded."""
    return schema_metadata({**core_columns(endpoint), **LOADER_COLUMNS})
