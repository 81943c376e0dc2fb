"""After a full `stripe-assets load` from STRIPE_START_DATE: where the data really starts.

Dagster records a planned and a materialization event for every day of a day-partitioned asset
in a run, about 5 ms a day on an ephemeral or SQLite instance: from the 2020 default (2,532 days
to 2026-12-06), ~12 s per asset and load, whatever the account holds (README, Troubleshooting).
An account that began years later pays that for empty days, in every load and backfill, and its
UI lists them all. A load of every asset knows the oldest object of the account, so it can say
which start to set; a load of some assets cannot (another table may start earlier).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from stripe_assets.database import open_database
from stripe_assets.io_manager.schema import table_columns
from stripe_assets.io_manager.sql import quote_ident
from stripe_assets.io_manager.type_mapping import TIMESTAMPTZ

# Fewer empty days than this are not worth a line.
HINT_AFTER_DAYS = 30


def oldest_day(db: Path, tables: Sequence[tuple[str, str]]) -> date | None:
    """The UTC day of the oldest `created` in these (schema, table)s of the file, None if none
    of them has a row."""
    with open_database(db, read_only=True) as connection:
        oldest = [
            connection.execute(
                f"SELECT min(created) FROM {quote_ident(schema)}.{quote_ident(table)}"
            ).fetchall()[0][0]
            for schema, table in tables
            if dict(table_columns(connection, schema, table) or []).get("created") == TIMESTAMPTZ
        ]
    found = [value for value in oldest if isinstance(value, datetime)]
    return min(found).astimezone(UTC).date() if found else None


def start_date_hint(first_partition: date, oldest: date | None) -> str | None:
    """A line for the user when the loaded data starts long after the first partition."""
    if oldest is None or (oldest - first_partition).days <= HINT_AFTER_DAYS:
        return None
    empty = (oldest - first_partition).days
    return (
        f"hint: the account's oldest object was created on {oldest}, {empty:,} days after the "
        f"first partition (STRIPE_START_DATE, {first_partition}). Dagster records every day of "
        "each day-partitioned asset in a load or backfill (~5 ms a day): set "
        f"STRIPE_START_DATE={oldest} (e.g. in .env) to start the partitions there."
    )
