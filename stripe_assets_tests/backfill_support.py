"""A backfill of every asset with the multiprocess executor, run `RUNS` times in a row.

`python -m stripe_assets_tests.backfill_support DAGSTER_HOME RUNS START END` runs in a process of
its own: the executor's forkserver keeps the environment and the modules it preloaded
(stripe_assets.definitions, configured from STRIPE_* at import) for the life of the process
that started it, which must not be the test session's. Prints one JSON line per run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

MAX_CONCURRENT = 4  # steps at once: more than the machine's 2 cores, so writers meet


def run_backfill(home: Path, *, api_base: str, db: Path, first: date, last: date, runs: int,
                 requests_per_second: float, key: str, cwd: Path) -> list[dict[str, Any]]:
    """Run `main` in a process of its own against `api_base`; returns one dict per run
    (run_id, success). Fails the test with the process's stderr if it did not run."""
    # Here, not at the top: every step process of the backfill imports this module.
    from stripe_assets_tests.pipeline import subprocess_env

    env = subprocess_env({"STRIPE_API_KEY": key, "STRIPE_API_BASE": api_base,
                          "STRIPE_ASSETS_DB": str(db), "STRIPE_START_DATE": str(first),
                          "STRIPE_REQUESTS_PER_SECOND": str(requests_per_second)})
    result = subprocess.run(
        [sys.executable, "-m", "stripe_assets_tests.backfill_support", str(home), str(runs),
         str(first), str(last)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    done = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(done) == runs, result.stderr[-5000:]
    return [{**run, "stderr": result.stderr[-5000:]} for run in done]


def load_everything_job() -> dg.JobDefinition:
    from stripe_assets.definitions import defs

    return defs.resolve_job_def("load_everything")


def main(argv: list[str]) -> int:
    home, runs, start, end = argv[0], int(argv[1]), argv[2], argv[3]
    from stripe_assets.assets import all_assets

    # Every asset, not the asset checks: the backfill the UI launches for "Materialize all".
    job = dg.reconstructable(load_everything_job).get_subset(
        asset_selection={a.key for a in all_assets}, asset_check_selection=set()
    )
    run_config = {
        "execution": {"config": {"multiprocess": {
            "max_concurrent": MAX_CONCURRENT,
            "start_method": {"forkserver": {"preload_modules": ["stripe_assets.definitions"]}},
        }}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},  # the event log has all
    }
    for _ in range(runs):
        with dg.DagsterInstance.from_config(home) as instance:
            result = dg.execute_job(
                job, instance=instance, run_config=run_config,
                tags={"dagster/asset_partition_range_start": start,
                      "dagster/asset_partition_range_end": end},
            )
            print(json.dumps({"run_id": result.run_id, "success": result.success}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
