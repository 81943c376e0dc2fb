"""`make screenshot`: pictures for the README, from the real UI.

    python -m stripe_assets_tests.ui_screenshot [docs/asset-graph.png]

writes the asset graph there and the refund-rate chart beside it (refund-rates.png).

A sandbox account whose history ends today is loaded through `dagster dev` exactly as the UI
tests load theirs ("Materialize all" as a backfill), then Chromium shoots the lineage page.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import FloatRect, Locator

from stripe_assets.sandbox import SandboxConfig, SandboxServer, generate
from stripe_assets_tests.pipeline import sandbox_days
from stripe_assets_tests.ui_browser import (
    ASSET_NODE,
    chromium_page,
    drawn_images,
    graph_menu,
    open_asset_page,
    open_global_lineage,
)
from stripe_assets_tests.ui_support import (
    LOAD_SECONDS,
    ROOT,
    launch_backfill_of_everything,
    running_dagster_dev,
    wait_for_backfill,
)

# Ends today (end=None), so every day partition since the first is loaded and shows green.
DOCS_ACCOUNT = SandboxConfig(seed=42, customers=150, charges=1200, days=90)
ASSETS = 12
MARGIN = 24  # pixels around the graph in the picture


def shoot_asset_graph(ui_url: str, out: Path) -> int:
    """The lineage page, groups expanded, top to bottom, cropped to the graph."""
    # Tall enough that the fitted graph stays clear of the zoom controls at the bottom right.
    with chromium_page(width=1500, height=1200, scale=2) as page:
        open_global_lineage(page, ui_url)
        graph_menu(page, "Change graph to vertical orientation")
        page.get_by_role("button", name="Hide navigation").click()
        page.locator("button:has([aria-label=panel_show_right])").click()  # the asset list
        page.reload()  # the graph fits itself to the page when it opens (these settings stay)
        page.wait_for_selector("foreignObject.group")
        # Every node drawn green (healthy), once the page has fetched each asset's health.
        page.wait_for_function(
            "n => { const borders = [...document.querySelectorAll('[class*=minimalAssetNodeBox]')]"
            ".map(e => e.style.getPropertyValue('--minimal-border'));"
            " return borders.length === n && borders.every(b => /green/i.test(b)); }",
            arg=ASSETS, timeout=60_000,
        )
        page.screenshot(path=out, clip=around(page.locator("foreignObject.group").all()))
        return page.locator(ASSET_NODE).count()


def shoot_refund_rates(ui_url: str, out: Path) -> None:
    """The refund-rate chart and table, as the asset's page shows them."""
    with chromium_page(width=1800, height=1000, scale=2) as page:  # wide: no cell overflows
        open_asset_page(page, ui_url, "analytics/refund_rates")
        drawn_images(page, "refund rate by")  # scrolls to the chart, once it has loaded
        rows = [page.locator("tr", has=page.get_by_text(key, exact=True)).first
                for key in ("refund_rate_chart", "refund_rate_table")]
        cells = [row.locator("td").nth(n) for row in rows for n in (0, -1)]  # not the overflow
        page.screenshot(path=out, clip=around(cells, margin=0))


def around(elements: list[Locator], margin: float = MARGIN) -> FloatRect:
    """The smallest rectangle holding the elements' boxes, plus a margin."""
    boxes = [box for e in elements if (box := e.bounding_box()) is not None]
    x0, y0 = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    x1 = max(b["x"] + b["width"] for b in boxes)
    y1 = max(b["y"] + b["height"] for b in boxes)
    return {"x": x0 - margin, "y": y0 - margin,
            "width": x1 - x0 + 2 * margin, "height": y1 - y0 + 2 * margin}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "asset-graph.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with SandboxServer(generate(DOCS_ACCOUNT)) as server, tempfile.TemporaryDirectory() as tmp:
        first, _ = sandbox_days(server)
        # Every partition, today's too (empty: the sandbox's history ends yesterday), as
        # "Materialize all" backfills them; a partition left out shows its asset grey.
        last = datetime.now(UTC).date()
        with running_dagster_dev(server.url, Path(tmp), first) as ui:
            backfill = wait_for_backfill(
                ui, launch_backfill_of_everything(ui, first, last), LOAD_SECONDS
            )
            if {r["status"] for r in backfill["runs"]} != {"SUCCESS"}:
                print(f"The load failed: {backfill}\n{ui.log_tail()}", file=sys.stderr)
                return 1
            shown = shoot_asset_graph(ui.url, out)
            shoot_refund_rates(ui.url, out.with_name("refund-rates.png"))
    print(f"{out}: {shown} assets, in {time.monotonic() - began:.0f}s")
    return 0 if shown == ASSETS else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
