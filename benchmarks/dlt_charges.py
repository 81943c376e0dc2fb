"""Load every charge with dlt's `rest_api` source into DuckDB (run in benchmarks/.venv-dlt).

Configured as dlt's Stripe examples are: `bearer` auth, the `data` selector, and a `cursor`
paginator that sends the last object's id as `starting_after` (stopping on `has_more`).
Run by bench_load.py as a subprocess; prints one JSON line with the row count and phase times.

    STRIPE_API_KEY=sk_test_x .venv-dlt/bin/python dlt_charges.py --base-url URL --workdir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import dlt
import duckdb
from dlt.sources.rest_api import rest_api_source

DATASET = "stripe_dlt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the API base, e.g. the sandbox URL")
    parser.add_argument("--workdir", required=True, help="dlt's pipelines dir and DuckDB file")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "bench_dlt.duckdb"

    source = rest_api_source(
        {
            "client": {
                "base_url": args.base_url.rstrip("/") + "/v1/",
                "auth": {"type": "bearer", "token": os.environ["STRIPE_API_KEY"]},
                "paginator": {
                    "type": "cursor",
                    "cursor_path": "data[-1].id",
                    "cursor_param": "starting_after",
                    "has_more_path": "has_more",
                },
            },
            "resources": [
                {
                    "name": "charges",
                    "endpoint": {
                        "path": "charges",
                        "params": {"limit": 100},
                        "data_selector": "data",
                    },
                },
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(db_path)),
        dataset_name=DATASET,
    )
    phases: dict[str, float] = {}
    began = time.monotonic()
    pipeline.extract(source)
    phases["extract_s"] = time.monotonic() - began
    mark = time.monotonic()
    pipeline.normalize()
    phases["normalize_s"] = time.monotonic() - mark
    mark = time.monotonic()
    pipeline.load()
    phases["load_s"] = time.monotonic() - mark
    with duckdb.connect(str(db_path), read_only=True) as connection:
        row = connection.execute(f"SELECT count(*) FROM {DATASET}.charges").fetchone()
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ?", [DATASET]
        ).fetchone()
    print(json.dumps({"rows": row[0] if row else 0, "tables": tables[0] if tables else 0,
                      "db": str(db_path), **{k: round(v, 3) for k, v in phases.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
