"""Every public function and method users call has a one-line summary and an example.

In the spirit of sqlite-utils' ``test_docs.py``: the public surface is ``rasv.open``, the
``Workspace`` and each of its namespaces (``ws.roles`` … ``ws.analysis``, and
``ws.clips.categories``), and the ``gsv_bridge`` engines. A method added without a docstring,
with a summary that runs over several lines, or without an ``Example:`` fails here; CI runs the
examples themselves through ``pytest --doctest-modules``.
"""

from __future__ import annotations

import importlib
import inspect
import tempfile
from functools import cached_property
from typing import Any

import pytest

import gsv_bridge
import rasv
from rasv.workspace import Workspace


def _namespaces() -> dict[str, type]:
    """``ws.<name>`` -> the class its lazy property builds, read off a real workspace.

    Each namespace class also has to be a public name of ``rasv.<name>`` (``ws.aux`` lives in
    ``rasv.clips``), so the layout and the workspace cannot drift apart unnoticed.
    """
    with tempfile.TemporaryDirectory() as tmp, rasv.open(tmp) as ws:
        found = {name: type(getattr(ws, name)) for name, raw in vars(Workspace).items()
                 if isinstance(raw, cached_property)}
        found["clips.categories"] = type(ws.clips.categories)
    return found


NAMESPACES = _namespaces()


def test_namespaces_live_in_their_subpackage() -> None:
    for label, cls in NAMESPACES.items():
        home = "clips" if label in ("aux", "clips.categories") else label
        package = importlib.import_module(f"rasv.{home}")
        assert getattr(package, cls.__name__, None) is cls, f"ws.{label}: rasv.{home}.{cls.__name__}"
        assert cls.__name__ in package.__all__, f"rasv.{home}.__all__ lacks {cls.__name__}"


ENGINES = ["GsvApiV2", "GsvApiV1", "GsvServer", "ServerPool", "GsvInProcess", "EspeakEngine",
           "RayPool"]


def _classes() -> dict[str, type]:
    out: dict[str, type] = {"Workspace": Workspace}
    out.update({f"ws.{k}": v for k, v in NAMESPACES.items()})
    out.update({f"gsv_bridge.{n}": getattr(gsv_bridge, n) for n in ENGINES})
    return out


def _members() -> list[tuple[str, Any, bool]]:
    """(label, function, needs an example) for every public member we document."""
    found: list[tuple[str, Any, bool]] = [
        ("rasv.open", rasv.open, True),
        ("gsv_bridge.find_weights", gsv_bridge.find_weights, True),
        ("gsv_bridge.synth", gsv_bridge.synth, True),
    ]
    for label, cls in _classes().items():
        found.append((label, cls, False))
        for name in sorted(vars(cls)):
            if name.startswith("_"):
                continue
            raw = inspect.getattr_static(cls, name)
            if isinstance(raw, (staticmethod, classmethod)):
                found.append((f"{label}.{name}", raw.__func__, True))
            elif inspect.isfunction(raw):
                found.append((f"{label}.{name}", raw, True))
            elif isinstance(raw, property):
                found.append((f"{label}.{name}", raw.fget, False))
            elif isinstance(raw, cached_property):
                found.append((f"{label}.{name}", raw.func, False))
    return found


MEMBERS = _members()


def test_the_namespaces_listed_are_the_workspace_s():
    lazy = {n for n, v in vars(Workspace).items() if isinstance(v, cached_property)}
    assert lazy == {k for k in NAMESPACES if "." not in k}
    assert set(ENGINES) <= set(gsv_bridge.__all__)


@pytest.mark.parametrize(("label", "obj", "needs_example"), MEMBERS,
                         ids=[m[0] for m in MEMBERS])
def test_documented(label, obj, needs_example):
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"{label} has no docstring"
    summary = doc.strip().split("\n\n", 1)[0]
    assert "\n" not in summary, f"{label}: the summary must fit on one line, got {summary!r}"
    if needs_example:
        assert "Example:" in doc and ">>>" in doc, f"{label} has no runnable Example:"
