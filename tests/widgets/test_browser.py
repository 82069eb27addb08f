"""The real thing: ``rasv serve`` on the demo workspace, driven in headless Chromium."""

from __future__ import annotations

import os

import pytest

from widgets.testing import REQUIRE_ENV, chromium_path, launch, start_cli_server, stop_cli_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser_page(demo_ws):
    if chromium_path() is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"Chromium is missing and {REQUIRE_ENV}=1 (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    proc, url = start_cli_server(demo_ws)
    errors: list[str] = []
    try:
        with playwright.sync_playwright() as p:
            browser, context = launch(p)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector(".rasv-table tbody tr[data-id]", timeout=120_000)
            yield page, errors
            browser.close()
    finally:
        stop_cli_server(proc)
    assert proc.returncode is not None


def test_clip_table_renders_and_a_clip_plays(browser_page):
    page, errors = browser_page
    rows = page.locator(".rasv-cliptable tbody tr[data-id]")
    assert rows.count() == 9
    rows.nth(1).locator("button.rasv-play").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rasv-clips audio')]"
        ".some(a => !a.paused && a.currentTime > 0)", timeout=20_000)
    page.wait_for_selector(".rasv-clips tr.rasv-row-playing", timeout=10_000)
    assert errors == []
