"""A paged, sortable table that renders a whole page in one widget.

A grid of ipywidgets (one widget per cell) takes seconds to appear for a 50-row page; this
table is one anywidget that draws plain DOM rows from JSON. Header clicks, paging, inline
edits, check boxes, star picks and row buttons come back as trait changes (``sort_key``,
``sort_desc``, ``page``, ``page_size``, ``selected``) or as ``on_edit`` / ``on_action``
callbacks; the panel's controller re-queries the library and sets ``rows``.

Column kinds: ``text``, ``num`` (``digits``), ``edit`` (inline text), ``select``
(``options``), ``check`` (``editable``), ``flag`` (✓/✗), ``stars`` (``editable``, ``max``),
``play`` (a play button; the row whose id equals ``playing`` is highlighted), ``buttons``
(``actions``: ``[{"action", "label", "danger", "confirm"}]``; ``confirm`` asks for a second
click).

Example:
    >>> import pandas as pd
    >>> t = Table([column("name", "Name", sortable=True), column("text", "Text", "edit")])
    >>> t.set_rows(pd.DataFrame({"id": [1, 2], "name": ["a", "b"], "text": ["x", None]}),
    ...            total=2)
    >>> t.rows[1]
    {'id': 2, 'name': 'b', 'text': None}
    >>> edits = []
    >>> t.on_edit(lambda row_id, key, value: edits.append((row_id, key, value)))
    >>> t.edit(2, "text", "hello")
    >>> edits
    [(2, 'text', 'hello')]
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import anywidget
import numpy as np
import pandas as pd
import traitlets

from widgets.i18n import Translator
from widgets.player import STATIC

KINDS = ("text", "num", "edit", "select", "check", "flag", "stars", "play", "buttons")


def column(key: str, label: str, kind: str = "text", **options: Any) -> dict[str, Any]:
    """Describe one column (see the module docstring for kinds and options).

    Example:
        >>> column("duration_s", "Duration", "num", digits=2, sortable=True)["digits"]
        2
    """
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r}; use one of {', '.join(KINDS)}")
    return {"key": key, "label": label, "kind": kind, **options}


def delete_action(t: Callable[[str], str]) -> dict[str, Any]:
    """The row button of a ``buttons`` column that deletes, asking for a second click first.

    Example:
        >>> from widgets.i18n import Translator
        >>> delete_action(Translator("en"))
        {'action': 'delete', 'label': 'Delete', 'danger': True, 'confirm': 'Delete?'}
    """
    return {"action": "delete", "label": t("action.delete"), "danger": True,
            "confirm": t("action.confirm_delete")}


def jsonable(value: Any) -> Any:
    """A value the widget protocol can carry: NaN/NaT become None, numpy scalars Python ones.

    Example:
        >>> jsonable(np.float32(1.5)), jsonable(float("nan")), jsonable(np.array([1, 2]))
        (1.5, None, [1, 2])
    """
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (np.ndarray, list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat(sep=" ", timespec="seconds") if isinstance(
            value, _dt.datetime) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(df: pd.DataFrame, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-safe dicts, keeping ``id`` and the given keys.

    Example:
        >>> records(pd.DataFrame({"id": [1], "x": [np.nan], "y": ["a"]}), ["x"])
        [{'id': 1, 'x': None}]
    """
    cols = list(df.columns) if keys is None else ["id", *[k for k in keys if k != "id"]]
    cols = [c for c in dict.fromkeys(cols) if c in df.columns]
    return [
        {c: jsonable(v) for c, v in zip(cols, row, strict=True)}
        for row in df[cols].itertuples(index=False, name=None)
    ]


