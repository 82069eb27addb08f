"""The real thing: ``rasv serve`` on the demo workspace, driven in headless Chromium."""

from __future__ import annotations

import time

import pytest

from widgets.testing import launch, start_cli_server, stop_cli_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Records what a busy page may show only for a moment, so a wait cannot miss it: an <audio>
# that played (data-played: a short take may end, and be paused again, before a descheduled
# page is polled) and a clips row shown as playing (window.rasvRowPlayed: it is unmarked when
# the clip ends).
TRACK = """() => {
  const played = (e) => {
    if (e.type === 'ended' || e.target.currentTime > 0) e.target.dataset.played = '1';
  };
  document.addEventListener('timeupdate', played, true);
  document.addEventListener('ended', played, true);
  new MutationObserver(() => {
    if (document.querySelector('.rasv-clips tr.rasv-row-playing')) window.rasvRowPlayed = true;
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ['class']});
}"""


def _played(panel: str) -> str:
    return f"() => [...document.querySelectorAll('{panel} audio')].some(a => a.dataset.played)"


@pytest.fixture(scope="module")
def browser_page(demo_ws, playwright_api):
    proc, url = start_cli_server(demo_ws)
    errors: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser, context = launch(p)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector(".rasv-table tbody tr[data-id]", timeout=120_000)
            page.evaluate(TRACK)
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
    page.wait_for_function(_played(".rasv-clips"), timeout=60_000)
    page.wait_for_function("() => window.rasvRowPlayed === true", timeout=60_000)
    assert errors == []


def test_review_plays_a_take_and_scores_it_with_the_keyboard(browser_page, demo_ws):
    import rasv

    page, errors = browser_page
    page.locator(".lm-TabBar-tab", has_text="Review").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.rasv-take canvas').length >= 20", timeout=120_000)
    first = page.locator(".rasv-take").first
    take_id = first.get_attribute("data-id")
    first.locator(".rasv-take-play").click()
    page.wait_for_function(_played(".rasv-review"), timeout=60_000)
    # A card redrawn for its new stars keeps its drawn spectrogram (the canvas moves over).
    first.locator("canvas").evaluate("c => { c.dataset.drawnBefore = '1'; }")
    page.keyboard.press("4")
    page.wait_for_function(
        f"() => document.querySelectorAll('.rasv-take[data-id=\"{take_id}\"] .rasv-star.on')"
        ".length === 4", timeout=60_000)
    assert first.locator("canvas").get_attribute("data-drawn-before") == "1"
    with rasv.open(demo_ws) as ws:
        assert ws.scores.get(take_id).stars == 4
    # scoring moved on to the next take, which now plays
    second = page.locator(".rasv-take").nth(1)
    page.wait_for_function(
        "() => document.querySelector('.rasv-take.current') === "
        "document.querySelectorAll('.rasv-take')[1]", timeout=60_000)
    # digits typed into a remark are text, not scores
    remark = second.locator(".rasv-take-remark")
    remark.click()
    remark.type("5 stars later")
    remark.press("Enter")
    second_id = second.get_attribute("data-id")
    deadline = time.monotonic() + 60  # the kernel saves it when its message arrives
    while True:
        with rasv.open(demo_ws) as ws:
            score = ws.scores.get(second_id)
        if score is not None and score.remark or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert score is not None and score.remark == "5 stars later" and score.stars is None
    # Enter left the remark box, so the keys work again: k goes back
    page.keyboard.press("k")
    page.wait_for_function(
        "() => document.querySelector('.rasv-take.current') === "
        "document.querySelectorAll('.rasv-take')[0]", timeout=60_000)
    assert errors == []
