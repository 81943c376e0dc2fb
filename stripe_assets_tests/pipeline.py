"""Run the project's real assets against a sandbox server into a real DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from stripe_assets.assets import all_assets
from stripe_assets.database import open_database
from stripe_assets.io_manager import StripeDuckDBIOManager
from stripe_assets.load import AssetOutcome, load_assets
from stripe_assets.stripe_client import StripeClient

TEST_KEY = "sk_test_51PipelineKeyNeverLogged7Hq2"
REPO = Path(__file__).resolve().parents[1]


def env_without_project_settings() -> dict[str, str]:
    """This process's environment minus the project's settings (STRIPE_*, DAGSTER_HOME), for a
    subprocess that must see only what its test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DAGSTER_HOME"))}


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for a `python -m` of this checkout's modules: only `env`'s project
    settings, and the checkout first on PYTHONPATH."""
    clean = env_without_project_settings()
    path = os.pathsep.join([str(REPO), *filter(None, [clean.get("PYTHONPATH")])])
    return {**clean, **env, "PYTHONPATH": path}


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`python -m *args` with only `env`'s project settings, its output (and errors) piped."""
    return subprocess.Popen(
        [sys.executable, "-m", *args], cwd=cwd, text=True, env=subprocess_env(env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def resources_for(url: str, db: Path, key: str = TEST_KEY, **client: Any) -> dict[str, object]:
    options: dict[str, object] = {"requests_per_second": 1000, "retry_base_delay_seconds": 0.01}
    options.update(client)
    return {
        "stripe": StripeClient(api_key=key, api_base=url, **options),  # type: ignore[arg-type]
        "io_manager": StripeDuckDBIOManager(database=str(db)),
    }


def sandbox_days(server) -> tuple[date, date]:
    """First and last day holding objects in the sandbox account."""
    created = [o["created"] for name in ("charges", "customers", "payouts", "refunds")
               for o in server.account.objects(name)]
    first = datetime.fromtimestamp(min(created), UTC).date()
    last = datetime.fromtimestamp(max(created), UTC).date()
    return first, last


def load_everything(
    server, db: Path, names: Sequence[str] | None = None,
    instance: dg.DagsterInstance | None = None, days: tuple[date, date] | None = None,
    **client: Any,
) -> list[AssetOutcome]:
    """Load `names` (default all assets) for `days` (default every day the sandbox has)."""
    start, end = days or sandbox_days(server)
    assets = [a for a in all_assets if names is None or a.key.path[-1] in names]
    with instance or dg.DagsterInstance.ephemeral() as inst:
        return load_assets(assets, resources_for(server.url, db, **client), inst, start, end,
                           report=lambda outcome: None)


def rows(db: Path, sql: str) -> list[tuple]:
    with open_database(db) as con:
        return con.execute(sql).fetchall()
