"""rasv's panels: the :class:`Workbench` and the widgets it is built from.

Each panel is a controller (plain Python, driven by tests without a browser) with a thin
ipywidgets view; panels call the ``rasv`` library only. Names load on first use, so the CLI
can use :mod:`widgets.dashboard` and :mod:`widgets.demo` without importing ipywidgets.

Example:
    >>> import rasv, tempfile
    >>> from widgets import Workbench
    >>> wb = Workbench(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> type(wb).__name__
    'Workbench'
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FigureView": "widgets.figures",
    "Keyboard": "widgets.keyboard",
    "Player": "widgets.player",
    "Table": "widgets.table",
    "TakeList": "widgets.takelist",
    "Translator": "widgets.i18n",
    "Workbench": "widgets.workbench",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
