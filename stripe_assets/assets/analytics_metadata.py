"""What the analytics show on each materialization: the result, where a person would look.

Each function reads the table the IO manager has just built (`SqlTable.summarize`), inside the
write's transaction, and returns metadata: a refund-rate chart, a payout table.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import dagster as dg
import duckdb

from stripe_assets.assets.charts import line_chart_svg, markdown_image, text_bar

# Monthly points read well over a long history; weeks keep a short one from being one dot.
WEEKLY_UP_TO_DAYS = 120
CHART_PERIODS = 24  # the UI shows markdown under 1,000 characters inline: keep the SVG small
TABLE_PERIODS = 12


def _period(first: date, last: date) -> tuple[str, str]:
    """(DuckDB date_trunc part, strftime format) for the chart's points."""
    if (last - first).days <= WEEKLY_UP_TO_DAYS:
        return "week", "%Y-%m-%d"
    return "month", "%Y-%m"


def refund_rate_metadata(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, Any]:
    first, last = connection.execute(
        f"SELECT min(charge_day), max(charge_day) FROM {table}"
    ).fetchall()[0]
    if first is None:
        return {"refund_rate_chart": dg.MetadataValue.md("_No succeeded charges loaded yet._")}
    part, label_format = _period(first, last)
    rows = connection.execute(
        f"SELECT strftime(date_trunc('{part}', charge_day), '{label_format}'), "
        "sum(charges_succeeded), sum(charges_refunded) "
        f"FROM {table} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    labels = [r[0] for r in rows]
    rates = [r[2] / r[1] if r[1] else 0.0 for r in rows]
    succeeded, refunded = sum(r[1] for r in rows), sum(r[2] for r in rows)
    chart = line_chart_svg(labels[-CHART_PERIODS:], rates[-CHART_PERIODS:])
    top = max(rates[-TABLE_PERIODS:]) or 1.0
    table_lines = [
        f"| {part} | succeeded | refunded | refund rate | |",
        "|---|---:|---:|---:|---|",
        *(f"| {label} | {s:,} | {r:,} | {rate:.1%} | {text_bar(rate / top)} |"
          for (label, s, r), rate in list(zip(rows, rates, strict=True))[-TABLE_PERIODS:]),
    ]
    return {
        "refund_rate_chart": dg.MetadataValue.md(
            f"Share of succeeded charges refunded, by {part}:\n\n"
            + markdown_image(chart, f"refund rate by {part}")
        ),
        "refund_rate_table": dg.MetadataValue.md("\n".join(table_lines)),
        "refund_rate": dg.MetadataValue.float(round(refunded / succeeded, 4) if succeeded else 0.0),
        "charges_succeeded": dg.MetadataValue.int(int(succeeded)),
        "charges_refunded": dg.MetadataValue.int(int(refunded)),
    }


PAYOUT_COLUMNS = [
    dg.TableColumn("arrival_month", "string", description="UTC month of arrival_date."),
    dg.TableColumn("currency", "string"),
    dg.TableColumn("payouts", "int", description="Payouts of any status."),
    dg.TableColumn("paid", "float", description="Amount paid out, major units (status paid)."),
    dg.TableColumn("on_the_way", "float", description="pending or in_transit, major units."),
    dg.TableColumn("failed_or_canceled", "int", description="Payouts that failed or were "
                   "canceled."),
]


def _number(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def payout_metadata(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, Any]:
    rows = connection.execute(
        f"""
        SELECT strftime(arrival_month, '%Y-%m'), currency, sum(payouts),
               sum(amount_major) FILTER (WHERE status = 'paid'),
               sum(amount_major) FILTER (WHERE status IN ('pending', 'in_transit')),
               coalesce(sum(payouts) FILTER (WHERE status IN ('failed', 'canceled')), 0)
        FROM {table}
        WHERE arrival_month > (SELECT max(arrival_month) FROM {table}) - INTERVAL 12 MONTH
        GROUP BY ALL ORDER BY 1 DESC, 2
        """
    ).fetchall()
    records = [
        dg.TableRecord({
            "arrival_month": month, "currency": currency, "payouts": int(payouts),
            "paid": _number(paid), "on_the_way": _number(on_the_way),
            "failed_or_canceled": int(failed),
        })
        for month, currency, payouts, paid, on_the_way, failed in rows
    ]
    return {
        "payouts_last_12_months": dg.MetadataValue.table(
            records, schema=dg.TableSchema(columns=PAYOUT_COLUMNS)
        ),
    }
