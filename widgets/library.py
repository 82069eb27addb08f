"""What all roles share: the auxiliary ("fusion") reference pool and the text library.

Both live in the Clips tab as sections under the clip table.

Example:
    >>> import rasv, tempfile
    >>> from widgets.context import Context, row
    >>> ctx = Context(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> box = TextLibraryBox(ctx)
    >>> box.content.value = "A new test sentence."
    >>> box.add_text().lang
    'en'
    >>> box.table.rows[0]["content"]
    'A new test sentence.'
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import pandas as pd

from rasv.langs import API_LANGS
from widgets.context import Context, row
from widgets.player import Player
from widgets.table import Table, column, delete_action


def _page(table: Table, df: pd.DataFrame) -> None:
    """Show the table's current page of an in-memory DataFrame (sorted by the table)."""
    if table.sort_key and table.sort_key in df.columns:
        df = df.sort_values(table.sort_key, ascending=not table.sort_desc, kind="stable",
                            na_position="last")
    total = len(df)
    pages = max(1, -(-total // table.page_size))
    if table.page > pages:
        table.page = pages
    table.set_rows(df.iloc[table.offset: table.offset + table.page_size], total=total)


class AuxPoolBox:
    """The shared aux pool: play, edit metadata, remove.

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import make_clip
        >>> from widgets.context import Context, row
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> a = ws.aux.add(make_clip(os.path.join(ws.root, "b.wav"), 3.0), text="hi", lang="en")
        >>> box = AuxPoolBox(Context(ws, lang="en")); box.refresh()
        >>> box.table.action(a.id, "play"); box.player.playing
        True
        >>> box.table.edit(a.id, "remark", "bright"); ws.aux.get(a.id).remark
        'bright'
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        t = ctx.t
        self.player = Player(lang=ctx.lang)
        self.filter = W.Text(placeholder=t("clips.filter.text"), continuous_update=False,
                             layout=W.Layout(width="220px"))
        self.table = Table([
            column("play", "", "play", width="32px"),
            column("source_role", t("aux.col.role"), sortable=True),
            column("name", t("clips.col.name"), "edit", sortable=True),
            column("category", t("clips.col.category"), "edit", sortable=True),
            column("text", t("clips.col.text"), "edit", width="30%"),
            column("lang", t("clips.col.lang"), "select", options=list(API_LANGS)),
            column("duration_s", t("clips.col.duration"), "num", digits=2, sortable=True),
            column("remark", t("clips.col.remark"), "edit"),
            column("actions", "", "buttons", actions=[
                delete_action(t)]),
        ], lang=ctx.lang, page_size=20)
        self.table.on_edit(ctx.guard(self.edit))
        self.table.on_action(ctx.guard(self._on_action))
        self.table.observe(lambda _c: ctx.guard(self.refresh)(),
                           ["sort_key", "sort_desc", "page", "page_size"])
        self.filter.observe(lambda _c: ctx.guard(self.refresh)(), "value")
        self.player.observe(self._on_playing, "playing")
        self.widget = W.VBox([self.filter, self.player, self.table])

    def refresh(self) -> None:
        df = self.ctx.ws.aux.df(text=self.filter.value.strip() or None)
        _page(self.table, df)

    def edit(self, aux_id: int, key: str, value: Any) -> None:
        self.ctx.ws.aux.update(int(aux_id), **{key: value})
        self.refresh()

    def _on_action(self, aux_id: Any, action: str) -> None:
        if action == "play":
            self.player.play_clip(self.ctx.ws.aux, aux_id, key=f"aux{aux_id}")
        elif action == "delete":
            if self.player.key == f"aux{aux_id}":
                self.player.clear()
            self.ctx.ws.aux.delete(int(aux_id))
            self.refresh()

    def _on_playing(self, change: dict) -> None:
        key = self.player.key
        self.table.playing = int(key[3:]) if change["new"] and key.startswith("aux") else None


class TextLibraryBox:
    """The shared text library: add, filter, edit in place, delete."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        t = ctx.t
        self.content = W.Textarea(placeholder=t("texts.content"),
                                  layout=W.Layout(width="520px", height="64px"))
        self.lang = W.Dropdown(options=[("auto", "")] + [(c, c) for c in API_LANGS], value="",
                               description=t("texts.col.lang"), layout=W.Layout(width="170px"))
        self.category = W.Combobox(description=t("texts.col.category"), ensure_option=False,
                                   placeholder="default", layout=W.Layout(width="220px"))
        self.long = W.Checkbox(description=t("texts.long"), indent=False,
                               layout=W.Layout(width="auto"))
        self.button = W.Button(description=t("action.add"), icon="plus", button_style="primary")
        self.button.on_click(ctx.guard(lambda _b: self.add_text()))
        self.f_category = W.Dropdown(description=t("texts.col.category"),
                                     layout=W.Layout(width="200px"))
        self.f_contains = W.Text(placeholder=t("clips.filter.text"), continuous_update=False,
                                 layout=W.Layout(width="200px"))
        for w in (self.lang, self.category, self.f_category):
            w.style.description_width = "initial"
        self.f_category.observe(lambda _c: ctx.guard(self.refresh)(), "value")
        self.f_contains.observe(lambda _c: ctx.guard(self.refresh)(), "value")
        self.table = Table([
            column("category", t("texts.col.category"), "edit", sortable=True),
            column("lang", t("texts.col.lang"), "select", options=list(API_LANGS),
                   sortable=True),
            column("content", t("texts.col.content"), "edit", width="60%"),
            column("long", t("texts.col.long"), "check", editable=True, sortable=True),
            column("actions", "", "buttons", actions=[
                delete_action(t)]),
        ], lang=ctx.lang, page_size=20)
        self.table.on_edit(ctx.guard(self.edit))
        self.table.on_action(ctx.guard(lambda i, _a: self.delete(int(i))))
        self.table.observe(lambda _c: ctx.guard(self.refresh)(),
                           ["sort_key", "sort_desc", "page", "page_size"])
        form = W.VBox([self.content,
                       row([self.lang, self.category, self.long, self.button])])
        self.widget = W.VBox([form, W.HBox([self.f_category, self.f_contains]), self.table])
        self.refresh()

    def refresh(self) -> None:
        texts = self.ctx.ws.texts
        cats = texts.categories()
        current = self.f_category.value
        self.f_category.options = [(self.ctx.t("filter.all"), "")] + [(c, c) for c in cats]
        self.f_category.value = current if current in cats else ""
        self.category.options = cats
        df = texts.df(category=self.f_category.value or None,
                      contains=self.f_contains.value.strip() or None)
        _page(self.table, df)

    def add_text(self) -> Any:
        """Add the form's text to the library; returns the new :class:`~rasv.TextItem`."""
        item = self.ctx.ws.texts.add(self.content.value, lang=self.lang.value or None,
                                     category=self.category.value.strip() or "default",
                                     long=True if self.long.value else None)
        self.content.value = ""
        self.ctx.say(self.ctx.t("texts.added"))
        with self.table.hold_trait_notifications():  # newest first, one refresh
            self.table.sort_key, self.table.sort_desc, self.table.page = "id", True, 1
        self.refresh()
        return item

    def edit(self, text_id: int, key: str, value: Any) -> None:
        self.ctx.ws.texts.update(int(text_id), **{key: value})
        self.refresh()

    def delete(self, text_id: int) -> None:
        self.ctx.ws.texts.delete(text_id)
        self.refresh()


__all__ = ["AuxPoolBox", "TextLibraryBox"]
