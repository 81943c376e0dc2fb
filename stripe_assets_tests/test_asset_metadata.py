"""What the UI shows about each asset: its columns before any load, and the analytics' results
as a chart and a table."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from xml.etree import ElementTree

import dagster as dg
import duckdb
import pytest
from dagster._core.definitions.metadata import TableMetadataSet

from stripe_assets.assets.analytics_metadata import payout_metadata, refund_rate_metadata
from stripe_assets.assets.charts import line_chart_svg, nice_ceiling, text_bar
from stripe_assets.definitions import defs


def _specs() -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec
            for a in defs.assets or [] for spec in a.specs}  # type: ignore[union-attr]


def test_every_asset_shows_its_columns_described_before_its_first_load():
    for key, spec in _specs().items():
        schema = TableMetadataSet.extract(spec.metadata).column_schema
        assert schema is not None, key
        assert all(c.description for c in schema.columns), key
        if key.startswith("stripe/"):
            # The columns the IO manager guarantees (test_pipeline_end_to_end checks them
            # against the loaded tables' own columns and types).
            assert {c.name for c in schema.columns} >= {"id", "_loaded_at", "_stripe_api_version"}


def test_stripe_assets_keep_their_partition_column_beside_the_schema():
    specs = _specs()
    assert specs["stripe/charges"].metadata["partition_expr"] == "created"
    assert "partition_expr" not in specs["stripe/payment_links"].metadata


# ---- charts ---------------------------------------------------------------------------------

def _svg(markdown: str) -> ElementTree.Element:
    encoded = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert encoded, markdown[:200]
    return ElementTree.fromstring(base64.b64decode(encoded.group(1)))


def test_axis_tops_are_round_numbers_above_the_highest_value():
    assert [nice_ceiling(v) for v in (0.0, 0.031, 0.05, 0.07, 0.3, 7, 120)] == [
        1.0, 0.05, 0.05, 0.1, 0.5, 10, 200]


SVG = "{http://www.w3.org/2000/svg}"


def _points(svg: ElementTree.Element) -> list[tuple[int, int]]:
    (line,) = svg.findall(f"{SVG}polyline")
    pairs = (point.split(",") for point in line.attrib["points"].split())
    return [(int(x), int(y)) for x, y in pairs]


def test_line_chart_draws_one_point_per_value_and_labels_both_axes():
    svg = ElementTree.fromstring(line_chart_svg(["2025-01", "2025-02", "2025-03"],
                                                [0.02, 0.08, 0.05]))
    points = _points(svg)
    assert [x for x, _ in points] == sorted(x for x, _ in points) and len(points) == 3
    assert points[1][1] < points[2][1] < points[0][1]  # higher rate, higher on the chart
    assert {t.text for t in svg.findall(f"{SVG}text")} == {"0%", "10%", "2025-01", "2025-03"}


def test_a_single_point_or_only_zeros_still_draw():
    assert len(_points(ElementTree.fromstring(line_chart_svg(["2025-01"], [0.0])))) == 1
    zeros = _points(ElementTree.fromstring(line_chart_svg(["a", "b", "c"], [0.0, 0.0, 0.0])))
    assert len(zeros) == 3 and len({y for _, y in zeros}) == 1  # a flat line on the axis


@pytest.mark.parametrize(("labels", "values"), [([], []), (["a", "b"], [0.1])])
def test_a_chart_without_values_or_with_unmatched_labels_says_so(labels, values):
    with pytest.raises(ValueError, match="as many labels as values, and at least one"):
        line_chart_svg(labels, values)


def test_text_bars_are_proportional_and_clamped():
    assert text_bar(1.0, width=4) == "████"
    assert text_bar(0.5, width=4) == "██"
    assert text_bar(0.0) == "" and text_bar(2.0, width=2) == "██"


# ---- the analytics' result on each materialization ----------------------------------------

def _refund_rates(days: int) -> duckdb.DuckDBPyConnection:
    """A refund_rates table: 10 charges a day, day n refunds n % 4 of them."""
    con = duckdb.connect()
    con.execute("CREATE TABLE rr (charge_day DATE, currency VARCHAR, charges_succeeded BIGINT, "
                "charges_refunded BIGINT)")
    first = date(2025, 1, 1)
    for n in range(days):
        con.execute("INSERT INTO rr VALUES (?, 'usd', 10, ?)", [first + timedelta(n), n % 4])
    return con


def test_refund_rate_is_charted_by_month_over_a_long_history():
    meta = refund_rate_metadata(_refund_rates(200), "rr")
    table = meta["refund_rate_table"].value
    months = re.findall(r"^\| (2025-\d\d) \|", table, flags=re.M)
    assert months == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
    assert table.startswith("| month |")
    chart = meta["refund_rate_chart"].value
    assert "by month" in chart and len(_points(_svg(chart))) == 7
    assert len(chart) < 1000  # so the UI shows it inline, not behind "Show Markdown"
    assert meta["charges_succeeded"].value == 2000
    assert meta["refund_rate"].value == pytest.approx(sum(n % 4 for n in range(200)) / 2000,
                                                      abs=1e-4)


def test_a_short_history_is_charted_by_week_and_the_table_keeps_the_last_twelve():
    meta = refund_rate_metadata(_refund_rates(120), "rr")
    weeks = re.findall(r"^\| (\d{4}-\d\d-\d\d) \|", meta["refund_rate_table"].value,
                       flags=re.M)
    assert len(weeks) == 12 and weeks[-1] == "2025-04-28"
    chart = meta["refund_rate_chart"].value
    assert "by week" in chart and len(_points(_svg(chart))) == 18


def test_a_long_history_charts_the_most_recent_two_years():
    chart = refund_rate_metadata(_refund_rates(4 * 365), "rr")["refund_rate_chart"].value
    assert len(_points(_svg(chart))) == 24 and len(chart) < 1000


def test_no_charges_yet_says_so_instead_of_an_empty_chart():
    con = _refund_rates(0)
    assert refund_rate_metadata(con, "rr") == {
        "refund_rate_chart": dg.MetadataValue.md("_No succeeded charges loaded yet._")}


def test_payouts_of_the_last_twelve_months_as_a_table_by_currency():
    con = duckdb.connect()
    con.execute("CREATE TABLE ps (arrival_month DATE, currency VARCHAR, status VARCHAR, "
                "payouts BIGINT, amount_major DECIMAL(38, 3))")
    rows = [(date(2024, m, 1), "usd", "paid", 2, 100.5) for m in range(1, 13)]
    rows += [(date(2025, 1, 1), "usd", "in_transit", 1, 7.25), (date(2025, 1, 1), "usd",
             "failed", 1, 3), (date(2025, 1, 1), "jpy", "paid", 1, 1099)]
    con.executemany("INSERT INTO ps VALUES (?, ?, ?, ?, ?)", rows)

    table = payout_metadata(con, "ps")["payouts_last_12_months"]
    records = [r.data for r in table.records]
    assert len(records) == 13  # 2024-02 .. 2025-01, two currencies in the last month
    assert records[:2] == [
        {"arrival_month": "2025-01", "currency": "jpy", "payouts": 1, "paid": 1099.0,
         "on_the_way": 0.0, "failed_or_canceled": 0},
        {"arrival_month": "2025-01", "currency": "usd", "payouts": 2, "paid": 0.0,
         "on_the_way": 7.25, "failed_or_canceled": 1},
    ]
    assert records[-1]["arrival_month"] == "2024-02"
    assert [c.name for c in table.schema.columns] == list(records[0])
