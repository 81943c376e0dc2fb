"""The Dagster UI as a person sees it: Debian's headless Chromium, driven by Playwright.

Playwright's own browser download cannot run here, so it drives the system's `chromium`
(`apt-get install chromium`), found at CHROMIUM or /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ASSET_NODE = "foreignObject[style*='overflow: visible']"  # one per asset drawn
NODE_NAME = "[class*=minimalName]"  # an asset node's name, once the graph is zoomed out
ZOOM_STEPS = 12


def chromium_path() -> Path | None:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return Path(found) if Path(found).exists() else None


@contextmanager
def chromium_page(width: int = 1600, height: int = 1000, scale: float = 1) -> Iterator[Page]:
    """A fresh headless browser (a new profile every time) and one page in it."""
    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError("No chromium: apt-get install chromium (or set CHROMIUM).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=FLAGS)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height}, device_scale_factor=scale
            )
            page.set_default_timeout(30_000)
            # Dagster's "Join the community" dialog opens on localhost at any moment of the
            # first page, and would swallow the zoom: start as a person who skipped it before
            # (the UI's own localStorage flag), and skip it should it show anyway.
            page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
            page.add_locator_handler(
                page.get_by_role("button", name="Skip"), lambda skip: skip.click()
            )
            yield page
        finally:
            browser.close()


def open_global_lineage(page: Page, ui_url: str) -> None:
    """Open Lineage (the global asset graph) and expand every group, from the graph's menu."""
    page.goto(f"{ui_url}/asset-groups")
    page.wait_for_selector("foreignObject.group")  # the groups, collapsed at first
    graph_menu(page, "Expand all groups")
    page.wait_for_url(re.compile(r"expanded="))


def graph_menu(page: Page, item: str) -> None:
    page.locator("button:has([aria-label=settings])").last.click()  # the graph's settings
    page.get_by_role("menuitem", name=re.compile(re.escape(item))).click()
    page.keyboard.press("Escape")


def zoom_out_until(page: Page, done: Callable[[], bool]) -> bool:
    """Ctrl + scroll wheel over the graph, as on a trackpad, a step at a time."""
    size = page.viewport_size or {"width": 1600, "height": 1000}
    page.mouse.move(size["width"] * 0.6, size["height"] * 0.5)
    for _ in range(ZOOM_STEPS):
        if done():
            return True
        page.keyboard.down("Control")
        page.mouse.wheel(0, 100)
        page.keyboard.up("Control")
        page.wait_for_timeout(400)
    return done()


def asset_node_names(page: Page) -> list[str]:
    return sorted(page.locator(NODE_NAME).all_text_contents())


def select_asset(page: Page, name: str) -> str:
    """Click the asset's node; returns the heading of the side panel that opens."""
    page.locator(NODE_NAME, has_text=re.compile(f"^{re.escape(name)}$")).click()
    heading = page.get_by_text(re.compile(rf"/ {re.escape(name)}$")).first
    heading.wait_for()
    return heading.inner_text()


def open_asset_page(page: Page, ui_url: str, key: str) -> None:
    """The asset's own page (Overview: description, columns, latest metadata)."""
    page.goto(f"{ui_url}/assets/{key}")
    page.get_by_text("Latest materialization").first.wait_for()


def drawn_images(page: Page, alt_prefix: str) -> list[int]:
    """Natural widths of the images whose alt text starts so: 0 for one that did not load."""
    images = page.locator(f'img[alt^="{alt_prefix}"]')
    images.first.wait_for()
    images.first.scroll_into_view_if_needed()
    page.wait_for_function(
        "prefix => [...document.querySelectorAll('img')].filter(i => i.alt.startsWith(prefix))"
        ".every(i => i.complete)", arg=alt_prefix,
    )
    widths: list[int] = images.evaluate_all("images => images.map(i => i.naturalWidth)")
    return widths
