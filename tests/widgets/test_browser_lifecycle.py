"""``rasv serve`` all day: pages that open, reload and close leave no kernels behind, and a
CLI import shows up on an open page and on a new one (headless Chromium)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import pytest

import rasv
from rasv.testing import make_clip
from widgets.dashboard import KERNEL_IDLE_ENV, POOL_SIZE
from widgets.testing import (
    kernel_pids,
    launch,
    start_cli_server,
    stop_cli_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROLE = "女声-测试"
SUMMARY = ".rasv-rolepicker"


@pytest.fixture(scope="module")
def pw(playwright_api):
    """One Playwright for the module (a second one cannot start beside it)."""
    with playwright_api.sync_playwright() as p:
        yield p


@contextlib.contextmanager
def _serving(ws_path, p, idle_s: int):
    """``rasv serve`` with kernels culled after ``idle_s`` s, and a browser on it."""
    before = os.environ.get(KERNEL_IDLE_ENV)
    os.environ[KERNEL_IDLE_ENV] = str(idle_s)
    try:
        proc, url = start_cli_server(ws_path)
    finally:
        if before is None:
            os.environ.pop(KERNEL_IDLE_ENV, None)
        else:
            os.environ[KERNEL_IDLE_ENV] = before
    try:
        browser, context = launch(p)
        yield proc, url, context
        browser.close()
    finally:
        stop_cli_server(proc)


@pytest.fixture(scope="module")
def served(tmp_path_factory, pw):
    root = tmp_path_factory.mktemp("life")
    ws_path = root / "ws"
    with rasv.open(ws_path) as ws:
        ws.clips.add(ws.roles.create(ROLE), make_clip(root / "a.wav", 4.0), text="第一句。")
    # Culling (the safety net for pages whose unload never came) stays out of these tests:
    # a kernel closed here must be shut down by its page's beacon, not be culled meanwhile
    # (which hid a leak), and a preheated kernel idle for a while must not be culled between
    # the page that takes it and that page's connection (which broke the page).
    with _serving(ws_path, pw, 900) as (proc, url, context):
        yield proc, url, context, ws_path, root


def _open(context, url):
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector(SUMMARY, timeout=120_000)
    # page.js has run: the page has the cookie Voilà's unload beacon needs (a page closed
    # before it came would keep its kernel until culled).
    page.wait_for_function("() => document.cookie.includes('_xsrf=')", timeout=60_000)
    return page


def _kernels_settle(proc, most: int, timeout: float = 60.0) -> list[int]:
    """Kernels under the server once at most ``most`` remain (or the last count seen)."""
    deadline = time.monotonic() + timeout
    pids = kernel_pids(proc.pid)
    while len(pids) > most and time.monotonic() < deadline:
        time.sleep(1.0)
        pids = kernel_pids(proc.pid)
    return pids


def test_opening_reloading_and_closing_pages_keeps_kernels_bounded(served):
    proc, url, context, _, _ = served
    for _ in range(3):
        page = _open(context, url)
        page.close(run_before_unload=True)
    assert len(_kernels_settle(proc, POOL_SIZE)) <= POOL_SIZE
    page = _open(context, url)
    for _ in range(4):
        page.reload(wait_until="domcontentloaded", timeout=120_000)
        page.wait_for_selector(SUMMARY, timeout=120_000)
        # The reloaded page's old kernel is shut down: its new one and the refilled pool's
        # remain. Waited for: a kernel on a busy machine takes seconds to exit, and the
        # previous reload's could still be exiting (a count right away saw it).
        assert len(_kernels_settle(proc, POOL_SIZE + 1)) <= POOL_SIZE + 1
    assert len(_kernels_settle(proc, POOL_SIZE + 1)) <= POOL_SIZE + 1
    page.close(run_before_unload=True)
    assert len(_kernels_settle(proc, POOL_SIZE)) <= POOL_SIZE


def test_cli_import_shows_on_an_open_page_and_a_new_one(served):
    proc, url, context, ws_path, root = served
    outside: list[str] = []
    context.on("request", lambda r: outside.append(r.url)
               if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
               else None)
    page = _open(context, url)
    page.wait_for_function("() => document.fonts.check('900 12px \"Font Awesome 5 Free\"')",
                           timeout=60_000)  # the icons, from the server itself
    summary = page.locator(SUMMARY)
    assert "clips: 1 " in summary.inner_text()
    listing = root / "more.list"
    lines = []
    for i in range(2):
        wav = make_clip(root / f"more{i}.wav", 4.0 + i, f0=150 + 20 * i)
        lines.append(f"{wav}|spk|zh|第{i}句。")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "rasv", "import-list", "-w", str(ws_path), ROLE,
                    str(listing)], check=True, timeout=120)
    # the open page follows within a few seconds, nobody touching it
    page.wait_for_function(
        "() => document.querySelector('.rasv-rolepicker').innerText.includes('clips: 3 ')",
        timeout=60_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.rasv-cliptable tbody tr[data-id]').length === 3",
        timeout=60_000)
    fresh = _open(context, url)  # the preheated kernel started before the import
    fresh.wait_for_function(
        "() => document.querySelector('.rasv-rolepicker').innerText.includes('clips: 3 ')",
        timeout=60_000)
    fresh.screenshot(path=str(root / "fresh.png"))
    fresh.close(run_before_unload=True)
    page.close(run_before_unload=True)
    assert outside == []  # nothing fetched from outside (it used to load Font Awesome from a CDN)


def test_a_page_whose_unload_never_came_is_culled(tmp_path, pw):
    # A crashed tab sends no beacon: its kernel goes once idle, and the pool stays.
    ws_path = tmp_path / "ws"
    with rasv.open(ws_path) as ws:
        ws.clips.add(ws.roles.create(ROLE), make_clip(tmp_path / "a.wav", 4.0), text="第一句。")
    with _serving(ws_path, pw, 8) as (proc, url, context):
        page = _open(context, url)
        assert len(_kernels_settle(proc, POOL_SIZE + 1)) == POOL_SIZE + 1
        page.close(run_before_unload=False)  # no "beforeunload", so no shutdown beacon
        assert len(_kernels_settle(proc, POOL_SIZE, timeout=120)) == POOL_SIZE
        # The pool's kernel has now waited longer than the idle limit: handed to a page, it
        # must not be culled before the page connects (it was, and the page never came up).
        again = _open(context, url)
        assert "clips: 1 " in again.locator(SUMMARY).inner_text()
        again.close(run_before_unload=True)
