"""Checks across Stripe fields and tables: refunds add up and point at known charges."""

import dagster as dg

from stripe_assets.checks.results import EXAMPLES, examples, missing_table
from stripe_assets.checks.warehouse import DuckDBReader, table_columns
from stripe_assets.jobs import stripe_table_key


@dg.asset_check(
    asset=stripe_table_key("charges"), name="amount_refunded_within_amount", blocking=True,
    description="No charge has refunded more than its amount (`amount_refunded <= amount`): "
    "Stripe cannot do that, so a row that does was written wrong.",
)
def amount_refunded_within_amount(warehouse: DuckDBReader) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR
    with warehouse.connect() as con:
        if not {"amount", "amount_refunded"} <= table_columns(con, "stripe", "charges"):
            return missing_table("stripe.charges", severity)
        rows, bad = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE amount_refunded > amount) FROM stripe.charges"
        ).fetchall()[0]
        offenders = con.execute(
            "SELECT id, amount, amount_refunded FROM stripe.charges "
            f"WHERE amount_refunded > amount ORDER BY id LIMIT {EXAMPLES}"
        ).fetchall()
    return dg.AssetCheckResult(
        passed=bad == 0, severity=severity,
        metadata={
            "charges": rows, "over_refunded": bad,
            "examples": examples([f"{i}: amount {a}, refunded {r}" for i, a, r in offenders]),
        },
    )


@dg.asset_check(
    asset=stripe_table_key("refunds"), name="refund_charges_exist",
    additional_deps=[stripe_table_key("charges")],
    description="Every refund's `charge` is in stripe.charges. A WARN, not an error: it is "
    "expected while the charge's day has not been loaded yet (refunds are dated by their own "
    "day, often months after the charge).",
)
def refund_charges_exist(warehouse: DuckDBReader) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.WARN
    with warehouse.connect() as con:
        if "charge" not in table_columns(con, "stripe", "refunds"):
            return missing_table("stripe.refunds", severity)
        if "id" not in table_columns(con, "stripe", "charges"):
            return missing_table("stripe.charges", severity)
        orphans_sql = (
            "FROM stripe.refunds r WHERE r.charge IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM stripe.charges c WHERE c.id = r.charge)"
        )
        refunds = con.execute("SELECT count(*) FROM stripe.refunds").fetchall()[0][0]
        orphans = con.execute(f"SELECT count(*) {orphans_sql}").fetchall()[0][0]
        offenders = con.execute(
            f"SELECT r.id, r.charge {orphans_sql} ORDER BY r.id LIMIT {EXAMPLES}"
        ).fetchall()
    return dg.AssetCheckResult(
        passed=orphans == 0, severity=severity,
        metadata={
            "refunds": refunds, "refunds_without_charge": orphans,
            "examples": examples([f"{r} -> {c}" for r, c in offenders]),
        },
    )


integrity_checks = [amount_refunded_within_amount, refund_charges_exist]
