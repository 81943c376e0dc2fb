"""Every asset materialized for real: sandbox over HTTP → Dagster → DuckDB file."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import requests

from stripe_assets.automation.retention import RETENTION_SECONDS, first_fetchable_day
from stripe_assets.sandbox import SandboxConfig
from stripe_assets_tests.io_support import ts
from stripe_assets_tests.pipeline import load_everything, rows, sandbox_days
from stripe_assets_tests.sensor_support import AUTH

pytestmark = pytest.mark.slow  # runs whole loads
TABLES = ["stripe.customers", "stripe.charges", "stripe.payment_intents", "stripe.setup_intents",
          "stripe.refunds", "stripe.payouts", "stripe.payment_links", "stripe.payment_methods",
          "analytics.refund_rates", "analytics.payout_summary"]

# Written out here rather than imported, so the test checks the project's table independently.
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}


def major(amount: int, currency: str) -> Decimal:
    exp = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    return Decimal(amount).scaleb(-exp)


def day(ts: int):
    return datetime.fromtimestamp(ts, UTC).date()


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("e2e") / "stripe.duckdb"
    outcomes = load_everything(sandbox, path)
    failures = [(o.name, o.error) for o in outcomes if not o.ok]
    assert not failures
    return path


def test_all_ten_tables_exist_and_are_not_empty(db):
    for table in TABLES:
        assert rows(db, f"SELECT count(*) FROM {table}")[0][0] > 0, table


@pytest.mark.parametrize("name", ["customers", "charges", "payment_intents", "setup_intents",
                                  "refunds", "payouts", "payment_links"])
def test_each_table_holds_exactly_the_objects_stripe_lists(db, sandbox, name):
    expected = sorted(o["id"] for o in sandbox.account.objects(name))
    loaded = sorted(r[0] for r in rows(db, f"SELECT id FROM stripe.{name}"))
    assert loaded == expected


def test_payment_methods_are_saved_ones_plus_guest_ones_referenced_by_intents_and_charges(
    db, sandbox,
):
    account = sandbox.account
    listed = {c["id"] for c in account.objects("customers")}  # deleted ones are not
    saved = {o["id"] for o in account.objects("payment_methods") if o.get("customer") in listed}
    by_intents = {o["payment_method"] for name in ("payment_intents", "setup_intents")
                  for o in account.objects(name) if o.get("payment_method")}
    by_charges = {o["payment_method"] for o in account.objects("charges")
                  if o.get("payment_method")}
    loaded = {r[0] for r in rows(db, "SELECT id FROM stripe.payment_methods")}
    assert loaded == saved | by_intents | by_charges
    # After a declined attempt Stripe clears the intent's payment_method: the failed charge
    # is the only object left naming a guest's method.
    assert by_charges - by_intents - saved, "the sandbox has such failed guest charges"
    guests = rows(db, "SELECT count(*) FROM stripe.payment_methods WHERE customer IS NULL")
    assert guests[0][0] > 0


def test_columns_are_typed_from_stripe_fields(db):
    types = dict(rows(db, "SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_schema = 'stripe' AND table_name = 'charges'"))
    assert types["id"] == "VARCHAR"
    assert types["amount"] == "BIGINT"
    assert types["created"] == "TIMESTAMP WITH TIME ZONE"
    assert types["captured"] == "BOOLEAN"
    assert types["billing_details"] == "JSON"
    assert types["_stripe_api_version"] == "VARCHAR"
    assert types["_loaded_at"] == "TIMESTAMP WITH TIME ZONE"
    payouts = dict(rows(db, "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = 'stripe' AND table_name = 'payouts'"))
    assert payouts["arrival_date"] == "TIMESTAMP WITH TIME ZONE"


def test_each_raw_asset_declares_its_columns_as_the_loaded_table_has_them(db):
    # The schema the UI shows before any load must not promise a column or type the load
    # does not give: each declared column is in the loaded table, with that DuckDB type.
    import dagster as dg
    from dagster._core.definitions.metadata import TableMetadataSet

    from stripe_assets.definitions import defs

    for name in ("customers", "charges", "payment_intents", "payment_methods", "setup_intents",
                 "refunds", "payment_links", "payouts", "events"):
        spec = defs.get_assets_def(dg.AssetKey(["stripe", name])).specs_by_key[
            dg.AssetKey(["stripe", name])]
        schema = TableMetadataSet.extract(spec.metadata).column_schema
        assert schema is not None, name
        declared = {c.name: c.type for c in schema.columns}
        loaded = dict(rows(db, "SELECT column_name, data_type FROM information_schema.columns "
                               f"WHERE table_schema = 'stripe' AND table_name = '{name}'"))
        assert {"id", "_loaded_at"} <= set(declared), name
        assert {c: loaded.get(c) for c in declared} == declared, name


def test_refund_rates_match_an_independent_computation(db, sandbox):
    refunded: dict[str, int] = defaultdict(int)
    for r in sandbox.account.objects("refunds"):
        if r["status"] == "succeeded":
            refunded[r["charge"]] += r["amount"]
    expected: dict[tuple, list[int]] = {}
    for c in sandbox.account.objects("charges"):
        if c["status"] != "succeeded" or not c["captured"]:  # authorizations are no payments
            continue
        row = expected.setdefault((day(c["created"]), c["currency"]), [0, 0, 0, 0])
        row[0] += 1
        row[1] += c["id"] in refunded
        row[2] += c["amount_captured"]
        row[3] += refunded.get(c["id"], 0)
    got = {(r[0], r[1]): r[2:] for r in rows(db, """
        SELECT charge_day, currency, charges_succeeded, charges_refunded, amount_charged,
               amount_refunded, refund_rate_count, refund_rate_amount, amount_charged_major,
               amount_refunded_major FROM analytics.refund_rates""")}
    assert set(got) == set(expected)
    currencies = {c for _, c in expected}
    assert currencies & ZERO_DECIMAL and currencies & THREE_DECIMAL, currencies
    for key, (n, n_ref, charged, amount_refunded) in expected.items():
        g = got[key]
        assert g[:4] == (n, n_ref, charged, amount_refunded), key
        assert g[4] == pytest.approx(n_ref / n)
        assert g[5] == pytest.approx(amount_refunded / charged if charged else None)
        assert g[6] == major(charged, key[1])
        assert g[7] == major(amount_refunded, key[1])
    assert any(v[1] for v in expected.values()), "the sandbox has refunded charges"
    uncaptured = [c for c in sandbox.account.objects("charges")
                  if c["status"] == "succeeded" and not c["captured"]]
    assert uncaptured, "the sandbox has authorizations never captured, left out above"


def test_payout_summary_matches_an_independent_computation(db, sandbox):
    expected: dict[tuple, list] = {}
    for p in sandbox.account.objects("payouts"):
        arrival = day(p["arrival_date"]).replace(day=1)
        key = (arrival, p["currency"], p["status"], p["method"])
        row = expected.setdefault(key, [0, 0, p["arrival_date"], p["arrival_date"]])
        row[0] += 1
        row[1] += p["amount"]
        row[2] = min(row[2], p["arrival_date"])
        row[3] = max(row[3], p["arrival_date"])
    got = {tuple(r[:4]): r[4:] for r in rows(db, """
        SELECT arrival_month, currency, status, method, payouts, amount, amount_major,
               avg_amount_major, epoch(first_arrival)::BIGINT, epoch(last_arrival)::BIGINT
        FROM analytics.payout_summary""")}
    assert set(got) == set(expected)
    assert {k[1] for k in expected} & ZERO_DECIMAL
    for key, (n, amount, first, last) in expected.items():
        g = got[key]
        assert g[0] == n and g[1] == amount
        assert g[2] == major(amount, key[1])
        # The average is rounded half away from zero to 3 decimals (0.001 of a major unit).
        assert g[3] == (major(amount, key[1]) / n).quantize(Decimal("0.001"), ROUND_HALF_UP)
        assert (g[4], g[5]) == (first, last)


def test_every_row_records_the_pinned_api_version(db):
    for table in TABLES[:8]:
        versions = rows(db, f"SELECT DISTINCT _stripe_api_version FROM {table}")
        assert versions == [("2024-06-20",)], table


def test_a_new_account_with_no_refunds_or_payouts_still_gets_tables_and_analytics(
    sandbox_factory, tmp_path
):
    from dataclasses import replace

    from stripe_assets_tests.conftest import SANDBOX_CONFIG

    server = sandbox_factory(replace(SANDBOX_CONFIG, charges=150, refund_rate=0.0, payouts=0))
    db = tmp_path / "stripe.duckdb"
    outcomes = load_everything(server, db, names=["charges", "refunds", "payouts",
                                                  "refund_rates", "payout_summary"])
    assert [(o.name, o.error) for o in outcomes if not o.ok] == []
    assert rows(db, "SELECT count(*) FROM stripe.refunds") == [(0,)]
    refund_columns = dict(rows(db, "SELECT column_name, data_type FROM information_schema.columns"
                                   " WHERE table_name = 'refunds'"))
    assert refund_columns["charge"] == "VARCHAR" and refund_columns["amount"] == "BIGINT"
    assert rows(db, "SELECT sum(charges_refunded) FROM analytics.refund_rates") == [(0,)]
    assert rows(db, "SELECT count(*) FROM analytics.payout_summary") == [(0,)]


def test_reloading_days_stripe_no_longer_serves_events_for_keeps_the_stored_events(
    sandbox_factory, tmp_path
):
    from dataclasses import replace

    from stripe_assets_tests.conftest import SANDBOX_CONFIG

    config = replace(SANDBOX_CONFIG, charges=150)
    db = tmp_path / "stripe.duckdb"
    full = sandbox_factory(config)
    assert load_everything(full, db, names=["events"])[0].ok
    stored = rows(db, "SELECT count(*), count(DISTINCT id) FROM stripe.events")[0]
    assert stored[0] == stored[1] == len(full.account.objects("events"))
    # Later: Stripe serves only the last 30 days; the same range is loaded again.
    later = sandbox_factory(replace(config, event_retention_days=30))
    served = len(later.account.objects("events"))
    assert 0 < served < stored[0]
    assert load_everything(later, db, names=["events"])[0].ok
    assert rows(db, "SELECT count(*), count(DISTINCT id) FROM stripe.events")[0] == stored


@pytest.mark.parametrize("retention_days", [30, None])
def test_events_warn_about_days_stripe_no_longer_serves_only_when_they_came_back_empty(
    sandbox_factory, tmp_path, retention_days
):
    """Stripe keeps 30 days of events: a range reaching further back warns that those days
    came back empty. A server that keeps more (the sandbox by default) served them: no warning."""
    config = SandboxConfig(customers=20, charges=120, days=45, event_retention_days=retention_days)
    (outcome,) = load_everything(sandbox_factory(config), tmp_path / "stripe.duckdb",
                                 names=["events"])
    assert outcome.ok
    warned = [w for w in outcome.warnings if "events of the last 30 days only" in w]
    assert len(warned) == (1 if retention_days else 0), outcome.warnings
    if warned:  # the days not served, up to the first (partial) one served: not the range's end
        assert f"..{first_fetchable_day(int(time.time()))} came back empty" in warned[0], warned


def test_events_warn_when_only_the_end_of_the_day_before_stripes_30_days_came_back(
    sandbox_factory, tmp_path
):
    """Stripe keeps events from 30 days before *now*, mid-day: the day before the first
    fetchable one comes back partial, which does not mean the server keeps more days."""
    config = SandboxConfig(customers=40, charges=900, days=35, event_retention_days=30)
    offset = [0.0]
    server = sandbox_factory(config, clock=lambda: time.time() + offset[0])
    now = time.time()
    fetchable_at = ts(first_fetchable_day(int(now)).isoformat())
    # However late in the UTC day, that partial day has an event: a refund made in its last
    # second (the sandbox's clock set back for it; the generated ones may all be earlier).
    charge = next(c for c in server.account.objects("charges")
                  if c["status"] == "succeeded" and not c["refunded"]
                  and c["created"] < fetchable_at - 1)
    offset[0] = fetchable_at - 1 - time.time()
    refunded = requests.post(f"{server.url}/v1/refunds", data={"charge": charge["id"]},
                             auth=AUTH, timeout=30)
    offset[0] = 0.0
    assert refunded.status_code == 200, refunded.text
    partial = [e["created"] for e in server.account.objects("events")
               if e["created"] < fetchable_at]
    assert partial
    assert min(partial) >= now - RETENTION_SECONDS - 60  # the sandbox keeps what Stripe keeps
    (outcome,) = load_everything(server, tmp_path / "stripe.duckdb", names=["events"])
    assert outcome.ok
    warned = [w for w in outcome.warnings if "events of the last 30 days only" in w]
    assert len(warned) == 1, outcome.warnings


def test_events_warn_when_a_day_past_stripes_30_days_came_back_empty(sandbox_factory, tmp_path):
    """A manual backfill of one old day: nothing comes back, which the run says."""
    config = SandboxConfig(customers=20, charges=120, days=45, event_retention_days=30)
    server = sandbox_factory(config)
    first, _ = sandbox_days(server)
    (outcome,) = load_everything(server, tmp_path / "stripe.duckdb", names=["events"],
                                 days=(first, first))
    assert outcome.ok
    assert [w for w in outcome.warnings if "events of the last 30 days only" in w], outcome
