"""Runs and steps that execute at once share the account's rate limit through the `stripe_api`
pool: with the project's dagster.yaml, a multiprocess backfill of every asset calls Stripe from
one step at a time, and the requests the sandbox sees stay under the limit."""

from __future__ import annotations

import shutil
from datetime import date

import dagster as dg
import pytest

from stripe_assets.assets import all_assets
from stripe_assets.endpoints import STRIPE_API_POOL
from stripe_assets.sandbox import SandboxConfig
from stripe_assets_tests.backfill_support import run_backfill
from stripe_assets_tests.pipeline import REPO
from stripe_assets_tests.reliability_support import days_of, most_at_once, step_windows

ACCOUNT = SandboxConfig(seed=37, customers=30, charges=150, days=3, end=date(2025, 6, 30))
LIMIT = 20  # requests per second, the sandbox's and each client's


def api_steps() -> set[str]:
    """Step keys of the assets that call the Stripe API (they declare the pool)."""
    return {"__".join(a.key.path) for a in all_assets if a.op.pool == STRIPE_API_POOL}


def test_every_asset_that_calls_stripe_is_in_the_pool_and_the_instance_gives_it_one_slot(
    tmp_path,
):
    assert len(api_steps()) == 9  # 8 endpoints + events
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")  # its storage goes there too
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        # ...and a run that dies holding it gives it back (the monitoring daemon frees it).
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0


@pytest.mark.slow
def test_multiprocess_backfill_calls_stripe_from_one_step_at_a_time(sandbox_factory, tmp_path):
    server = sandbox_factory(ACCOUNT, rate_limit=LIMIT)
    first, last = days_of(ACCOUNT)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    run = run_backfill(home, api_base=server.url, db=tmp_path / "stripe.duckdb", first=first,
                       last=last, runs=1, requests_per_second=LIMIT,
                       key="sk_test_51PoolKey000000000000000aaaa", cwd=tmp_path)[0]
    assert run["success"], run["stderr"]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.all_logs(run["run_id"])
    steps = step_windows(records, "STEP_START", "STEP_SUCCESS")
    calling = {key: window for key, window in steps.items() if key in api_steps()}
    assert len(calling) == 9, sorted(steps)
    # Four steps may run at once (backfill_support.MAX_CONCURRENT), yet one calls Stripe.
    assert most_at_once(calling) == 1, calling
    assert server.stats.max_requests_in_1s <= LIMIT
    assert server.stats.rate_limited == 0
