"""The Tasks tab: the role's comparison tasks, and a builder for new ones.

The builder mirrors ``ws.tasks.create``: reference clips (by category or one by one), texts
(from the library or typed), checkpoints, fixed sampling parameters, and the dimensions to
vary. While the form changes, the library checks the spec without creating anything
(``ws.tasks.preview``) and the panel shows the take count and what the engine would ignore,
so a grid that would waste an evening of GPU time is visible before it runs.

Example:
    >>> parse_values("top_k", "5, 10 15")
    [5, 10, 15]
    >>> parse_values("aux", "1+2; 3")
    [[1, 2], [3]]
"""

from __future__ import annotations

import html
import warnings
from typing import Any

import ipywidgets as W

from rasv.errors import IgnoredParams, InvalidInput, RasvError, RasvWarning
from rasv.params import SPLIT_METHODS, Params
from widgets.context import Context, Panel, col, panel_text, row
from widgets.table import Table, column, delete_action

#: Dimensions the builder can vary, in menu order.
DIMENSIONS: tuple[str, ...] = (
    "top_k", "top_p", "temperature", "speed_factor", "text_split_method", "repetition_penalty",
    "sample_steps", "super_sampling", "seed", "gpt", "sovits", "aux",
)
_INT = {"top_k", "sample_steps", "seed", "gpt", "sovits", "batch_size"}
_FLOAT = {"top_p", "temperature", "speed_factor", "repetition_penalty", "fragment_interval"}
_BOOL = {"super_sampling"}
_TRUE = {"1", "true", "yes", "y", "on", "是", "开"}
_FALSE = {"0", "false", "no", "n", "off", "否", "关"}


def _split(text: str) -> list[str]:
    return [p for p in text.replace("，", ",").replace(",", " ").split() if p]