class Table(anywidget.AnyWidget):
    """One page of rows with sorting, paging, inline edits and row actions.

    Args:
        columns: column descriptions from :func:`column`.
        selectable: show a check box per row (``selected`` holds the checked ids).
        page_size: rows per page (one of ``page_sizes``).
        lang: interface language for the pager and the empty-table text.

    Example:
        >>> t = Table([column("a", "A", "buttons", actions=[{"action": "delete", "label": "x"}])])
        >>> acts = []
        >>> t.on_action(lambda row_id, action: acts.append((row_id, action)))
        >>> t._handle_custom_msg({"type": "action", "id": 5, "action": "delete"}, [])
        >>> acts
        [(5, 'delete')]
    """

    _esm = STATIC / "table.js"
    _css = STATIC / "table.css"

    columns = traitlets.List().tag(sync=True)
    rows = traitlets.List().tag(sync=True)
    selectable = traitlets.Bool(False).tag(sync=True)
    selected = traitlets.List().tag(sync=True)
    sort_key = traitlets.Unicode("").tag(sync=True)
    sort_desc = traitlets.Bool(False).tag(sync=True)
    page = traitlets.Int(1).tag(sync=True)
    pages = traitlets.Int(1).tag(sync=True)
    page_size = traitlets.Int(50).tag(sync=True)
    page_sizes = traitlets.List(traitlets.Int(), [20, 50, 100, 200]).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    page_text = traitlets.Unicode("").tag(sync=True)
    empty_text = traitlets.Unicode("").tag(sync=True)
    playing = traitlets.Any(None).tag(sync=True)

    def __init__(self, columns: Sequence[dict[str, Any]], *, selectable: bool = False,
                 page_size: int = 50, lang: str | None = None, **kwargs: Any) -> None:
        self._t = Translator(lang)
        super().__init__(columns=list(columns), selectable=selectable, page_size=page_size,
                         empty_text=self._t("table.empty"), **kwargs)
        self._edit_cbs: list[Callable[[Any, str, Any], Any]] = []
        self._action_cbs: list[Callable[[Any, str], Any]] = []
        self.on_msg(self._on_front_end_msg)
        self._paint_pager()

    # -- data ----------------------------------------------------------------------------

    def set_rows(self, df: pd.DataFrame | list[dict[str, Any]], *, total: int | None = None) -> None:
        """Show one page of rows (``total`` = rows across all pages, for the pager)."""
        rows = df if isinstance(df, list) else records(
            df, [c["key"] for c in self.columns] + ["_muted"]
        )
        total = len(rows) if total is None else int(total)
        with self.hold_sync():
            self.total = total
            self.pages = max(1, math.ceil(total / max(self.page_size, 1)))
            self.rows = rows
            self._paint_pager()

    @property
    def offset(self) -> int:
        """Index of the first row of the current page."""
        return (max(self.page, 1) - 1) * self.page_size

    def row(self, row_id: Any) -> dict[str, Any] | None:
        """The row with this id on the current page, or None."""
        return next((r for r in self.rows if r.get("id") == row_id), None)

    @traitlets.observe("page", "page_size", "pages", "total")
    def _on_paging(self, _change: Any) -> None:
        self._paint_pager()

    def _paint_pager(self) -> None:
        self.page_text = self._t("table.page", page=self.page, pages=self.pages, total=self.total)

    # -- events --------------------------------------------------------------------------

    def on_edit(self, callback: Callable[[Any, str, Any], Any]) -> None:
        """Call ``callback(row_id, key, value)`` when a cell is edited."""
        self._edit_cbs.append(callback)

    def on_action(self, callback: Callable[[Any, str], Any]) -> None:
        """Call ``callback(row_id, action)`` when a row button (or play) is pressed."""
        self._action_cbs.append(callback)

    def edit(self, row_id: Any, key: str, value: Any) -> None:
        """Act as an inline edit of one cell (what the browser sends)."""
        for cb in list(self._edit_cbs):
            cb(row_id, key, value)

    def action(self, row_id: Any, action: str) -> None:
        """Act as a press of a row button (what the browser sends)."""
        for cb in list(self._action_cbs):
            cb(row_id, action)

    def _on_front_end_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        kind = content.get("type")
        if kind == "edit":
            self.edit(content.get("id"), str(content.get("key")), content.get("value"))
        elif kind == "action":
            self.action(content.get("id"), str(content.get("action")))


def dispatch(handlers: Mapping[str, Callable[[int], Any]], row_id: Any, action: str) -> None:
    """Call the handler of a row ``action`` with the row id as an int; other actions do nothing.

    Example:
        >>> seen = []
        >>> dispatch({"play": seen.append}, "7", "play"); dispatch({"play": seen.append}, 8, "x")
        >>> seen
        [7]
    """
    handler = handlers.get(action)
    if handler is not None:
        handler(int(row_id))


__all__ = ["KINDS", "Table", "column", "delete_action", "dispatch", "jsonable", "records"]
