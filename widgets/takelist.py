"""The review page's list of takes: one widget, one card per take.

Each card shows the take's number, a play button, what differs about it (its parameters,
clip or text, hidden in blind mode), a spectrogram drawn in the browser from the uint8 mel
bands the library caches, its duration and duration z-score, 0–5 stars, tag chips and a
remark. The spectrogram arrays of a page travel once, as one binary buffer.

Example:
    >>> import numpy as np
    >>> tl = TakeList(lang="en")
    >>> tl.set_items([{"id": "a", "label": "k=5", "stars": None, "status": "done"}],
    ...              spectra={"a": np.zeros((4, 10), np.uint8)})
    >>> tl.spectra_meta
    [{'id': 'a', 'offset': 0, 'bands': 4, 'frames': 10}]
    >>> got = []
    >>> tl.on("stars", lambda take_id, value: got.append((take_id, value)))
    >>> tl._handle_custom_msg({"type": "stars", "id": "a", "value": 4}, [])
    >>> got
    [('a', 4)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets

from widgets.i18n import Translator
from widgets.player import STATIC
from widgets.table import jsonable

#: Events a take list reports, and the arguments their callbacks get.
EVENTS = {
    "focus": ("id",),
    "play": ("id",),
    "stars": ("id", "value"),
    "tag": ("id", "tag", "on"),
    "remark": ("id", "value"),
}


class TakeList(anywidget.AnyWidget):
    """Cards for one page of takes.

    Item keys: ``id``, ``status``, ``label`` (bold, e.g. the parameter label), ``detail``
    (e.g. clip and text), ``groups`` (group headings, outermost first), ``duration_s``,
    ``dur_z``, ``stars`` (None = not scored), ``tags`` (tag keys), ``remark``, ``error``,
    ``hint`` (what automatic analysis noticed), ``suggested`` (tag keys it suggests, drawn
    dashed until the listener agrees), ``predicted`` (the predicted stars of an unscored take,
    drawn dimmed) and ``predicted_hint`` (its interval and drivers, on hover).

    Traits ``current`` and ``playing`` hold take ids; the browser highlights them and keeps
    the current card in view.
    """

    _esm = STATIC / "takelist.js"
    _css = STATIC / "takelist.css"

    items = traitlets.List().tag(sync=True)
    spectra = traitlets.Bytes(b"").tag(sync=True)
    spectra_meta = traitlets.List().tag(sync=True)
    offset = traitlets.Int(0).tag(sync=True)
    current = traitlets.Unicode("").tag(sync=True)
    playing = traitlets.Unicode("").tag(sync=True)
    tag_options = traitlets.List().tag(sync=True)
    text_empty = traitlets.Unicode("").tag(sync=True)
    text_remark = traitlets.Unicode("").tag(sync=True)
    text_z = traitlets.Unicode("").tag(sync=True)

    def __init__(self, lang: str | None = None, **kwargs: Any) -> None:
        t = Translator(lang)
        super().__init__(text_empty=t("review.empty"), text_remark=t("review.remark"),
                         text_z=t("review.z_hint"), **kwargs)
        self._handlers: dict[str, list[Callable[..., Any]]] = {k: [] for k in EVENTS}
        self.on_msg(self._on_front_end_msg)

    def set_items(self, items: Sequence[Mapping[str, Any]],
                  spectra: Mapping[str, np.ndarray] | None = None, *, offset: int = 0) -> None:
        """Show ``items``; ``spectra`` maps take ids to uint8 (bands, frames) arrays."""
        chunks: list[bytes] = []
        meta: list[dict[str, Any]] = []
        pos = 0
        for take_id, arr in (spectra or {}).items():
            a = np.ascontiguousarray(arr, dtype=np.uint8)
            if a.ndim != 2:
                raise ValueError(f"spectrogram of {take_id} must be 2-D, got {a.shape}")
            meta.append({"id": str(take_id), "offset": pos, "bands": int(a.shape[0]),
                         "frames": int(a.shape[1])})
            chunks.append(a.tobytes())
            pos += a.nbytes
        with self.hold_sync():
            self.offset = offset
            self.spectra = b"".join(chunks)
            self.spectra_meta = meta
            self.items = [{str(k): jsonable(v) for k, v in item.items()} for item in items]

    def update_item(self, take_id: str, **changes: Any) -> None:
        """Change some fields of one card (e.g. its stars after scoring)."""
        self.items = [
            {**item, **{k: jsonable(v) for k, v in changes.items()}}
            if item.get("id") == take_id else item
            for item in self.items
        ]

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Register ``callback`` for ``focus``, ``play``, ``stars``, ``tag`` or ``remark``."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; use one of {', '.join(EVENTS)}")
        self._handlers[event].append(callback)

    def emit(self, event: str, *args: Any) -> None:
        """Act as the browser reporting ``event`` (what a click or an edit sends)."""
        for cb in list(self._handlers[event]):
            cb(*args)

    def _on_front_end_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        event = content.get("type")
        if event in EVENTS:
            self.emit(event, *(content.get(name) for name in EVENTS[event]))


__all__ = ["EVENTS", "TakeList"]