def parse_values(dimension: str, text: str) -> list[Any]:
    """Read the values typed for one varied dimension.

    Numbers are separated by commas or spaces; ``super_sampling`` takes yes/no;
    ``gpt``/``sovits`` take model ids; ``aux`` takes sets of aux-pool ids, sets separated by
    ``;`` and ids inside a set by ``+`` or ``,``.

    Raises:
        InvalidInput: a value of the wrong kind, or no value at all.

    Example:
        >>> parse_values("temperature", "0.6，0.8 1")
        [0.6, 0.8, 1.0]
        >>> parse_values("super_sampling", "yes no")
        [True, False]
    """
    if dimension not in DIMENSIONS:
        raise InvalidInput(f"cannot vary {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    text = (text or "").strip()
    try:
        if dimension == "aux":
            sets = [s for s in text.replace("；", ";").split(";") if s.strip()]
            values: list[Any] = [[int(x) for x in s.replace("+", " ").replace(",", " ").split()]
                                 for s in sets]
        elif dimension in _INT:
            values = [int(x) for x in _split(text)]
        elif dimension in _FLOAT:
            values = [float(x) for x in _split(text)]
        elif dimension in _BOOL:
            values = []
            for x in _split(text):
                low = x.lower()
                if low not in _TRUE | _FALSE:
                    raise ValueError(x)
                values.append(low in _TRUE)
        else:
            values = _split(text)
    except ValueError as e:
        raise InvalidInput(f"{dimension}: cannot read value {str(e).split(': ')[-1]!s}") from None
    if not values:
        raise InvalidInput(f"{dimension}: give at least one value")
    if dimension == "text_split_method":
        bad = [v for v in values if v not in SPLIT_METHODS]
        if bad:
            raise InvalidInput(f"text_split_method must be one of {', '.join(SPLIT_METHODS)}")
    return values


class VaryRow:
    """One varied dimension in the builder: a name and its values."""

    def __init__(self, on_change: Any, on_remove: Any) -> None:
        self.dimension = W.Dropdown(options=DIMENSIONS, value="top_k",
                                    layout=W.Layout(width="170px"))
        self.values = W.Text(placeholder="5, 10, 15", layout=W.Layout(width="280px"),
                             continuous_update=False)
        self.remove = W.Button(icon="times", layout=W.Layout(width="36px"))
        self.dimension.observe(lambda _c: on_change(), "value")
        self.values.observe(lambda _c: on_change(), "value")
        self.remove.on_click(lambda _b: on_remove(self))
        self.widget = row([self.dimension, self.values, self.remove])

    def parsed(self) -> tuple[str, list[Any]]:
        return self.dimension.value, parse_values(self.dimension.value, self.values.value)


class TasksPanel(Panel):
    """Controller and view of the Tasks tab (task list + builder)."""

    tab = "tab.tasks"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        # -- the list --------------------------------------------------------------------
        self.table = Table([
            column("id", "#", "num", digits=0, sortable=True),
            column("name", t("tasks.col.name")),
            column("version", "v", "num", digits=0),
            column("engine_kind", t("tasks.col.engine")),
            column("varies", t("tasks.col.varies")),
            column("status", t("tasks.col.status")),
            column("progress", t("tasks.col.progress")),
            column("conclusion", t("tasks.col.conclusion"), "edit", width="22%"),
            column("actions", "", "buttons", actions=[
                {"action": "run", "label": t("tab.run")},
                {"action": "review", "label": t("tab.review")},
                delete_action(t),
            ]),
        ], lang=ctx.lang, page_size=20, sort_key="id", sort_desc=True)
        self.table.on_action(ctx.guard(self._on_action))
        self.table.on_edit(ctx.guard(self._on_edit))
        self.table.observe(lambda _c: ctx.guard(self.refresh)(),
                           ["sort_key", "sort_desc", "page", "page_size"])

        # -- the builder -----------------------------------------------------------------
        lab = {"style": {"description_width": "130px"}}
        self.name = W.Text(description=t("tasks.name"), placeholder="k sweep",
                           layout=W.Layout(width="420px"), **lab)
        self.engine = W.Dropdown(description=t("tasks.engine"), layout=W.Layout(width="300px"),
                                 **lab)
        self.clip_mode = W.ToggleButtons(
            options=[(t("tasks.by_category"), "categories"), (t("tasks.by_clip"), "clips")],
            value="categories", description=t("tasks.clips"), **lab)
        self.categories = W.SelectMultiple(layout=W.Layout(width="420px", height="90px"))
        self.clips = W.SelectMultiple(layout=W.Layout(width="620px", height="140px"))
        self.texts = W.SelectMultiple(description=t("tasks.texts"),
                                      layout=W.Layout(width="620px", height="140px"), **lab)
        self.extra_texts = W.Textarea(description=t("tasks.extra_texts"),
                                      placeholder=t("tasks.extra_texts_hint"),
                                      layout=W.Layout(width="620px", height="60px"), **lab)
        self.gpt = W.Dropdown(description="GPT", layout=W.Layout(width="420px"), **lab)
        self.sovits = W.Dropdown(description="SoVITS", layout=W.Layout(width="420px"), **lab)
        d = Params()
        num = {"layout": W.Layout(width="200px"), "style": {"description_width": "110px"}}
        self.fixed = {
            "top_k": W.BoundedIntText(value=d.top_k, min=1, max=100, description="top_k", **num),
            "top_p": W.BoundedFloatText(value=d.top_p, min=0.01, max=1.0, step=0.05,
                                        description="top_p", **num),
            "temperature": W.BoundedFloatText(value=d.temperature, min=0.01, max=2.0,
                                              step=0.05, description="temperature", **num),
            "speed_factor": W.BoundedFloatText(value=d.speed_factor, min=0.5, max=2.0,
                                               step=0.05, description="speed_factor", **num),
            "repetition_penalty": W.BoundedFloatText(value=d.repetition_penalty, min=1.0,
                                                     max=2.0, step=0.05,
                                                     description="rep. penalty", **num),
            "text_split_method": W.Dropdown(options=SPLIT_METHODS, value=d.text_split_method,
                                            description="text split", **num),
            "sample_steps": W.Dropdown(options=[4, 8, 16, 32, 64], value=d.sample_steps,
                                       description="sample_steps", **num),
            "super_sampling": W.Checkbox(value=d.super_sampling, description="super_sampling",
                                         indent=False, layout=W.Layout(width="160px")),
        }
        self.vary_rows: list[VaryRow] = []
        self.vary_box = W.VBox([])
        self.add_vary = W.Button(description=t("tasks.add_dimension"), icon="plus",
                                 layout=W.Layout(width="auto"))
        self.add_vary.on_click(lambda _b: self._add_row())
        self.repeats = W.BoundedIntText(value=1, min=1, max=50, description=t("tasks.repeats"),
                                        layout=W.Layout(width="200px"),
                                        style={"description_width": "110px"})
        self.force = W.Checkbox(description=t("tasks.force"), indent=False,
                                layout=W.Layout(width="auto"))
        self.preview_line = W.HTML("")
        # What Run would refuse shows here before Create, with the two ways out.
        self.drop_button = W.Button(layout=W.Layout(width="auto"))
        self.keep_button = W.Button(description=t("tasks.fix_keep"), button_style="warning",
                                    layout=W.Layout(width="auto"))
        self.drop_button.on_click(ctx.guard(lambda _b: self.drop_ignored()))
        self.keep_button.on_click(ctx.guard(lambda _b: setattr(self.force, "value", True)))
        self.fix_box = row([self.drop_button, self.keep_button], display="none")
        self._ignored: tuple[str, ...] = ()
        self.create_button = W.Button(description=t("tasks.create"), button_style="primary",
                                      icon="plus-circle")
        self.create_button.on_click(ctx.guard(lambda _b: self.create()))
        for w in (self.name, self.engine, self.clip_mode, self.categories, self.clips,
                  self.texts, self.extra_texts, self.gpt, self.sovits, self.repeats,
                  self.force, *self.fixed.values()):
            w.observe(lambda _c: self.update_preview(), "value")
        self.clip_mode.observe(lambda _c: self._paint_clip_mode(), "value")
        self.engine.observe(lambda _c: self._paint_models(), "value")
        self.models_box = col([self.gpt, self.sovits])
        fixed_rows = [row(list(self.fixed.values())[i:i + 4]) for i in range(0, 8, 4)]
        builder = col([
            self.name, self.engine,
            self.clip_mode, self.categories, self.clips,
            self.texts, self.extra_texts,
            self.models_box,
            W.HTML(f"<b>{html.escape(t('tasks.fixed'))}</b>"), *fixed_rows,
            W.HTML(f"<b>{html.escape(t('tasks.vary'))}</b> "
                   f"<span style='color:var(--jp-ui-font-color2,#777)'>"
                   f"{html.escape(t('tasks.vary_hint'))}</span>"),
            self.vary_box, row([self.add_vary]),
            row([self.repeats, self.force]),
            row([self.create_button, self.preview_line]),
            self.fix_box,
        ])
        self.sections = W.Accordion(children=[builder], titles=(t("tasks.new"),),
                                    selected_index=None)
        self.widget = col([self.table, self.sections])
        self.widget.add_class("rasv-tasks")
        ctx.observe(lambda _c: ctx.guard(self.on_role)(), "role")
        ctx.observe(lambda _c: ctx.guard(self._engine_options)(), "engines")
        self._engine_options()
        self.on_role()

    # -- list ----------------------------------------------------------------------------

    def refresh(self, *_: Any) -> None:
        """Re-read the task list and the builder's choices."""
        if self.role is None:
            self.table.set_rows([])
            return
        df = self.ws.tasks.list(self.role)
        df["progress"] = [f"{d}/{n}" + (f" ({f}✗)" if f else "")
                          for d, n, f in zip(df.n_done, df.n_takes, df.n_failed, strict=True)]
        df["status"] = [self.t.status(s) for s in df["status"]]
        key = self.table.sort_key if self.table.sort_key in df.columns else "id"
        df = df.sort_values(key, ascending=not self.table.sort_desc, kind="stable")
        total = len(df)
        self.table.set_rows(df.iloc[self.table.offset:self.table.offset + self.table.page_size],
                            total=total)

    def on_role(self) -> None:
        self._reload_choices()
        self.refresh()

    def show(self, clips: list[int] | None = None, **_: Any) -> None:
        """Open the builder with these clips chosen one by one (e.g. a cluster's
        representatives sent from the Classify tab).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> from widgets.context import Context
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "c.wav", 4.0), text="参考。")
            >>> ctx = Context(ws, lang="en"); ctx.role = r
            >>> panel = TasksPanel(ctx)
            >>> panel.show(clips=[c.id])
            >>> panel.clip_mode.value, panel.clips.value, panel.sections.selected_index
            ('clips', (1,), 0)
        """
        if clips is None:
            return
        self._reload_choices()
        known = {value for _label, value in self.clips.options}
        self.clip_mode.value = "clips"
        self.clips.value = tuple(int(c) for c in clips if int(c) in known)
        self.sections.selected_index = 0

    def _on_action(self, task_id: Any, action: str) -> None:
        if action in ("run", "review"):
            self.ctx.navigate(action, task=int(task_id))
        elif action == "delete":
            result = self.ws.tasks.delete(int(task_id))
            self.ctx.say(self.t("tasks.deleted", id=task_id, detail=result))
            self.refresh()

    def _on_edit(self, task_id: Any, key: str, value: Any) -> None:
        if key == "conclusion":
            self.ws.tasks.edit(int(task_id), conclusion=str(value))
            self.refresh()

    # -- builder choices -----------------------------------------------------------------

    def _engine_options(self) -> None:
        from widgets.engines import engine_kind

        kinds = []
        for engine in self.ctx.engines:
            kind = engine_kind(engine)
            if kind not in kinds and kind != "?":
                kinds.append(kind)
        if "gpt-sovits" not in kinds:
            kinds.append("gpt-sovits")
        current = self.engine.value
        self.engine.options = kinds
        self.engine.value = current if current in kinds else kinds[0]
        self._paint_models()

    def _reload_choices(self) -> None:
        t = self.t
        if self.role is None:
            for w in (self.categories, self.clips, self.texts):
                w.options = []
            return
        cats = self.ws.clips.categories.df(self.role)
        self.categories.options = [
            (t("tasks.category_option", name=r.name, n=int(r.n_valid), total=int(r.n_clips)),
             r.name)
            for r in cats.itertuples() if r.n_clips
        ]
        clips = self.ws.clips.df(self.role, sort="name")
        self.clips.options = [
            (f"{r.name} · {r.duration_s:.1f}s{'' if r.valid else ' ✗'} · {str(r.text)[:40]}",
             int(r.id))
            for r in clips.itertuples()
        ]
        texts = self.ws.texts.df(long=False)
        self.texts.options = [(f"[{r.category}/{r.lang}] {str(r.content)[:60]}", int(r.id))
                              for r in texts.itertuples()]
        models = self.ws.models.df()
        for w, kind in ((self.gpt, "gpt"), (self.sovits, "sovits")):
            sub = models[models["kind"] == kind] if len(models) else models
            w.options = [("—", None)] + [
                (f"#{r.id} {r.label or r.name} ({r.version or '?'})", int(r.id))
                for r in sub.itertuples()
            ]
        self._paint_clip_mode()
        self._paint_models()
        self.update_preview()

    def _paint_clip_mode(self) -> None:
        by_cat = self.clip_mode.value == "categories"
        self.categories.layout.display = "" if by_cat else "none"
        self.clips.layout.display = "none" if by_cat else ""

    def _paint_models(self) -> None:
        self.models_box.layout.display = "" if self.engine.value == "gpt-sovits" else "none"

    def _add_row(self) -> VaryRow:
        vr = VaryRow(self.update_preview, self._remove_row)
        self.vary_rows.append(vr)
        self.vary_box.children = [r.widget for r in self.vary_rows]
        return vr

    def _remove_row(self, vr: VaryRow) -> None:
        self.vary_rows.remove(vr)
        self.vary_box.children = [r.widget for r in self.vary_rows]
        self.update_preview()

    # -- the spec --------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """The keyword arguments for ``ws.tasks.create`` the form describes (minus name)."""
        texts: list[Any] = list(self.texts.value)
        texts += [line.strip() for line in self.extra_texts.value.splitlines() if line.strip()]
        fixed = {name: w.value for name, w in self.fixed.items()}
        kwargs: dict[str, Any] = {
            "texts": texts,
            "fixed": fixed,
            "engine": self.engine.value,
            "repeats": self.repeats.value if self.repeats.value > 1 else None,
            "force": self.force.value,
        }
        if self.clip_mode.value == "categories":
            kwargs["clip_categories"] = list(self.categories.value)
        else:
            kwargs["clips"] = list(self.clips.value)
        vary = dict(r.parsed() for r in self.vary_rows if r.values.value.strip())
        if vary:
            kwargs["vary"] = vary
        if self.engine.value == "gpt-sovits":
            if "gpt" not in vary:
                kwargs["gpt"] = self.gpt.value
            if "sovits" not in vary:
                kwargs["sovits"] = self.sovits.value
        return kwargs

    def update_preview(self) -> Any:
        """Check the form with the library and show the take count and warnings."""
        t = self.t
        if self.role is None:
            self.preview_line.value = ""
            return None
        self._ignored = ()
        self.fix_box.layout.display = "none"
        try:
            preview = self.ws.tasks.preview(self.role, **self.spec())
        except RasvError as e:
            self.preview_line.value = (f"<span style='color:#b71c1c'>"
                                       f"{html.escape(panel_text(e, t))}</span>")
            self.create_button.disabled = True
            if isinstance(e, IgnoredParams) and e.names:
                self._ignored = e.names
                self.drop_button.description = t("tasks.fix_drop", names=", ".join(e.names))
                self.fix_box.layout.display = ""
            return None
        self.create_button.disabled = False
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in preview.warnings)
        self.preview_line.value = (
            f"<b>{html.escape(t('tasks.take_count', n=preview.size))}</b>"
            + (f"<ul style='color:#8d6e00;margin:2px 0'>{warn}</ul>" if warn else "")
        )
        return preview

    def drop_ignored(self) -> None:
        """Remove the varied dimensions the engine would ignore (what the preview refused)."""
        for vr in [r for r in self.vary_rows if r.dimension.value in self._ignored]:
            self.vary_rows.remove(vr)
        self.vary_box.children = [r.widget for r in self.vary_rows]
        self.update_preview()

    def create(self) -> Any:
        """Create the task the form describes; open the Run tab on it."""
        name = self.name.value.strip() or self.t("tasks.default_name")
        with warnings.catch_warnings():  # the preview line showed them already
            warnings.simplefilter("ignore", RasvWarning)
            task = self.ws.tasks.create(self.role, name, **self.spec())
        self.ctx.say(self.t("tasks.created", id=task.id, name=task.name,
                            n=len(self.ws.tasks.plan(task))))
        self.refresh()
        self.ctx.navigate("run", task=task.id)
        return task


__all__ = ["DIMENSIONS", "TasksPanel", "VaryRow", "parse_values"]
