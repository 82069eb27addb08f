"""Fixtures for the widget tests: the demo workspace (once per session), Playwright for the
browser tests, and clips, a context and a run task for the Review, Tasks and Run panels (a
test module may shadow them)."""

from __future__ import annotations

import os

import pytest

from rasv.testing import FakeEngine, make_clip
from widgets.context import Context
from widgets.player import Player
from widgets.testing import REQUIRE_ENV, chromium_path


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory):
    """Path of a demo workspace (``rasv demo``'s content), shared read-mostly by the tests."""
    from widgets.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "ws"
    build_demo(path)
    return path


@pytest.fixture(scope="session")
def playwright_api():
    """``playwright.sync_api`` with a system Chromium to drive: the test is skipped without
    them, and fails instead when CI asks for the browser tests (``RASV_REQUIRE_BROWSER=1``)."""
    if chromium_path() is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"Chromium is missing and {REQUIRE_ENV}=1 (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def no_player_messages(monkeypatch):
    """Player messages go nowhere (no browser is attached in these tests)."""
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: None)


@pytest.fixture
def clips(ws, role, tmp_path):
    """Four clips of 3.5–12 s in two categories (soft, bright)."""
    out = []
    for i, d in enumerate([3.5, 4.5, 6.0, 12.0]):
        out.append(ws.clips.add(role, make_clip(tmp_path / f"r{i}.wav", d, f0=120 + 30 * i),
                                text=f"参考{i}。", category="soft" if i < 2 else "bright"))
    return out


@pytest.fixture
def role_ctx(ws, role):
    """A panel context on ``role``, in English, with no engine."""
    c = Context(ws, lang="en")
    c.role = role
    return c


@pytest.fixture
def ctx(ws, role, clips):
    """A panel context on ``role`` with a FakeEngine."""
    c = Context(ws, lang="en", engines=[FakeEngine()])
    c.role = role
    return c


@pytest.fixture
def done_task(ws, role, clips):
    """A top_k sweep over three clips and two texts, already run."""
    task = ws.tasks.create(role, "k sweep", ["你好。", "今天天气很好。"], clips=clips[:3],
                           vary={"top_k": [5, 15]}, repeats=2, engine="fake")
    ws.tasks.run(task, FakeEngine())
    return task
