"""Numbers a finance team watches, computed by DuckDB from the raw Stripe tables.

Each asset returns the SQL; the IO manager runs it inside DuckDB and swaps the table in one
transaction, so no data round-trips through Python.
"""

import dagster as dg

from stripe_assets.assets.analytics_metadata import payout_metadata, refund_rate_metadata
from stripe_assets.assets.currencies import major_units_sql
from stripe_assets.assets.schemas import schema_metadata
from stripe_assets.columns import Column
from stripe_assets.io_manager.spool import SqlTable

ANALYTICS_GROUP = "analytics"

REFUND_RATES_SQL = f"""
WITH succeeded AS (
    -- An authorization never captured is no payment, and its release no refund.
    SELECT id, lower(currency) AS currency, amount, amount_captured,
           CAST(timezone('UTC', created) AS DATE) AS charge_day
    FROM stripe.charges
    WHERE status = 'succeeded' AND captured
),
succeeded_refunds AS (
    SELECT charge, amount,
           row_number() OVER (PARTITION BY charge ORDER BY created, id) AS nth
    FROM stripe.refunds
    WHERE status = 'succeeded'
),
refunded AS (
    -- Before API version 2025-03-31.basil, a partial capture also created a succeeded refund
    -- of the uncaptured rest, at capture, so before any refund the customer got. Money never
    -- taken is not money given back: that refund is left out.
    SELECT r.charge, sum(r.amount) AS amount_refunded
    FROM succeeded_refunds r JOIN succeeded s ON s.id = r.charge
    WHERE NOT (r.nth = 1 AND s.amount_captured < s.amount
               AND r.amount = s.amount - s.amount_captured)
    GROUP BY r.charge
),
per_day AS (
    SELECT s.charge_day, s.currency,
           count(*) AS charges_succeeded,
           count(r.charge) AS charges_refunded,
           CAST(sum(s.amount_captured) AS BIGINT) AS amount_charged,
           CAST(coalesce(sum(r.amount_refunded), 0) AS BIGINT) AS amount_refunded
    FROM succeeded s LEFT JOIN refunded r ON r.charge = s.id
    GROUP BY ALL
)
SELECT charge_day, currency, charges_succeeded, charges_refunded,
       amount_charged, amount_refunded,
       charges_refunded / charges_succeeded AS refund_rate_count,
       amount_refunded / nullif(amount_charged, 0) AS refund_rate_amount,
       {major_units_sql("amount_charged", "currency")} AS amount_charged_major,
       {major_units_sql("amount_refunded", "currency")} AS amount_refunded_major
FROM per_day
ORDER BY charge_day, currency
"""

MAJOR = "in the currency's major unit (10.99 USD, 1099 JPY, 1.099 KWD), exact"
REFUND_RATES_COLUMNS = {
    "charge_day": Column("DATE", "UTC day of the charge's `created`."),
    "currency": Column("VARCHAR", "Three-letter ISO currency code, lower case."),
    "charges_succeeded": Column(
        "BIGINT", "Succeeded, captured charges created that day (not authorizations left"
        " uncaptured)."
    ),
    "charges_refunded": Column("BIGINT", "Of those, charges with any succeeded refund."),
    "amount_charged": Column("BIGINT", "Amount captured by those charges, in minor units."),
    "amount_refunded": Column(
        "BIGINT", "Succeeded refunds of those charges, in minor units; not the refund that"
        " Stripe versions before 2025-03-31 create for a partial capture's uncaptured rest."
    ),
    "refund_rate_count": Column("DOUBLE", "charges_refunded / charges_succeeded."),
    "refund_rate_amount": Column("DOUBLE", "amount_refunded / amount_charged (NULL if 0)."),
    "amount_charged_major": Column("DECIMAL(38,3)", f"amount_charged {MAJOR}."),
    "amount_refunded_major": Column("DECIMAL(38,3)", f"amount_refunded {MAJOR}."),
}

PAYOUT_SUMMARY_SQL = f"""
WITH monthly AS (
    SELECT CAST(date_trunc('month', timezone('UTC', arrival_date)) AS DATE) AS arrival_month,
           lower(currency) AS currency, status, method,
           count(*) AS payouts,
           CAST(sum(amount) AS BIGINT) AS amount,
           min(arrival_date) AS first_arrival,
           max(arrival_date) AS last_arrival
    FROM stripe.payouts
    GROUP BY ALL
)
SELECT arrival_month, currency, status, method, payouts, amount,
       {major_units_sql("amount", "currency")} AS amount_major,
       CAST({major_units_sql("amount", "currency")} / payouts AS DECIMAL(38, 3))
           AS avg_amount_major,
       first_arrival, last_arrival
FROM monthly
ORDER BY arrival_month, currency, status, method
"""

PAYOUT_SUMMARY_COLUMNS = {
    "arrival_month": Column("DATE", "First day of the UTC month of `arrival_date`."),
    "currency": Column("VARCHAR", "Three-letter ISO currency code, lower case."),
    "status": Column("VARCHAR", "paid, pending, in_transit, canceled or failed."),
    "method": Column("VARCHAR", "standard or instant."),
    "payouts": Column("BIGINT", "Number of payouts."),
    "amount": Column("BIGINT", "Their total, in minor units."),
    "amount_major": Column("DECIMAL(38,3)", f"Their total {MAJOR}."),
    "avg_amount_major": Column("DECIMAL(38,3)", f"Average payout {MAJOR}."),
    "first_arrival": Column("TIMESTAMPTZ", "Earliest `arrival_date` of the group."),
    "last_arrival": Column("TIMESTAMPTZ", "Latest `arrival_date` of the group."),
}


@dg.asset(
    key=["analytics", "refund_rates"],
    group_name=ANALYTICS_GROUP,
    description=(
        "Refund rates per charge day (UTC day of the charge's `created`) and currency: how many "
        "succeeded, captured charges got any succeeded refund, and what share of the captured "
        "amount was refunded (refunds counted against their charge's day, from "
        "`stripe.refunds`). Authorizations never captured are left out, and so is the refund "
        "older Stripe versions record for a partial capture's uncaptured rest. Amounts "
        "in minor units and, as `*_major`, in the currency's major unit (JPY 0 decimals, KWD 3). "
        "Rebuilt in DuckDB from the whole raw tables after they change; each materialization "
        "charts the refund rate over time."
    ),
    kinds={"duckdb", "sql"},
    owners=["team:finance-analytics"],
    deps=[dg.AssetKey(["stripe", "charges"]), dg.AssetKey(["stripe", "refunds"])],
    metadata=schema_metadata(REFUND_RATES_COLUMNS),
    code_version="2",
)
def refund_rates() -> SqlTable:
    return SqlTable(REFUND_RATES_SQL, summarize=refund_rate_metadata)


@dg.asset(
    key=["analytics", "payout_summary"],
    group_name=ANALYTICS_GROUP,
    description=(
        "Payouts per arrival month (UTC month of `arrival_date`), currency, status and method: "
        "count, total and average in minor and major units, first and last arrival. Rebuilt in "
        "DuckDB from the whole `stripe.payouts` after it changes; each materialization shows "
        "the last 12 months per currency as a table."
    ),
    kinds={"duckdb", "sql"},
    owners=["team:finance-analytics"],
    deps=[dg.AssetKey(["stripe", "payouts"])],
    metadata=schema_metadata(PAYOUT_SUMMARY_COLUMNS),
    code_version="1",
)
def payout_summary() -> SqlTable:
    return SqlTable(PAYOUT_SUMMARY_SQL, summarize=payout_metadata)
