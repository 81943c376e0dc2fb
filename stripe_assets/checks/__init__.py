"""Asset checks on the DuckDB tables (SQL over a read-only connection), shown in the UI."""

from stripe_assets.checks.events_sensor_health import events_sensor_is_polling
from stripe_assets.checks.integrity import integrity_checks
from stripe_assets.checks.raw_tables import raw_table_checks
from stripe_assets.checks.warehouse import DuckDBReader

all_checks = [*raw_table_checks, *integrity_checks, events_sensor_is_polling]

__all__ = ["DuckDBReader", "all_checks"]
