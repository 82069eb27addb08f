"""The Products tab: the finished voice presets of every role, on ``ws.products``.

One table across roles (or the current role only), best score first: play a product's
reference clip, edit its name, category, sampling parameters, seed, score and remark in
place, open it in the Long text tab, see the exact ``api_v2`` request body it stands for,
delete products, and export the checked ones as a zip pack (optionally with the model files,
optionally one folder per model pair) that RefAudioSelectorV2's and GSVI's loaders read. The
"Serve" switch (:mod:`widgets.serving`) serves them as voices to other apps (``rasv api``).

Example:
    >>> import rasv
    >>> from rasv.testing import example
    >>> from widgets.context import Context
    >>> ex = example(texts=()); ws = ex.ws   # a workspace, role "a" and one clip
    >>> p = ws.products.create(ex.role, "温柔", clip=ex.clip.id, params=rasv.Params(top_k=10, seed=7))
    >>> ctx = Context(ws, lang="en"); ctx.role = ex.role
    >>> panel = ProductsPanel(ctx)
    >>> panel.table.edit(p.id, "top_k", "12")
    >>> ws.products.get(p.id).params.top_k
    12
    >>> panel.request(p.id)["top_k"]
    12
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import ipywidgets as W
import pandas as pd

from rasv.errors import InvalidInput
from widgets.context import Context, Panel, col, row, unobserved
from widgets.player import Player
from widgets.serving import ServeSwitch
from widgets.table import Table, column, delete_action, dispatch

#: Parameters edited in the table, and how a typed value is read.
PARAM_COLUMNS: dict[str, type] = {"top_k": int, "top_p": float, "temperature": float,
                                  "speed_factor": float, "seed": int}
#: Product fields edited in the table as they are.
_FIELDS = ("name", "category", "remark")


class ProductsPanel(Panel):
    """Controller and view of the Products tab.

    Controller methods: :meth:`refresh`, :meth:`edit`, :meth:`play`, :meth:`request`,
    :meth:`delete`, :meth:`export`, :meth:`open_longtext`.
    """

    tab = "tab.products"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        narrow = {"description_width": "initial"}
        self._df = pd.DataFrame()
        self.player = Player(lang=ctx.lang)
        self.player.observe(self._on_playing, "playing")

        self.scope = W.ToggleButtons(
            options=[(t("products.this_role"), "role"), (t("products.all_roles"), "all")],
            value="role")
        self.f_name = W.Text(placeholder=t("products.filter_name"), continuous_update=False,
                             layout=W.Layout(width="180px"))
        self.f_category = W.Dropdown(description=t("clips.col.category"), style=narrow,
                                     layout=W.Layout(width="200px"))
        for w in (self.scope, self.f_name, self.f_category):
            w.observe(self._on_filter, "value")
        self.count = W.HTML("")
        self.table = Table(self._columns(pd.DataFrame()), selectable=True, lang=ctx.lang,
                           page_size=20, sort_key="score", sort_desc=True)
        self.table.add_class("rasv-products")
        self.table.on_edit(ctx.guard(self.edit))
        self.table.on_action(ctx.guard(self._on_action))
        self.table.observe(lambda _c: self._paint(),
                           ["sort_key", "sort_desc", "page", "page_size"])
        self.table.observe(lambda _c: self._paint_export(), "selected")

        # -- the api_v2 request ------------------------------------------------------------
        self.sample_text = W.Text(description=t("products.sample_text"), style=narrow,
                                  placeholder="今天天气很好。", layout=W.Layout(width="420px"))
        self.sample_text.observe(lambda _c: ctx.guard(self._repaint_request)(), "value")
        self.request_title = W.HTML("")
        self.request_body = W.HTML("")
        self._request_id: int | None = None

        # -- export ------------------------------------------------------------------------
        self.dest = W.Text(description=t("products.dest"), style=narrow,
                           layout=W.Layout(width="480px"))
        self.include_models = W.Checkbox(description=t("products.include_models"),
                                         indent=False, layout=W.Layout(width="auto"))
        self.merge = W.Checkbox(description=t("products.merge"), indent=False,
                                layout=W.Layout(width="auto"))
        self.export_button = W.Button(description=t("products.export"), icon="download",
                                      button_style="primary", layout=W.Layout(width="auto"))
        self.export_button.on_click(ctx.guard(lambda _b: self.export()))
        self.delete_button = W.Button(description=t("action.delete"), button_style="danger",
                                      layout=W.Layout(width="auto"))
        self.delete_button.on_click(ctx.guard(self._on_delete_selected))
        self._delete_armed = False
        self.export_info = W.HTML("")
        # -- serving the products to other apps (rasv api) ---------------------------------
        self.serve = ServeSwitch(ctx)

        self.widget = col([
            row([self.scope, self.f_name, self.f_category, self.count]),
            self.player,
            self.table,
            row([self.dest, self.include_models, self.merge, self.export_button,
                 self.delete_button]),
            self.export_info,
            row([self.request_title, self.sample_text]),
            self.request_body,
            self.serve.widget,
        ])
        self.widget.add_class("rasv-products-panel")
        ctx.observe(lambda _c: ctx.guard(self.on_role)(), "role")
        self.on_role()

    # -- columns ---------------------------------------------------------------------------

    def _columns(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """The table's columns; the role and model columns only when they say something."""
        t = self.t
        cols = [
            column("play", "", "play", width="32px"),
            column("name", t("products.col.name"), "edit", sortable=True, width="110px"),
        ]
        if self.scope.value == "all":
            cols.append(column("role", t("role.label"), sortable=True))
        cols += [
            column("category", t("clips.col.category"), "edit", sortable=True, width="90px"),
            column("clip_name", t("products.col.clip"), title=True),
        ]
        for key, label in (("version", t("engines.col.version")), ("gpt", "GPT"),
                           ("sovits", "SoVITS")):
            if key in df.columns and df[key].notna().any():
                cols.append(column(key, label, title=True, sortable=key == "version"))
        cols += [
            column("n_aux", t("products.col.aux"), "num", digits=0),
            column("top_k", "k", "edit", width="48px"),
            column("top_p", "p", "edit", width="52px"),
            column("temperature", "t", "edit", width="52px"),
            column("speed_factor", t("products.col.speed"), "edit", width="52px"),
            column("seed", "seed", "edit", width="96px"),
            column("score", t("clips.col.score"), "stars", editable=True, sortable=True,
                   desc_first=True),
            column("remark", t("clips.col.remark"), "edit"),
            column("actions", "", "buttons", actions=[
                {"action": "request", "label": t("products.request")},
                {"action": "longtext", "label": t("tab.longtext")},
                delete_action(t)]),
        ]
        return cols

    # -- reading ---------------------------------------------------------------------------

    def on_role(self) -> None:
        """Show the new role's products (or keep showing every role's)."""
        self.table.selected = []
        self._request_id = None
        self.request_body.value = self.request_title.value = ""
        self.dest.value = self._default_dest()
        self.refresh()

    def _default_dest(self) -> str:
        name = self.role.label if self.role is not None else "products"
        return str(self.ws.root / "exports" / f"{name}.zip")

    def refresh(self, *_: Any) -> None:
        """Re-read the products (other tabs create them)."""
        role = self.role if self.scope.value == "role" else None
        if self.scope.value == "role" and role is None:
            self._df = pd.DataFrame()
        else:
            self._df = self.ws.products.df(role, name=self.f_name.value.strip() or None)
        cats = sorted({str(c) for c in self._df.get("category", [])})
        current = self.f_category.value
        with unobserved(self.f_category, self._on_filter):
            self.f_category.options = [(self.t("filter.all"), "")] + [(c, c) for c in cats]
            self.f_category.value = current if current in cats else ""
        if self.f_category.value:
            self._df = self._df[self._df["category"] == self.f_category.value]
        columns = self._columns(self._df)
        if columns != self.table.columns:
            self.table.columns = columns
        ids = set(self._df["id"].astype(int)) if len(self._df) else set()
        kept = [i for i in self.table.selected if i in ids]
        if kept != list(self.table.selected):
            self.table.selected = kept
        self._paint()
        self._paint_export()
        self.serve.paint()  # a new or renamed product is a new voice

    # -- editing ---------------------------------------------------------------------------

    def edit(self, product_id: Any, key: str, value: Any) -> None:
        """Save one inline edit: name, category, remark, score or a sampling parameter."""
        pid = int(product_id)
        try:
            if key in _FIELDS:
                self.ws.products.update(pid, **{key: value})
            elif key == "score":
                # Clicking the current star clears the score (the table sends 0).
                self.ws.products.update(pid, score=int(value) or None)
            elif key in PARAM_COLUMNS:
                self.ws.products.update(pid, params={key: self._number(key, value)})
            else:
                raise InvalidInput(self.t("products.not_editable", field=key))
        finally:
            self.refresh()  # the table shows what is stored, also after a refused edit
        if self._request_id == pid:
            self._repaint_request()
        self.ctx.say(self.t("clips.updated", name=self.ws.products.get(pid).name))

    def _number(self, key: str, value: Any) -> int | float:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        whole = PARAM_COLUMNS[key] is int
        if not math.isfinite(number) or (whole and not number.is_integer()):
            raise InvalidInput(self.t("products.bad_number", field=key, value=text))
        return int(number) if whole else number

    def delete(self, product_ids: list[int]) -> int:
        """Delete products (their source takes and long-text runs stay)."""
        n = self.ws.products.delete([int(i) for i in product_ids])
        if self._request_id in {int(i) for i in product_ids}:
            self._request_id = None
            self.request_body.value = self.request_title.value = ""
        self.table.selected = [i for i in self.table.selected if i not in set(product_ids)]
        self.refresh()
        self.ctx.say(self.t("products.deleted", n=n))
        return n

    # -- using -----------------------------------------------------------------------------

    def play(self, product_id: int) -> None:
        """Play a product's reference clip (pause it when it plays)."""
        key = f"p{int(product_id)}"
        if self.player.key == key:
            self.player.toggle()
            return
        preset = self.ws.products.preset(int(product_id))
        self.player.load_file(self.ws.abspath(preset.clip_path), key=key,
                              label=f"{preset.clip_name} · {preset.prompt_text}", play=True)

    def request(self, product_id: int) -> dict[str, Any]:
        """Show (and return) the exact ``api_v2`` ``POST /tts`` body of a product."""
        pid = int(product_id)
        body = self.ws.products.export_request(pid, self.sample_text.value.strip())
        self._request_id = pid
        name = self.ws.products.get(pid).name
        self.request_title.value = "<b>" + html.escape(
            self.t("products.request_title", name=name)) + "</b>"
        self.request_body.value = (
            "<pre class='rasv-request' style='max-height:320px;overflow:auto;margin:0;"
            "white-space:pre;line-height:1.35;font-size:12px;"
            "font-family:var(--jp-code-font-family,monospace);"
            "background:var(--jp-layout-color2,#f5f5f5);padding:8px;border-radius:4px;"
            "user-select:all'>"
            + html.escape(json.dumps(body, ensure_ascii=False, indent=2)) + "</pre>")
        return body

    def _repaint_request(self) -> None:
        if self._request_id is not None:
            self.request(self._request_id)

    def open_longtext(self, product_id: int) -> bool:
        """Read a long text with this product in the Long text tab."""
        ok = self.ctx.navigate("longtext", product=int(product_id))
        if not ok:
            self.ctx.say(self.t("products.no_longtext"), "warn")
        return ok

    def export(self, dest: str | None = None) -> Any:
        """Export the checked products as a zip pack; returns its path."""
        ids = [int(i) for i in self.table.selected]
        if not ids:
            raise InvalidInput(self.t("products.need_selection"))
        target = (dest if dest is not None else self.dest.value).strip().strip('"')
        if not target:
            raise InvalidInput(self.t("products.need_dest"))
        path = self.ws.products.export(ids, target, include_models=self.include_models.value,
                                       merge=self.merge.value)
        self.export_info.value = html.escape(self.t("products.exported", n=len(ids),
                                                    path=str(path)))
        self.ctx.say(self.t("products.exported", n=len(ids), path=str(path)))
        return path

    # -- painting and glue -------------------------------------------------------------------

    def _paint(self) -> None:
        df = self._df
        total = len(df)
        if total and self.table.sort_key in df.columns:
            df = df.sort_values(self.table.sort_key, ascending=not self.table.sort_desc,
                                kind="stable", na_position="last")
        pages = max(1, -(-total // self.table.page_size))
        if self.table.page > pages:
            self.table.page = pages  # the observer paints again
            return
        page = df.iloc[self.table.offset:self.table.offset + self.table.page_size]
        self.table.set_rows(page if total else [], total=total)
        self.count.value = html.escape(self.t("products.count", n=total))

    def _paint_export(self) -> None:
        n = len(self.table.selected)
        self.export_button.disabled = n == 0
        self.export_button.description = self.t("products.export_n", n=n)
        self._delete_armed = False
        self.delete_button.description = f"{self.t('action.delete')} ({n})"
        self.delete_button.disabled = n == 0

    def _on_filter(self, _change: Any) -> None:
        self.table.page = 1
        self.ctx.guard(self.refresh)()

    def _on_action(self, product_id: Any, action: str) -> None:
        dispatch({"play": self.play, "request": self.request, "longtext": self.open_longtext,
                  "delete": lambda i: self.delete([i])}, product_id, action)

    def _on_delete_selected(self, _button: Any) -> None:
        ids = list(self.table.selected)
        if ids and self.confirm_twice(self.delete_button, len(ids)):
            self.delete(ids)

    def _on_playing(self, change: dict) -> None:
        key = self.player.key
        self.table.playing = int(key[1:]) if change["new"] and key.startswith("p") else None

    def close(self) -> None:
        """Stop playback and serving."""
        self.player.clear()
        self.serve.close()


__all__ = ["PARAM_COLUMNS", "ProductsPanel"]
