"""The Clips tab: a role's reference clips, their import, categories, the aux pool and texts.

The clip table is paged and sorted by the library (``ws.clips.df(..., sort, limit,
offset)``), so a role with thousands of clips shows its first page as fast as one with ten.
Transcript, category, language, remark and the checked flag are edited in place and saved at
once; a click on ▶ plays the clip in the panel's player (one playing at a time).

Example:
    >>> from rasv.testing import example
    >>> from widgets.context import Context
    >>> ex = example(texts=())   # a workspace, role "a" and one clip
    >>> ctx = Context(ex.ws, lang="en"); ctx.role = ex.role
    >>> panel = ClipsPanel(ctx)
    >>> [r["name"] for r in panel.table.rows]
    ['0.wav']
    >>> panel.table.edit(ex.clip.id, "text", "你好呀")
    >>> ex.ws.clips.get(ex.clip.id).text
    '你好呀'
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from rasv.langs import API_LANGS
from widgets.context import Context, Panel, col, row
from widgets.library import AuxPoolBox, TextLibraryBox
from widgets.player import Player
from widgets.table import Table, column, delete_action

#: Table columns the library can sort by (the others are not clickable).
_SORTABLE = {"name", "category", "text", "lang", "duration_s", "valid", "calibrated", "remark",
             "score_max"}
_TRI = ("all", "yes", "no")


def parse_path_map(text: str) -> dict[str, str]:
    """Read the import form's path map: one ``old prefix => new prefix`` per line.

    ``->`` works too; blank lines and lines starting with ``#`` are ignored.

    Raises:
        InvalidInput: a line without an arrow or with an empty side.

    Example:
        >>> parse_path_map("D:/GPT-SoVITS/ => /data/gsv/\\n# note\\n\\nE:\\\\a -> /b")
        {'D:/GPT-SoVITS/': '/data/gsv/', 'E:\\\\a': '/b'}
    """
    from rasv.errors import InvalidInput

    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for arrow in ("=>", "->"):
            if arrow in line:
                old, new = (part.strip() for part in line.split(arrow, 1))
                break
        else:
            old = new = ""
        if not old or not new:
            raise InvalidInput(f"path map line {n} must read 'old prefix => new prefix'")
        out[old] = new
    return out


def _tri(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class ClipsPanel(Panel):
    """Controller and view of the Clips tab.

    The filter widgets (``name``, ``text``, ``category``, ``valid``, ``calibrated``) feed
    :meth:`query`; the table's sort and paging traits do too. Tests drive the widgets or call
    the methods directly.
    """

    tab = "tab.clips"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        self.player = Player(lang=ctx.lang)
        self.table = Table(self._columns([]), selectable=True, page_size=50, lang=ctx.lang,
                           sort_key="duration_s", sort_desc=True)
        self.table.add_class("rasv-cliptable")
        self.table.on_edit(ctx.guard(self.edit))
        self.table.on_action(ctx.guard(self._on_action))
        self.table.observe(lambda _c: ctx.guard(self.refresh)(),
                           ["sort_key", "sort_desc", "page", "page_size"])
        self.table.observe(lambda _c: self._paint_batch(), "selected")
        self.player.observe(self._on_playing, "playing")

        # -- filters ---------------------------------------------------------------------
        lay = W.Layout(width="170px")
        self.f_name = W.Text(placeholder=t("clips.filter.name"), layout=lay,
                             continuous_update=False)
        self.f_text = W.Text(placeholder=t("clips.filter.text"), layout=lay,
                             continuous_update=False)
        self.f_category = W.Dropdown(description=t("clips.filter.category"),
                                     layout=W.Layout(width="200px"))
        tri = [(t(f"filter.{k}"), k) for k in _TRI]
        self.f_valid = W.Dropdown(options=tri, value="all", description=t("clips.filter.valid"),
                                  layout=W.Layout(width="150px"))
        self.f_calibrated = W.Dropdown(options=tri, value="all",
                                       description=t("clips.filter.calibrated"),
                                       layout=W.Layout(width="150px"))
        for w in (self.f_name, self.f_text, self.f_category, self.f_valid, self.f_calibrated):
            w.style.description_width = "initial"
            w.observe(self._on_filter, "value")
        self.count = W.HTML("")
        filters = row([self.f_name, self.f_text, self.f_category, self.f_valid,
                       self.f_calibrated, self.count])

        # -- batch actions on the checked rows -------------------------------------------
        self.b_target = W.Combobox(placeholder=t("import.category"), ensure_option=False,
                                   layout=W.Layout(width="160px"))
        self.b_move = W.Button(description="→ " + t("clips.col.category"),
                               layout=W.Layout(width="auto"))
        self.b_aux = W.Button(description=t("aux.add_selected"), layout=W.Layout(width="auto"))
        self.b_delete = W.Button(description=t("action.delete"), button_style="danger",
                                 layout=W.Layout(width="auto"))
        self.b_move.on_click(ctx.guard(lambda _b: self.move_selected(self.b_target.value)))
        self.b_aux.on_click(ctx.guard(lambda _b: self.add_selected_to_aux()))
        self.b_delete.on_click(ctx.guard(self._on_delete_selected))
        self._delete_armed = False
        self.batch = row([self.b_target, self.b_move, self.b_aux, self.b_delete])

        # -- takes made with one clip (across tasks) ----------------------------------------
        self.related_title = W.HTML("")
        self.related = Table([
            column("play", "", "play", width="32px"),
            column("task_id", t("review.task"), "num", digits=0),
            column("params_label", t("review.dim.param")),
            column("text", t("clips.col.text"), width="35%"),
            column("duration_s", t("clips.col.duration"), "num", digits=2),
            column("stars", t("clips.col.score"), "stars", editable=True),
            column("remark", t("clips.col.remark"), "edit"),
        ], lang=ctx.lang, page_size=20)
        self.related.on_action(ctx.guard(self._on_related_action))
        self.related.on_edit(ctx.guard(self._on_related_edit))
        self.related_box = col([self.related_title, self.related])
        self.related_box.layout.display = "none"
        self._related_clip: int | None = None

        # -- the sections under the table ------------------------------------------------
        self.importer = ImportForm(ctx, on_done=self.refresh)
        self.categories = CategoriesBox(ctx, on_change=self._on_categories)
        self.aux = AuxPoolBox(ctx)
        self.texts = TextLibraryBox(ctx)
        self.sections = W.Accordion(
            children=[self.importer.widget, self.categories.widget, self.aux.widget,
                      self.texts.widget],
            titles=(t("import.title"), t("categories.title"), t("aux.title"),
                    t("texts.title")),
            selected_index=None,
        )
        self.sections.observe(self._on_section, "selected_index")

        self.widget = col([filters, self.player, self.table, self.batch, self.related_box,
                           self.sections])
        self.widget.add_class("rasv-clips")
        ctx.observe(lambda _c: ctx.guard(self.on_role)(), "role")
        self.on_role()

    # -- columns -------------------------------------------------------------------------

    def _columns(self, categories: list[str]) -> list[dict[str, Any]]:
        t = self.t
        cols = [
            column("play", "", "play", width="32px"),
            column("name", t("clips.col.name"), title=True),
            column("category", t("clips.col.category"), "select", options=categories),
            column("text", t("clips.col.text"), "edit", width="30%"),
            column("lang", t("clips.col.lang"), "select", options=list(API_LANGS)),
            column("duration_s", t("clips.col.duration"), "num", digits=2, desc_first=True),
            column("valid", t("clips.col.valid"), "flag"),
            column("calibrated", t("clips.col.calibrated"), "check", editable=True),
            column("score_max", t("clips.col.score"), "stars", desc_first=True),
            column("remark", t("clips.col.remark"), "edit"),
            column("actions", t("clips.col.actions"), "buttons", actions=[
                {"action": "related", "label": t("clips.related")},
                *[{"action": tab, "label": t(f"clips.action.{tab}")}
                  for tab in ("classify", "split") if tab in self.ctx.tabs],
                delete_action(t),
            ]),
        ]
        for c in cols:
            c["sortable"] = c["key"] in _SORTABLE
        return cols

    # -- controller ----------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        """The ``ws.clips.df`` filters the filter widgets describe."""
        out: dict[str, Any] = {}
        if self.f_name.value.strip():
            out["name"] = self.f_name.value.strip()
        if self.f_text.value.strip():
            out["text"] = self.f_text.value.strip()
        if self.f_category.value:
            out["category"] = self.f_category.value
        for key, w in (("valid", self.f_valid), ("calibrated", self.f_calibrated)):
            value = _tri(w.value)
            if value is not None:
                out[key] = value
        return out

    def sort(self) -> str:
        """The library sort string for the table's sort column."""
        key = self.table.sort_key or "duration_s"
        return ("-" if self.table.sort_desc else "") + key

    def on_role(self) -> None:
        """Reset the filters' choices for the current role and show its first page."""
        self.player.clear()
        self.table.selected = []
        self._reload_categories()
        if self.table.page != 1:
            self.table.page = 1  # triggers refresh
        else:
            self.refresh()

    def _reload_categories(self) -> None:
        cats = self.ws.clips.categories.list(self.role) if self.role else []
        current = self.f_category.value
        self.f_category.options = [(self.t("filter.all"), "")] + [(c, c) for c in cats]
        self.f_category.value = current if current in cats else ""
        self.b_target.options = cats
        self.table.columns = self._columns(cats)

    def refresh(self, *_: Any) -> None:
        """Re-read the current page from the workspace."""
        if self.role is None:
            self.table.set_rows([], total=0)
            self.count.value = self.t("clips.no_role")
            self._paint_batch()
            return
        filters = self.filters()
        total = self.ws.clips.count(self.role, **filters)
        pages = max(1, -(-total // self.table.page_size))
        if self.table.page > pages:
            self.table.page = pages  # the observer comes back here with a valid page
            return
        df = self.ws.clips.df(self.role, sort=self.sort(), limit=self.table.page_size,
                              offset=self.table.offset, **filters)
        df["_muted"] = ~df["valid"].astype(bool)
        self.table.set_rows(df, total=total)
        self.count.value = self.t("clips.count", n=total)
        ids = {r["id"] for r in self.table.rows}
        kept = [i for i in self.table.selected if i in ids]
        if kept != list(self.table.selected):
            self.table.selected = kept
        self._paint_batch()

    def edit(self, clip_id: int, key: str, value: Any) -> None:
        """Save one inline edit (text, category, lang, remark, calibrated)."""
        clip = self.ws.clips.update(int(clip_id), **{key: value})
        if key == "category":
            self._reload_categories()
        self.ctx.say(self.t("clips.updated", name=clip.name))
        self.refresh()

    def play(self, clip_id: int) -> None:
        """Play a clip (pause it when it is the one playing)."""
        self.player.play_clip(self.ws.clips, clip_id, key=str(clip_id))

    def delete(self, clip_ids: list[int]) -> int:
        """Delete clips; returns how many."""
        if self.player.key in {str(i) for i in clip_ids}:
            self.player.clear()
        n = self.ws.clips.delete([int(i) for i in clip_ids])
        self.table.selected = [i for i in self.table.selected if i not in set(clip_ids)]
        self._reload_categories()
        self.refresh()
        return n

    def move_selected(self, category: str) -> int:
        """Move the checked clips into ``category`` (created if new)."""
        ids = list(self.table.selected)
        if not ids or not (category or "").strip():
            return 0
        n = self.ws.clips.update_many(ids, category=category.strip())
        self._reload_categories()
        self.refresh()
        self.ctx.say(self.t("clips.updated", name=f"{n} → {category.strip()}"))
        return n

    def add_selected_to_aux(self) -> int:
        """Put the checked clips into the shared aux pool."""
        ids = list(self.table.selected)
        added = self.ws.aux.add_from_clips(ids)
        self.aux.refresh()
        self.ctx.say(self.t("aux.added", n=len(added)))
        return len(added)

    def show_related(self, clip_id: int) -> int:
        """List the takes made with a clip, in every task (RefAudioSelectorV2's 关联结果),
        best scored first. Returns how many."""
        clip = self.ws.clips.get(clip_id)
        df = self.ws.takes.df(role=clip.role_id, clip_id=clip.id, status="done",
                              sort="score", descending=True).drop_duplicates("id")
        self._related_clip = clip.id
        self.related_title.value = (
            f"<b>{html.escape(self.t('clips.related'))}</b>: {html.escape(clip.name)} "
            f"({len(df)})")
        self.related.set_rows(df.iloc[self.related.offset:self.related.offset
                                      + self.related.page_size], total=len(df))
        self.related_box.layout.display = ""
        return len(df)

    def _on_related_action(self, take_id: Any, action: str) -> None:
        if action != "play":
            return
        key = f"take:{take_id}"
        if self.player.key == key:
            self.player.toggle()
            return
        row = self.related.row(take_id) or {}
        self.player.load_file(self.ws.takes.abspath(str(take_id)), key=key,
                              label=f"{row.get('params_label') or ''} · {row.get('text', '')}",
                              play=True)

    def _on_related_edit(self, take_id: Any, key: str, value: Any) -> None:
        if key == "stars":
            self.ws.scores.set(str(take_id), stars=value)
        elif key == "remark":
            self.ws.scores.set(str(take_id), remark=str(value))
        if self._related_clip is not None:
            self.show_related(self._related_clip)
        self.refresh()  # the clip's score columns roll up from its takes

    # -- view glue -----------------------------------------------------------------------

    def _on_filter(self, _change: Any) -> None:
        if self.table.page != 1:
            self.table.page = 1
        else:
            self.ctx.guard(self.refresh)()

    def _on_action(self, row_id: Any, action: str) -> None:
        if action == "play":
            self.play(int(row_id))
        elif action == "related":
            self.show_related(int(row_id))
        elif action in ("classify", "split"):
            self.ctx.navigate(action, clip=int(row_id))
        elif action == "delete":
            row = self.table.row(row_id)
            self.delete([int(row_id)])
            self.ctx.say(self.t("clips.deleted", name=row["name"] if row else row_id))

    def _on_delete_selected(self, _button: Any) -> None:
        ids = list(self.table.selected)
        if ids and self.confirm_twice(self.b_delete, len(ids)):
            n = self.delete(ids)
            self.ctx.say(self.t("clips.deleted", name=str(n)))

    def _paint_batch(self) -> None:
        n = len(self.table.selected)
        self.batch.layout.display = "flex" if n else "none"
        self._delete_armed = False
        self.b_delete.description = f"{self.t('action.delete')} ({n})"

    def _on_playing(self, change: dict) -> None:
        key = self.player.key
        self.table.playing = int(key) if change["new"] and key.isdigit() else None
        self.related.playing = key[5:] if change["new"] and key.startswith("take:") else None

    def _on_categories(self) -> None:
        self._reload_categories()
        self.refresh()

    def _on_section(self, change: dict) -> None:
        box = {2: self.aux, 3: self.texts}.get(change["new"])
        if box is not None:
            self.ctx.guard(box.refresh)()


class ImportForm:
    """The ``.list`` import form: path, path map, duplicate policy, category, and the report.

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import make_clip, write_list
        >>> from widgets.context import Context
        >>> d = tempfile.mkdtemp(); ws = rasv.open(os.path.join(d, "ws"))
        >>> ctx = Context(ws, lang="en"); ctx.role = ws.roles.create("a")
        >>> wav = make_clip(os.path.join(d, "x.wav"), 4.0)
        >>> lst = write_list(os.path.join(d, "x.list"), [(wav, "s", "ZH", "好"), "bad line"])
        >>> form = ImportForm(ctx)
        >>> form.path.value = lst
        >>> print(form.run())
        added 1, overwritten 0, skipped 1
        >>> "line 2" in form.report.value
        True
    """

    def __init__(self, ctx: Context, on_done: Any = None) -> None:
        self.ctx = ctx
        t = ctx.t
        self._on_done = on_done
        wide = W.Layout(width="560px")
        self.path = W.Text(description=t("import.path"), layout=wide,
                           placeholder="D:/GPT-SoVITS/output/asr_opt/slicer_opt.list")
        self.path_map = W.Textarea(description=t("import.path_map"), layout=wide,
                                   placeholder=t("import.path_map_hint"))
        self.on_duplicate = W.ToggleButtons(
            options=[(t(f"import.dup.{k}"), k) for k in ("skip", "overwrite", "rename")],
            value="skip", description=t("import.on_duplicate"),
        )
        self.category = W.Combobox(description=t("import.category"), ensure_option=False,
                                   placeholder="default")
        # The role to import into: the current one, or a new label that the import creates
        # only if it adds a clip (an empty or fully skipped list leaves no empty role).
        self.role = W.Combobox(description=t("import.role"), ensure_option=False,
                               placeholder=t("role.placeholder"))
        self.calibrated = W.Checkbox(description=t("import.calibrated"), indent=False)
        self.button = W.Button(description=t("import.run"), button_style="primary",
                               icon="upload")
        self.report = W.HTML("")
        for w in (self.path, self.path_map, self.on_duplicate, self.category, self.role):
            w.style.description_width = "150px"
        self.button.on_click(ctx.guard(lambda _b: self.run()))
        ctx.observe(lambda _c: self._sync_role(), "role")
        self._sync_role()
        self.widget = W.VBox([self.role, self.path, self.path_map, self.on_duplicate,
                              W.HBox([self.category, self.calibrated]), self.button,
                              self.report])

    def _sync_role(self) -> None:
        """Offer every role and preselect the current one."""
        self.role.options = [str(x) for x in self.ctx.ws.roles.list()["label"].tolist()]
        if self.ctx.role is not None:
            self.role.value = self.ctx.role.label

    def run(self) -> Any:
        """Import the list into the chosen role (a new label is created only if a clip is
        added); returns the :class:`~rasv.ImportReport`."""
        t = self.ctx.t
        label = self.role.value.strip()
        if not label:
            self.ctx.say(t("clips.no_role"), "warn")
            return None
        path = self.path.value.strip().strip('"').strip("'").replace("\u202a", "")
        self.button.disabled = True
        try:
            rep = self.ctx.ws.clips.import_list(
                label, path, on_duplicate=self.on_duplicate.value,
                path_map=parse_path_map(self.path_map.value) or None,
                category=self.category.value.strip() or None,
                calibrated=self.calibrated.value, create_role=True,
            )
        finally:
            self.button.disabled = False
        if rep.created_role is not None:
            self.ctx.role = self.ctx.ws.roles.get(rep.created_role)
        summary = t("import.report", added=len(rep.added), overwritten=len(rep.overwritten),
                    skipped=len(rep.skipped))
        lines = "".join(
            f"<li>{html.escape(t('import.skipped_line', line=n, reason=reason))}</li>"
            for n, reason in rep.skipped[:200]
        )
        more = f"<li>… {len(rep.skipped) - 200}</li>" if len(rep.skipped) > 200 else ""
        if not rep.added and not rep.overwritten and not self._exists(label):
            summary += " " + t("import.no_role_created", label=label)
        self.report.value = f"<b>{html.escape(summary)}</b>" + (
            f"<ul style='max-height:200px;overflow:auto'>{lines}{more}</ul>" if lines else "")
        self.ctx.say(summary, "warn" if rep.skipped or not rep.added else "info")
        if self._on_done is not None:
            self._on_done()
        return rep

    def _exists(self, label: str) -> bool:
        return label in set(self.ctx.ws.roles.list()["label"].astype(str))


class CategoriesBox:
    """A role's categories with clip counts: create, rename, delete.

    Example:
        >>> import rasv, tempfile
        >>> from widgets.context import Context
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> ctx = Context(ws, lang="en"); ctx.role = ws.roles.create("a")
        >>> box = CategoriesBox(ctx)
        >>> box.create("温柔"); box.rename("温柔", "soft")
        >>> [r["name"] for r in box.table.rows]
        ['default', 'soft']
    """

    def __init__(self, ctx: Context, on_change: Any = None) -> None:
        self.ctx = ctx
        t = ctx.t
        self._on_change = on_change
        self.table = Table([
            column("name", t("clips.col.category"), "edit"),
            column("n_clips", t("categories.n_clips"), "num", digits=0),
            column("n_valid", t("clips.col.valid"), "num", digits=0),
            column("actions", "", "buttons", actions=[
                delete_action(t)]),
        ], lang=ctx.lang, page_size=200)
        self.table.on_edit(ctx.guard(lambda old, _k, new: self.rename(old, new)))
        self.table.on_action(ctx.guard(lambda name, _a: self.delete(name)))
        self.new = W.Text(placeholder=t("categories.new"), layout=W.Layout(width="200px"))
        self.add = W.Button(description=t("action.add"), icon="plus")
        self.add.on_click(ctx.guard(lambda _b: self.create(self.new.value)))
        self.widget = W.VBox([W.HBox([self.new, self.add]), self.table])
        ctx.observe(lambda _c: ctx.guard(self.refresh)(), "role")
        self.refresh()

    def refresh(self) -> None:
        if self.ctx.role is None:
            self.table.set_rows([])
            return
        df = self.ctx.ws.clips.categories.df(self.ctx.role)
        df.insert(0, "id", df["name"])
        self.table.set_rows(df)

    def create(self, name: str) -> None:
        if not name.strip() or self.ctx.role is None:
            return
        self.ctx.ws.clips.categories.create(self.ctx.role, name.strip())
        self.ctx.say(self.ctx.t("categories.created", name=name.strip()))
        self.new.value = ""
        self._changed()

    def rename(self, old: str, new: str) -> None:
        self.ctx.ws.clips.categories.rename(self.ctx.role, old, new)
        self._changed()

    def delete(self, name: str) -> None:
        self.ctx.ws.clips.categories.delete(self.ctx.role, name)
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        if self._on_change is not None:
            self._on_change()


__all__ = ["CategoriesBox", "ClipsPanel", "ImportForm", "parse_path_map"]
