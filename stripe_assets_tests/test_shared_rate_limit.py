"""Processes that read one account at once share its rate limit, with no Dagster instance in
common: two `stripe-assets load` started together (no DAGSTER_HOME, so no shared pool) stay
under the account's limit between them, as the server counts it."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from stripe_assets.sandbox import SandboxConfig
from stripe_assets_tests.test_reliability_crash import start

ACCOUNT = SandboxConfig(seed=41, customers=40, charges=3000, days=10, end=date(2025, 6, 30))
LIMIT = 20  # requests per second: the sandbox's account-wide limit and each client's
KEY = "sk_test_51SharedPace0000000000000aaaa"


def start_load(db: Path, api_base: str, cwd: Path) -> subprocess.Popen[str]:
    env = {"STRIPE_API_KEY": KEY, "STRIPE_API_BASE": api_base, "STRIPE_ASSETS_DB": str(db),
           "STRIPE_START_DATE": "2025-06-21", "STRIPE_REQUESTS_PER_SECOND": str(LIMIT)}
    return start(["stripe_assets.cli", "load", "--select", "charges", "--end", "2025-06-30"],
                 env, cwd)


@pytest.mark.slow
def test_two_loads_at_once_stay_under_the_account_limit_together(sandbox_factory, tmp_path):
    server = sandbox_factory(ACCOUNT, rate_limit=LIMIT)
    loads = [start_load(tmp_path / f"load{i}.duckdb", server.url, tmp_path) for i in (1, 2)]
    outputs = [load.communicate(timeout=300)[0] for load in loads]
    assert [load.returncode for load in loads] == [0, 0], outputs

    stats = server.stats
    # Each load needs 30+ pages: together, over 3 s at the limit, both fetching at once (each
    # starts its fetch ~3 s after launch). Each pacing alone sent ~32 in 1 s and got 429s.
    assert stats.total_requests >= 60, stats
    assert stats.rate_limited == 0, outputs
    assert stats.max_requests_in_1s <= LIMIT, stats
