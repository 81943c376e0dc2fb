"""The resources every asset runs with, configured from the environment (see settings.py)."""

from typing import Any

import dagster as dg

from stripe_assets import settings
from stripe_assets.io_manager import StripeDuckDBIOManager
from stripe_assets.stripe_client import StripeClient


def stripe_client(**overrides: Any) -> StripeClient:
    """`overrides`: other StripeClient fields, e.g. max_attempts."""
    return StripeClient(
        # Through EnvVar, the key is read when a run starts and never stored in run config.
        api_key=dg.EnvVar("STRIPE_API_KEY"),
        api_base=settings.api_base(),
        stripe_version=settings.stripe_version(),
        stripe_account=settings.stripe_account(),
        requests_per_second=settings.requests_per_second(),
        endpoint_requests_per_second=settings.endpoint_requests_per_second(),
        **overrides,
    )


# DuckDB would take most of the machine's RAM for a big write (500,000 charges: 2.5 GB peak
# RSS uncapped). The cap costs some speed, as DuckDB's JSON functions parse slower near it:
# `stripe-assets load` of 500,000 charges took 30.7 s at 659 MB with 512MB, 27.8 s at 914 MB
# with 1GB (benchmarks/bench_load.py --rss, 2026-12-03).
DUCKDB_MEMORY_LIMIT = "512MB"


def duckdb_io_manager() -> StripeDuckDBIOManager:
    database = str(settings.db_path())
    return StripeDuckDBIOManager(
        database=database,
        connection_config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": f"{database}.tmp",
        },
    )


def build_resources() -> dict[str, object]:
    return {"stripe": stripe_client(), "io_manager": duckdb_io_manager()}


def with_warehouse(resources: dict[str, object]) -> dict[str, object]:
    """`resources` plus the checks' `warehouse`: a read-only reader of the very file the IO
    manager writes (unless one is given)."""
    if "warehouse" in resources:
        return resources
    # Here, not at the top: it imports every check (~1 s), which the CLI's key pre-flight
    # (`stripe_client()`) and the sandbox commands never need.
    from stripe_assets.checks.warehouse import DuckDBReader

    database = resources["io_manager"].database  # type: ignore[attr-defined]
    return {**resources, "warehouse": DuckDBReader(database=database)}
