"""Processes that read one account at once share its rate limit, with no Dagster instance in
common: two `stripe-assets load` started together (no DAGSTER_HOME, so no shared pool) stay
under the account's limit between them, as the server counts it."""

from __future__ import annotations

import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets_tests.pipeline import start

ACCOUNT = SandboxConfig(seed=41, customers=40, charges=3000, days=10, end=date(2025, 6, 30))
LIMIT = 20  # requests per second: the sandbox's account-wide limit and each client's
KEY = "sk_test_51SharedPace0000000000000aaaa"
# One load per table, so that the server's counts per path tell the two loads apart.
TABLES = {"charges": "/v1/charges", "payment_intents": "/v1/payment_intents"}


def start_load(table: str, db: Path, api_base: str, cwd: Path) -> subprocess.Popen[str]:
    env = {"STRIPE_API_KEY": KEY, "STRIPE_API_BASE": api_base, "STRIPE_ASSETS_DB": str(db),
           "STRIPE_START_DATE": "2025-06-21", "STRIPE_REQUESTS_PER_SECOND": str(LIMIT)}
    return start(["stripe_assets.cli", "load", "--select", table, "--end", "2025-06-30"],
                 env, cwd)


def fetching_seconds(server: SandboxServer, loads: list[subprocess.Popen[str]]
                     ) -> dict[str, list[float]]:
    """Until the loads end: for each table, the ticks (every 0.25 s) in which its count grew."""
    grew: dict[str, list[float]] = {path: [] for path in TABLES.values()}
    before = {path: 0 for path in TABLES.values()}
    while any(load.poll() is None for load in loads):
        time.sleep(0.25)
        tick, counts = time.monotonic(), server.stats.requests_by_path
        for path in TABLES.values():
            if counts.get(path, 0) > before[path]:
                grew[path].append(tick)
            before[path] = counts.get(path, 0)
    return grew


@pytest.mark.slow
def test_two_loads_at_once_stay_under_the_account_limit_together(sandbox_factory, tmp_path):
    server = sandbox_factory(ACCOUNT, rate_limit=LIMIT)
    loads = [start_load(table, tmp_path / f"{table}.duckdb", server.url, tmp_path)
             for table in TABLES]
    grew = fetching_seconds(server, loads)
    outputs = [load.communicate(timeout=300)[0] for load in loads]
    assert [load.returncode for load in loads] == [0, 0], outputs

    # The two fetched at once (both counts grew in the same quarter second, for a second or
    # more): otherwise there would have been nothing to share.
    charges, intents = grew.values()
    assert len(set(charges) & set(intents)) >= 4, grew
    stats = server.stats
    # Each load needs 30+ pages: together, over 3 s at the limit. Each pacing alone sent ~32 in
    # 1 s and got 429s.
    assert stats.total_requests >= 60, stats
    assert stats.rate_limited == 0, outputs
    assert stats.max_requests_in_1s <= LIMIT, stats
