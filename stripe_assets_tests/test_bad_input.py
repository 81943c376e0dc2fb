"""Bad settings and bad answers, as a user of `stripe-assets load` meets them.

Each ends with one clear message that says what to do, no traceback, and the DuckDB file as it
was. (Covered elsewhere: `--start` after `--end`, a bad STRIPE_START_DATE and no key with a real
STRIPE_API_BASE in test_cli.py; the client's own errors in test_stripe_client.py.)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stripe_assets.sandbox import SandboxServer
from stripe_assets_tests.pipeline import load_everything
from stripe_assets_tests.reliability_support import (
    SMALL,
    closed_port,
    copy_database,
    days_of,
    snapshot,
)
from stripe_assets_tests.test_cli import run_cli
from stripe_assets_tests.test_stripe_client import answering

pytestmark = pytest.mark.slow  # runs whole loads
KEY = "sk_test_51BadInputKeyNeverShown00Zq9"
LOADED = ["customers", "payouts", "payment_links", "payout_summary"]
# A restricted key that may read everything but payouts.
WITHOUT_PAYOUTS = {"customers", "charges", "payment_intents", "setup_intents", "refunds",
                   "payment_links", "payment_methods", "events"}

Load = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file already holding a few tables of SMALL, as a previous load left it."""
    db = tmp_path_factory.mktemp("template") / "stripe.duckdb"
    with SandboxServer(SMALL) as server:
        outcomes = load_everything(server, db, names=LOADED)
    assert all(o.ok for o in outcomes), [(o.name, o.error) for o in outcomes]
    return db


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    return copy_database(template, tmp_path / "data" / "stripe.duckdb")


@pytest.fixture
def load(tmp_path: Path) -> Load:
    """`stripe-assets load` of LOADED over SMALL's days, as a subprocess."""

    def run(url: str, db: Path, key: str = KEY) -> subprocess.CompletedProcess[str]:
        first, last = days_of(SMALL)
        return run_cli(
            ["load", "--start", str(first), "--end", str(last), "--select", ",".join(LOADED)],
            {"STRIPE_API_KEY": key, "STRIPE_API_BASE": url, "STRIPE_ASSETS_DB": str(db),
             "STRIPE_START_DATE": str(first), "STRIPE_REQUESTS_PER_SECOND": "500"},
            tmp_path,
        )

    return run


