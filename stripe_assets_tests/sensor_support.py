"""A small world for the freshness tests: a sandbox with a movable clock, a DuckDB file, a Dagster
instance, and the project's real definitions bound to them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import requests

from stripe_assets.assets import all_assets
from stripe_assets.automation.events_sensor import build_stripe_events_sensor
from stripe_assets.checks import DuckDBReader, all_checks
from stripe_assets.jobs import all_jobs
from stripe_assets.load import load_assets
from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets_tests.pipeline import resources_for, rows, sandbox_days

# Small, so that a test loads its tables in a second or two. History ends on END_DAY.
SMALL_CONFIG = SandboxConfig(seed=7, customers=40, charges=150, days=120, end=date(2025, 6, 30))
AUTH = ("sk_test_writer", "")
# The default file name: the catalog is then called `stripe` like the schema, which every
# reader of `stripe.<table>` must cope with.
DB_NAME = "stripe.duckdb"


class Clock:
    """`now` for the sandbox and the sensor alike; tests move it forward."""

    def __init__(self, now: int):
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, level: int = logging.DEBUG) -> str:
        return "\n".join(r.getMessage() for r in self.records if r.levelno >= level)


@dataclass
class World:
    server: SandboxServer
    clock: Clock
    db: Path
    instance: dg.DagsterInstance
    resources: dict[str, Any] = field(init=False)
    defs: dg.Definitions = field(init=False)

    def __post_init__(self) -> None:
        self.resources = {**resources_for(self.server.url, self.db),
                          "warehouse": DuckDBReader(database=str(self.db))}
        self.defs = dg.Definitions(assets=all_assets, asset_checks=all_checks, jobs=all_jobs,
                                   resources=self.resources)

    def load(self, names: Sequence[str]) -> None:
        """Load the history of these tables (in dependency order), as `stripe-assets load`."""
        start, end = sandbox_days(self.server)
        assets = [a for a in all_assets if a.key.path[-1] in names]
        outcomes = load_assets(assets, self.resources, self.instance, start, end,
                               report=lambda outcome: None)
        assert [(o.name, o.error) for o in outcomes if not o.ok] == []

    def tick(self, cursor: str | None, **sensor_options: Any) -> tuple[dg.SensorResult, Captured]:
        sensor = build_stripe_events_sensor(clock=self.clock, **sensor_options)
        context = dg.build_sensor_context(cursor=cursor, instance=self.instance,
                                          resources={"stripe": self.resources["stripe"]})
        captured = Captured()
        context.log.addHandler(captured)
        result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        return result, captured

    def run(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        """Launch a requested run as the daemon would: its job, selection, partition and tags."""
        job = self.defs.resolve_job_def(request.job_name or "")
        result = job.execute_in_process(
            instance=self.instance, partition_key=request.partition_key, tags=request.tags,
            asset_selection=request.asset_selection, raise_on_error=False,
        )
        assert result.success, request
        return result

    def materialize(self, analytics_name: str) -> None:
        """What the automation sensor launches for an analytics asset."""
        key = dg.AssetKey(["analytics", analytics_name])
        result = dg.materialize(all_assets, selection=[key], resources=self.resources,
                                instance=self.instance)
        assert result.success

    def post(self, path: str, data: dict[str, str] | None = None) -> dict[str, Any]:
        response = requests.post(f"{self.server.url}{path}", data=data or {}, auth=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def delete(self, path: str) -> dict[str, Any]:
        response = requests.delete(f"{self.server.url}{path}", auth=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def rows(self, sql: str) -> list[tuple]:
        return rows(self.db, sql)


def requested(result: dg.SensorResult) -> set[tuple[str, str]]:
    """Each run request as (asset, partitions): "2025-01-02", "2025-01-01..2025-01-03" or "all"."""
    out = set()
    for request in result.run_requests or []:
        assert request.asset_selection and len(request.asset_selection) == 1
        key = request.asset_selection[0].to_user_string()
        tags = request.tags
        if request.partition_key:
            out.add((key, request.partition_key))
        elif "dagster/asset_partition_range_start" in tags:
            out.add((key, f"{tags['dagster/asset_partition_range_start']}.."
                          f"{tags['dagster/asset_partition_range_end']}"))
        else:
            out.add((key, "all"))
    return out
