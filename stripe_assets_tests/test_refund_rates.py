"""analytics.refund_rates, materialized by Dagster over raw tables in a real DuckDB file: what
counts as charged and what as refunded, where Stripe's objects say more than a plain sum does."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from stripe_assets.assets.analytics import refund_rates
from stripe_assets.io_manager import StripeDuckDBIOManager
from stripe_assets_tests.io_support import query, ts

DAY = ts("2025-03-03")
HOUR = 3600

# id, status, captured, amount, amount_captured
CHARGES = [
    ("ch_full", "succeeded", True, 1000, 1000),  # refunded 300 later
    ("ch_partial_old", "succeeded", True, 1000, 600),  # old version: rest 400 as a refund
    ("ch_partial_rest_only", "succeeded", True, 1000, 700),  # only that rest, 300
    ("ch_partial_new", "succeeded", True, 1000, 600),  # 2025-03-31 on: no such refund
    ("ch_plain", "succeeded", True, 500, 500),
    ("ch_released", "succeeded", False, 1000, 0),  # authorization canceled: refund 1000
    ("ch_expired", "succeeded", False, 800, 0),  # authorization expired: refund 800
    ("ch_failed", "failed", False, 900, 0),
]
# id, charge, amount, status, seconds after the charge, reason
REFUNDS = [
    ("re_full", "ch_full", 300, "succeeded", 3 * 24 * HOUR, "requested_by_customer"),
    ("re_rest_old", "ch_partial_old", 400, "succeeded", HOUR, None),
    ("re_customer_old", "ch_partial_old", 100, "succeeded", 2 * 24 * HOUR, None),
    ("re_rest_only", "ch_partial_rest_only", 300, "succeeded", HOUR, None),
    ("re_customer_new", "ch_partial_new", 100, "succeeded", 2 * 24 * HOUR, "duplicate"),
    ("re_released", "ch_released", 1000, "succeeded", HOUR, None),
    ("re_expired", "ch_expired", 800, "succeeded", 7 * 24 * HOUR, "expired_uncaptured_charge"),
    ("re_failed", "ch_plain", 500, "failed", HOUR, "requested_by_customer"),
]


def _raw_tables(db: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA stripe")
        con.execute("CREATE TABLE stripe.charges (id VARCHAR, created TIMESTAMPTZ,"
                    " currency VARCHAR, status VARCHAR, captured BOOLEAN, amount BIGINT,"
                    " amount_captured BIGINT)")
        con.execute("CREATE TABLE stripe.refunds (id VARCHAR, charge VARCHAR, amount BIGINT,"
                    " status VARCHAR, created TIMESTAMPTZ, reason VARCHAR)")
        for i, (charge_id, status, captured, amount, amount_captured) in enumerate(CHARGES):
            con.execute("INSERT INTO stripe.charges VALUES (?, to_timestamp(?), 'USD', ?, ?, ?, ?)",
                        [charge_id, DAY + i, status, captured, amount, amount_captured])
        created = {charge_id: DAY + i for i, (charge_id, *_) in enumerate(CHARGES)}
        for refund_id, charge_id, amount, status, after, reason in REFUNDS:
            con.execute("INSERT INTO stripe.refunds VALUES (?, ?, ?, ?, to_timestamp(?), ?)",
                        [refund_id, charge_id, amount, status, created[charge_id] + after, reason])


def test_uncaptured_authorizations_and_partial_capture_rests_are_neither_charged_nor_refunded(
    tmp_path,
):
    db = tmp_path / "warehouse.duckdb"
    _raw_tables(db)
    result = dg.materialize([refund_rates],
                            resources={"io_manager": StripeDuckDBIOManager(database=str(db))})
    assert result.success
    (row,) = query(db, "SELECT charge_day, currency, charges_succeeded, charges_refunded,"
                       " amount_charged, amount_refunded, refund_rate_count, refund_rate_amount"
                       " FROM analytics.refund_rates")
    day, currency, succeeded, refunded, charged, amount_refunded, rate_count, rate_amount = row
    assert (str(day), currency) == ("2025-03-03", "usd")
    # Captured: full, both partials, the one with only the rest, plain.
    assert (succeeded, charged) == (5, 1000 + 600 + 700 + 600 + 500)
    # Given back to customers: 300 (full), 100 (old partial), 100 (new partial).
    assert (refunded, amount_refunded) == (3, 500)
    assert rate_count == 3 / 5
    assert rate_amount == 500 / 3400