def assert_one_error_line(result: subprocess.CompletedProcess[str], *says: str) -> str:
    """Exit code 2 (bad settings), nothing loaded, one `error:` line on stderr saying `says`."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in says:
        assert text in lines[0], lines[0]
    assert " ok " not in result.stdout and "FAIL" not in result.stdout
    assert KEY not in output and KEY[len("sk_test_"):] not in output
    return lines[0]


# ---- the key -------------------------------------------------------------------------------


def test_publishable_key_stops_before_any_request(sandbox_factory, db: Path, load: Load):
    server = sandbox_factory(SMALL)
    before = snapshot(db)
    result = load(server.url, db, key="pk_test_51PublishableKey0000abcd")
    assert_one_error_line(result, "publishable key", "pk_test_...abcd", "secret key (sk_...)")
    assert "pk_test_51PublishableKey0000abcd" not in result.stdout + result.stderr
    assert server.stats["requests"] == 0
    assert snapshot(db) == before


def test_revoked_key_stops_after_one_request_naming_the_masked_key(
    sandbox_factory, db: Path, load: Load
):
    server = sandbox_factory(SMALL, revoked_keys={KEY})
    before = snapshot(db)
    result = load(server.url, db)
    assert_one_error_line(result, "rejected the API key sk_test_...0Zq9", "set STRIPE_API_KEY")
    assert server.stats["requests"] == 1
    assert snapshot(db) == before


def test_restricted_key_without_one_permission_names_it_and_the_other_assets_load(
    sandbox_factory, db: Path, load: Load
):
    key = "rk_test_51RestrictedNoPayouts000abcd"
    server = sandbox_factory(SMALL, restricted_keys={key: WITHOUT_PAYOUTS})
    before, before_content = snapshot(db), snapshot(db, exclude=("_loaded_at",))
    result = load(server.url, db, key=key)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert result.stderr == "" and "Traceback" not in output and key not in output
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.lstrip().startswith("FAIL")]
    assert len(failed) == 2, output
    assert "stripe/payouts" in failed[0] and "'rak_payout_read'" in failed[0], failed[0]
    assert "Grant it" in failed[0] and "rk_test_...abcd" in failed[0], failed[0]
    assert "Error" not in failed[0]  # the sentence, not a class name
    assert "analytics/payout_summary" in failed[1], failed[1]
    assert "skipped: upstream stripe/payouts failed" in failed[1]
    loaded = [line for line in lines if line.lstrip().startswith("ok")]
    assert ["stripe/customers" in loaded[0], "stripe/payment_links" in loaded[1]] == [True, True]
    assert "2/4 assets loaded" in result.stdout
    after = snapshot(db)
    # What it may not read is untouched; what it may read was loaded again (new _loaded_at).
    assert after["stripe.payouts"] == before["stripe.payouts"]
    assert after["analytics.payout_summary"] == before["analytics.payout_summary"]
    assert after["stripe.customers"] != before["stripe.customers"]
    assert snapshot(db, exclude=("_loaded_at",)) == before_content


# ---- the server at STRIPE_API_BASE ---------------------------------------------------------


def test_unreachable_host_stops_within_seconds_pointing_at_stripe_api_base(db: Path, load: Load):
    before = snapshot(db)
    began = time.monotonic()
    url = f"http://127.0.0.1:{closed_port()}"
    result = load(url, db)
    assert time.monotonic() - began < 60
    assert_one_error_line(result, "ConnectionError", "Connection refused",
                          f"Check STRIPE_API_BASE ({url})")
    assert snapshot(db) == before


def test_html_answer_stops_saying_the_server_is_not_stripe(sandbox_factory, db: Path,
                                                           load: Load):
    server = sandbox_factory(SMALL)
    server.inject("invalid_json", count=1000)  # a captive portal's sign-in page, with 200
    before = snapshot(db)
    result = load(server.url, db)
    assert_one_error_line(result, "not JSON", "text/html",
                          f"Check STRIPE_API_BASE ({server.url})")
    assert snapshot(db) == before


@pytest.mark.parametrize(("body", "says"), [
    (b"this is not json", "not JSON"),
    (b'{"object": "list", "has_more": false}', "without a `data` list"),
    (b'{"object": "list", "has_more": false, "data": [{"object": "customer"}]}',
     "without an `id`"),
], ids=["not_json", "list_without_data", "object_without_id"])
def test_answer_that_is_not_a_stripe_list_stops_with_one_message(
    db: Path, load: Load, body: bytes, says: str
):
    before = snapshot(db)
    with answering(body) as url:
        result = load(url, db)
    assert_one_error_line(result, says, "STRIPE_API_BASE")
    assert snapshot(db) == before


# ---- the DuckDB file -----------------------------------------------------------------------


def test_corrupt_database_file_stops_before_fetching_and_is_left_as_it_was(
    sandbox_factory, tmp_path: Path, load: Load
):
    server = sandbox_factory(SMALL)
    db = tmp_path / "data" / "stripe.duckdb"
    db.parent.mkdir()
    garbage = b"this was stripe.duckdb until a bad copy\n" * 1000
    db.write_bytes(garbage)
    result = load(server.url, db)
    assert_one_error_line(result, f"STRIPE_ASSETS_DB={db}", "not a DuckDB database",
                          "move it aside")
    assert db.read_bytes() == garbage
    assert server.stats["requests"] == 0


@pytest.mark.parametrize("where", ["under_a_file", "a_directory"])
def test_unusable_database_path_stops_before_fetching(
    sandbox_factory, tmp_path: Path, load: Load, where: str
):
    server = sandbox_factory(SMALL)
    if where == "under_a_file":
        (tmp_path / "data").write_text("a file where a directory should be")
        db = tmp_path / "data" / "stripe.duckdb"
    else:
        db = tmp_path / "warehouse"
        db.mkdir()
    result = load(server.url, db)
    assert_one_error_line(result, f"STRIPE_ASSETS_DB={db}", "Point STRIPE_ASSETS_DB at" if
                          where == "under_a_file" else "is a directory")
    assert server.stats["requests"] == 0
    if where == "under_a_file":
        assert (tmp_path / "data").read_text() == "a file where a directory should be"
    else:
        assert list(db.iterdir()) == []


def test_restricted_key_without_the_permission_the_check_uses_still_loads_the_rest(
    sandbox_factory, db: Path, load: Load
):
    """The check before loading reads the first asset's list (customers): a 403 there is that
    asset's failure, not a reason to stop the others."""
    key = "rk_test_51RestrictedNoCustomers00wxyz"
    server = sandbox_factory(SMALL, restricted_keys={key: {"payouts", "payment_links"}})
    before = snapshot(db)
    result = load(server.url, db, key=key)
    assert result.returncode == 1 and result.stderr == "", result.stdout + result.stderr
    [failed] = [line for line in result.stdout.splitlines() if line.lstrip().startswith("FAIL")]
    assert "stripe/customers" in failed and "'rak_customer_read'" in failed, failed
    assert "3/4 assets loaded" in result.stdout
    after = snapshot(db)
    assert after["stripe.customers"] == before["stripe.customers"]
    assert after["stripe.payouts"] != before["stripe.payouts"]  # loaded again
