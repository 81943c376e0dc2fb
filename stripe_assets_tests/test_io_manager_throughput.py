"""The Stripe write path is vectorised: DuckDB does the JSON work, Python nothing per row."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import dagster as dg
import pytest

from stripe_assets.io_manager import ObjectSpool, StripeDuckDBIOManager, StripeObjects

from .io_support import API_VERSION, charge, page_body, query, ts

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

OBJECTS = 50_000
PAGE = 100  # Stripe's maximum page size


@pytest.fixture(scope="module")
def charges_spool(tmp_path_factory) -> Path:
    """50,000 realistic charges (~47 fields, nested JSON) as pretty-printed Stripe pages."""
    directory = tmp_path_factory.mktemp("spool")
    spool = ObjectSpool(directory=directory, prefix="charges")
    start = ts("2024-01-02")
    for first in range(0, OBJECTS, PAGE):
        page = [charge(i, start + i) for i in range(first, first + PAGE)]
        spool.add_page_body(page_body(page), len(page))
    return spool.finish()


def write(master: Path, db: Path) -> float:
    """Copy the spool and hand it to the IO manager; returns the seconds the write took."""
    spool = ObjectSpool(directory=master.parent, prefix="run")
    spool.finish()
    shutil.copyfile(master, spool.path)
    spool.object_count = OBJECTS
    manager = StripeDuckDBIOManager(database=str(db)).create_io_manager(None)
    context = dg.build_output_context(asset_key=["stripe", "charges"])
    started = time.perf_counter()
    manager.handle_output(context, StripeObjects(spool, API_VERSION))
    elapsed = time.perf_counter() - started
    assert not spool.path.exists()
    return elapsed


def test_writing_50000_charges_allocates_no_python_objects_per_row(charges_spool, tmp_path):
    # Speed is measured by benchmarks/bench_write.py, not asserted here: a shared machine's
    # timings are noise. What a test can prove: Python holds no per-row objects.
    write(charges_spool, tmp_path / "warm.duckdb")  # lazy imports, outside the trace
    tracemalloc.start()
    write(charges_spool, tmp_path / "traced.duckdb")
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert query(tmp_path / "traced.duckdb", "SELECT count(*) FROM stripe.charges") == [
        (OBJECTS,)
    ]
    assert python_peak < 5e6  # the spool is 160 MB; a per-row path would hold far more
