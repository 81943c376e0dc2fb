"""A run with a known key leaves that key nowhere: not in DAGSTER_HOME (event logs, run storage,
compute logs), not in the DuckDB file, not in the CLI's output, not in any error, not in the
metadata. Searched for whole, for its secret part without `sk_test_`, and as HTTP Basic auth.
"""

from __future__ import annotations

import base64
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from stripe_assets.assets import all_assets
from stripe_assets.database import open_database
from stripe_assets.load import load_assets
from stripe_assets.resources import build_resources
from stripe_assets_tests.reliability_support import SMALL, days_of
from stripe_assets_tests.test_cli import run_cli

pytestmark = pytest.mark.slow  # runs whole loads
KEY = "sk_test_51KnownKeyMustLeaveNoTrace4f9QxZ8vLm2Rt7"
SECRET = KEY[len("sk_test_"):]
NEEDLES = {
    "the key": KEY.encode(),
    "its secret part": SECRET.encode(),
    "the key as Basic auth": base64.b64encode(f"{KEY}:".encode()).rstrip(b"="),
}
MASKED = f"sk_test_...{KEY[-4:]}"  # how errors name it


def found_in(data: bytes) -> list[str]:
    return [name for name, needle in NEEDLES.items() if needle in data]


def sqlite_values(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every value of every column of every table, as bytes; zlib blobs (Dagster's compressed
    snapshots) decompressed."""
    with sqlite3.connect(path) as connection:
        tables = [t for (t,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        yield table, value.encode()
                    elif isinstance(value, bytes):
                        try:
                            yield table, zlib.decompress(value)
                        except zlib.error:
                            yield table, value


@dataclass(frozen=True)
class Runs:
    home: Path  # DAGSTER_HOME of every run
    db: Path
    outputs: list[str]  # the CLI's stdout and stderr
    errors: list[str]  # the failed runs' errors, as `stripe-assets load` shows them


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """A successful CLI load (with faults retried), then runs failing on the same key revoked:
    the CLI's check, and Dagster runs of two assets, all recording into one DAGSTER_HOME."""
    from stripe_assets.sandbox import SandboxServer

    root = tmp_path_factory.mktemp("secrets")
    home, db = root / "dagster_home", root / "data" / "stripe.duckdb"
    home.mkdir()
    first, last = days_of(SMALL)
    env = {"STRIPE_API_KEY": KEY, "STRIPE_ASSETS_DB": str(db), "DAGSTER_HOME": str(home),
           "STRIPE_START_DATE": str(first), "STRIPE_REQUESTS_PER_SECOND": "500"}
    outputs: list[str] = []
    with SandboxServer(SMALL) as server:
        for kind in ("500", "429", "reset", "invalid_json"):
            server.inject(kind, count=1, path_prefix="/v1/charges")
        ok = run_cli(["load", "--start", str(first), "--end", str(last)],
                     {**env, "STRIPE_API_BASE": server.url}, root)
        outputs += [ok.stdout, ok.stderr]
        assert ok.returncode == 0, ok.stdout + ok.stderr
        # The faults did happen, so the retries' messages and logs are among what is searched.
        assert server.stats.faults_injected == dict.fromkeys(("500", "429", "reset",
                                                              "invalid_json"), 1)
    with SandboxServer(SMALL, revoked_keys={KEY}) as revoked:
        refused = run_cli(["load", "--start", str(first), "--end", str(last)],
                          {**env, "STRIPE_API_BASE": revoked.url}, root)
        outputs += [refused.stdout, refused.stderr]
        assert refused.returncode == 2 and "rejected the API key" in refused.stderr
        # The same through Dagster runs that fail (the CLI's check stops before any run).
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {**env, "STRIPE_API_BASE": revoked.url}.items():
                patch.setenv(name, value)
            assets = [a for a in all_assets if a.key.path[-1] in ("charges", "payment_links")]
            with dg.DagsterInstance.from_config(str(home)) as instance:
                failed = load_assets(assets, build_resources(), instance, first, last,
                                     report=lambda outcome: None)
    assert [o.ok for o in failed] == [False, False]
    return Runs(home, db, outputs, [str(o.error) for o in failed])


def test_the_key_is_in_no_file_of_dagster_home(runs: Runs) -> None:
    home = runs.home
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    for path in files:
        assert not found_in(path.read_bytes()), path


def test_the_key_is_in_no_value_of_the_event_log_and_run_storage_databases(runs: Runs) -> None:
    home = runs.home
    databases = [p for p in home.rglob("*.db")]
    seen_masked = False
    for path in databases:
        for table, value in sqlite_values(path):
            assert not found_in(value), (path.name, table)
            seen_masked |= MASKED.encode() in value
    assert seen_masked, "the failing runs' errors (with the key masked) are stored and searched"


def test_the_key_is_in_no_event_error_or_materialization_metadata(runs: Runs) -> None:
    home = runs.home
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_runs()
        assert len(records) >= len(all_assets) + 2  # the CLI's runs and the two failed ones
        failures = 0
        for run in records:
            assert not found_in(serialize_value(run).encode()), run.run_id
            for entry in instance.all_logs(run.run_id):
                assert not found_in(serialize_value(entry).encode()), entry.message
                event = entry.dagster_event
                if event is not None and event.is_step_failure:
                    failures += 1
                    info = event.step_failure_data.error
                    assert info is not None and not found_in(info.to_string().encode())
        assert failures == 2
        metadata = 0
        for asset in all_assets:
            for record in instance.fetch_materializations(asset.key, limit=1000).records:
                assert record.asset_materialization is not None
                text = str(record.asset_materialization.metadata)
                assert not found_in(text.encode()), asset.key
                metadata += 1
        assert metadata >= len(all_assets)
    for shown in runs.errors:
        assert MASKED in shown and not found_in(shown.encode()), shown


def test_the_key_is_in_no_byte_and_no_column_of_the_duckdb_file(runs: Runs) -> None:
    db = runs.db
    assert not found_in(db.read_bytes())
    with open_database(db) as connection:
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('stripe', 'analytics')"
        ).fetchall()
        assert len(columns) > 100
        for schema, table, column in columns:
            for needle in NEEDLES.values():
                [(hits,)] = connection.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" '
                    f'WHERE contains(CAST("{column}" AS VARCHAR), ?)', [needle.decode()]
                ).fetchall()
                assert hits == 0, (table, column)


def test_the_key_is_not_in_what_the_cli_printed(runs: Runs) -> None:
    outputs = runs.outputs
    assert any(MASKED in text for text in outputs)  # the revoked key, as the CLI names it
    for text in outputs:
        assert not found_in(text.encode()), text
