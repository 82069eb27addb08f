"""Fixtures for the widget tests: the demo workspace, built once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory):
    """Path of a demo workspace (``rasv demo``'s content), shared read-mostly by the tests."""
    from widgets.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "ws"
    build_demo(path)
    return path
