"""The browser tab a workbench is drawn in: says when a page connects, and lets Voilà free
the kernel of a page that closes.

Example:
    >>> page = Page()
    >>> seen = []
    >>> page.on_connect(lambda: seen.append("re-read"))
    >>> page._handle_custom_msg({"type": "connected"}, [])
    >>> seen, page.connections
    (['re-read'], 1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from widgets.player import STATIC


class Page(anywidget.AnyWidget):
    """An invisible widget whose front end reports each page that draws it.

    Its script also gives the page the ``_xsrf`` cookie Voilà's unload beacon needs, so a
    closed or reloaded page shuts its kernel down at once (see ``static/page.js``).
    """

    _esm = STATIC / "page.js"
    connections = traitlets.Int(0)

    def __init__(self) -> None:
        super().__init__()
        self._on_connect: list[Callable[[], Any]] = []
        self.on_msg(self._on_front_end_msg)

    def on_connect(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` each time a page draws this widget."""
        self._on_connect.append(fn)

    def keep_alive(self) -> bool:
        """Tell the server this kernel is in use while no page has connected yet; True
        when it did.

        Voilà hands a page its preheated kernel before the page connects, and the server
        culls a kernel idle for too long with no connection: a pool kernel that waited
        longer than that was culled under the page that had just been given it (the page
        never appeared). Any message the kernel sends counts as activity. Once a page has
        connected this does nothing, so the kernel of a page that crashed is still culled.

        Example:
            >>> page = Page()
            >>> page.keep_alive()
            True
            >>> page._handle_custom_msg({"type": "connected"}, [])
            >>> page.keep_alive()
            False
        """
        if self.connections:
            return False
        self.send({"type": "alive"})
        return True

    def _on_front_end_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") != "connected":
            return
        self.connections += 1
        for fn in self._on_connect:
            fn()


__all__ = ["Page"]
