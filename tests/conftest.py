"""Shared fixtures: a fresh workspace per test, every workspace closed afterwards."""

from __future__ import annotations

import pytest

import rasv
from rasv.workspace import Workspace

_opened: list[Workspace] = []
_original_init = Workspace.__init__


def _tracking_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    _original_init(self, *args, **kwargs)
    _opened.append(self)


Workspace.__init__ = _tracking_init  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _close_workspaces():
    """Close every workspace a test opened, so no test leaks a DuckDB file lock."""
    yield
    while _opened:
        _opened.pop().close()


@pytest.fixture
def ws(tmp_path):
    """A new, empty workspace in a temporary folder."""
    return rasv.open(tmp_path / "ws")


@pytest.fixture
def role(ws):
    """A role named 男性-张三 in the ``ws`` workspace."""
    return ws.roles.create("男性-张三")
