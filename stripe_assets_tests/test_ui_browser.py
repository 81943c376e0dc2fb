"""The UI in a real browser: headless Chromium on the `dagster dev` of test_ui_graphql's load.

Screenshots go to test-output/ (git-ignored), to look at after a run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from stripe_assets_tests.test_definitions import ANALYTICS, RAW
from stripe_assets_tests.ui_browser import (
    asset_node_names,
    chromium_page,
    chromium_path,
    drawn_images,
    open_asset_page,
    open_global_lineage,
    select_asset,
    zoom_out_until,
)
from stripe_assets_tests.ui_support import ROOT

# Whichever UI test runs first also starts dagster dev and loads everything (about 80 s on an
# idle machine, minutes on a busy one): allow for it beyond the suite's 300 s per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
OUTPUT = ROOT / "test-output"


@pytest.fixture(scope="module")
def output_dir() -> Path:
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium: `make test` installs it (apt-get install chromium)")
        pytest.skip("No Chromium here: `apt-get install chromium chromium-driver` (make test does)")
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


def test_lineage_shows_every_asset_and_clicking_one_opens_its_details(
    loaded_dagster_ui, output_dir
):
    with chromium_page() as page:
        open_global_lineage(page, loaded_dagster_ui.ui.url)
        everything = len(RAW) + len(ANALYTICS)
        zoom_out_until(page, lambda: len(asset_node_names(page)) >= everything)
        page.screenshot(path=output_dir / "asset-lineage.png")
        assert asset_node_names(page) == sorted([*RAW, *ANALYTICS])

        heading = select_asset(page, "refund_rates")
        # The side panel: its description, then its latest materialization with the chart.
        assert heading == "analytics / refund_rates"
        expect(page.get_by_text("Refund rates per charge day").first).to_be_visible()
        assert drawn_images(page, "refund rate by") == [360]
        page.screenshot(path=output_dir / "asset-lineage-refund-rates.png")


def test_the_refund_rate_chart_is_drawn_on_the_asset_page(loaded_dagster_ui, output_dir):
    with chromium_page() as page:
        open_asset_page(page, loaded_dagster_ui.ui.url, "analytics/refund_rates")
        widths = drawn_images(page, "refund rate by")
        page.screenshot(path=output_dir / "refund-rates-page.png")
        assert widths == [360]  # the SVG loaded at its own size, inline in the metadata table
