"""Keyboard shortcuts for a panel: key presses in the browser become Python calls.

:class:`Keyboard` is a small anywidget placed inside a panel whose root box carries the CSS
class ``rasv-keyscope``. While that panel is visible, the keys it was told about (``space``,
``j``, ``k``, digits …) reach Python as ``on_key`` calls, unless the user is typing into an
input. Inside JupyterLab the panel marks itself ``data-lm-suppress-shortcuts`` so the
notebook's own ``j``/``k``/space shortcuts stand aside only while the panel has focus.

Example:
    >>> kb = Keyboard(["space", "j", "k"])
    >>> seen = []
    >>> kb.bind("j", lambda: seen.append("next"))
    >>> kb.press("j"); kb.press("x")
    >>> seen
    ['next']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import anywidget
import traitlets

from widgets.player import STATIC

#: CSS class of the element whose visibility and focus decide whether keys are heard.
SCOPE_CLASS = "rasv-keyscope"


class Keyboard(anywidget.AnyWidget):
    """Turns chosen key presses into Python calls.

    Args:
        keys: key names as the browser's ``KeyboardEvent.key`` spells them, with ``"space"``
            for the space bar (``"j"``, ``"ArrowDown"``, ``"0"`` …).
        hint: a line of text shown where the widget sits (what the keys do).

    Handlers: :meth:`bind` one key to a no-argument callable, or :meth:`on_key` for every
    key (called with the key name). Tests and the Python side can call :meth:`press`.

    Example:
        >>> kb = Keyboard(["1", "2"])
        >>> got = []
        >>> kb.on_key(got.append)
        >>> kb._handle_custom_msg({"type": "key", "key": "2"}, [])
        >>> got, kb.last_key
        (['2'], '2')
    """

    _esm = STATIC / "keyboard.js"
    _css = STATIC / "keyboard.css"

    accept = traitlets.List(traitlets.Unicode()).tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    enabled = traitlets.Bool(True).tag(sync=True)
    last_key = traitlets.Unicode("")

    def __init__(self, keys: Iterable[str] = (), hint: str = "", **kwargs: Any) -> None:
        super().__init__(accept=list(keys), hint=hint, **kwargs)
        self._bindings: dict[str, Callable[[], Any]] = {}
        self._listeners: list[Callable[[str], Any]] = []
        self.on_msg(self._on_front_end_msg)

    def bind(self, key: str, handler: Callable[[], Any]) -> None:
        """Call ``handler()`` when ``key`` is pressed (adds ``key`` to the keys heard)."""
        self._bindings[key] = handler
        if key not in self.accept:
            self.accept = [*self.accept, key]

    def on_key(self, listener: Callable[[str], Any]) -> None:
        """Call ``listener(key)`` for every key heard."""
        self._listeners.append(listener)

    def press(self, key: str) -> None:
        """Act as if ``key`` was pressed in the panel (keys not listened for are ignored)."""
        if not self.enabled or key not in self.accept:
            return
        self.last_key = key
        handler = self._bindings.get(key)
        if handler is not None:
            handler()
        for listener in list(self._listeners):
            listener(key)

    def _on_front_end_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") == "key":
            self.press(str(content.get("key", "")))


__all__ = ["SCOPE_CLASS", "Keyboard"]
