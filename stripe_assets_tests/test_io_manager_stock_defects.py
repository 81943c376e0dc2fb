"""The stock DuckDBPandasIOManager's defects, each proved on it and shown fixed in ours.

Every test runs one scenario through both managers: ours (assets return StripeObjects) and the
stock one (assets return the same objects as a DataFrame). The stock runs are strict xfails: if
the stock manager ever stops failing, the test says so.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from stripe_assets.io_manager import StripeObjects

from .io_support import (
    OURS,
    REPO_ROOT,
    STOCK,
    DuckDBPandasIOManager,
    charges_asset,
    column_types,
    error_text,
    frame,
    io_manager,
    query,
    spool_of,
    ts,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def flavors(defect: str) -> list:
    return [
        pytest.param(OURS, id=OURS),
        pytest.param(
            STOCK,
            id=STOCK,
            marks=[
                pytest.mark.skipif(
                    DuckDBPandasIOManager is None,
                    reason="dagster-duckdb-pandas is not installed (a dev-only dependency)",
                ),
                pytest.mark.xfail(strict=True, reason=defect),
            ],
        ),
    ]


def materialize(flavor: str, db, asset, partition_key: str, raise_on_error: bool = True):
    return dg.materialize(
        [asset],
        partition_key=partition_key,
        resources={"io_manager": io_manager(flavor, db)},
        raise_on_error=raise_on_error,
    )


def charge(i: int, created: int, **fields) -> dict:
    """Flat charge rows (the stock manager gets them as a DataFrame)."""
    return {"id": f"ch_{i}", "created": created, "amount": 100 * i, "currency": "usd", **fields}


@pytest.mark.parametrize(
    "flavor", flavors("a field new in a later partition fails the insert (N columns, M values)")
)
def test_field_new_in_a_later_partition_adds_a_column(flavor, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    batches = {
        "2024-01-02": [charge(1, ts("2024-01-02", 3))],
        "2024-01-03": [charge(2, ts("2024-01-03", 3), risk_level="elevated")],
    }
    asset = charges_asset(flavor, batches)
    materialize(flavor, db, asset, "2024-01-02")
    materialize(flavor, db, asset, "2024-01-03")

    assert query(db, "SELECT id, risk_level FROM stripe.charges ORDER BY id") == [
        ("ch_1", None),
        ("ch_2", "elevated"),
    ]


@pytest.mark.parametrize(
    "flavor", flavors("an empty result skips creating the table, so downstream SQL fails")
)
def test_empty_result_still_leaves_a_readable_table(flavor, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    asset = charges_asset(flavor, {"2024-01-02": []})
    materialize(flavor, db, asset, "2024-01-02")

    day = "created >= TIMESTAMPTZ '2024-01-02 00:00:00+00'"
    assert query(db, f"SELECT count(*) FROM stripe.charges WHERE {day}") == [(0,)]
    assert column_types(db, "stripe.charges") == {
        "id": "VARCHAR",
        "created": "TIMESTAMP WITH TIME ZONE",
        "_stripe_api_version": "VARCHAR",
        "_loaded_at": "TIMESTAMP WITH TIME ZONE",
    }


def _failing_output(flavor: str):
    """A second write of the day that fails once the old slice is already deleted."""
    if flavor == OURS:
        spool = spool_of([charge(9, ts("2024-01-02", 5))])
        spool.add_page_body(b'{"object": "list", "data": [{"id": "ch_10", "created": 17', 1)
        return lambda: StripeObjects(spool, "2024-06-20")
    # The stock manager fails when a value cannot be cast to the column's type.
    return lambda: frame([charge(9, ts("2024-01-02", 5)) | {"amount": "not a number"}])


def lock_is_free(db) -> bool:
    """Can another process open the file for writing right now?"""
    probe = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return probe.returncode == 0


@pytest.mark.parametrize(
    "flavor",
    flavors(
        "delete and insert are separate statements: a failed insert leaves the slice empty"
        " (and the failed write leaks its connection)"
    ),
)
def test_failed_write_keeps_previous_rows_and_releases_the_lock(flavor, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    batches = {"2024-01-02": [charge(1, ts("2024-01-02", 1)), charge(2, ts("2024-01-02", 2))]}
    asset = charges_asset(flavor, batches)
    materialize(flavor, db, asset, "2024-01-02")

    batches["2024-01-02"] = _failing_output(flavor)
    result = materialize(flavor, db, asset, "2024-01-02", raise_on_error=False)

    assert not result.success
    assert lock_is_free(db)
    assert query(db, "SELECT id FROM stripe.charges ORDER BY id") == [("ch_1",), ("ch_2",)]
    if flavor == OURS:
        assert "stripe.charges" in error_text(result)


@pytest.mark.parametrize(
    "flavor",
    flavors(
        "partition bounds are naive literals read in the OS time zone: a re-run under"
        " TZ=America/New_York leaves the 00:00-05:00 UTC rows in place and duplicates them"
    ),
)
def test_rerun_under_new_york_time_zone_replaces_the_day_without_duplicates(flavor, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from stripe_assets_tests.io_support import tz_rerun_worker as run;"
            " run(sys.argv[1], sys.argv[2])",
            str(db),
            flavor,
        ],
        env={**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )

    assert query(db, "SELECT id, count(*) FROM stripe.charges GROUP BY id ORDER BY id") == [
        ("ch_early", 1),
        ("ch_noon", 1),
    ]
