"""The Review tab: listen to a task's takes and score them from the keyboard.

Takes come from ``ws.takes.df`` grouped and sorted as the user asks (by duration by default:
within one text, a take much longer than its neighbours usually repeats or pauses, a much
shorter one swallowed words). One page of cards shows each take's spectrogram, stars, tags
and remark; the focused take plays in the panel's player. Keys, while the panel has focus:
space play/pause, j/k next/previous (playing it), 0–5 score (then the next take), r reveal in
blind mode. Blind mode shuffles the takes and hides what differs until revealed
(``ws.scores.blind``). Once some takes are scored, unscored cards show their predicted stars
dimmed (``ws.scores.predict``), the "Ask me next" order puts first the takes whose score would
most change which clip looks best (``ws.takes.df(task, sort="ask")``), and the "Best so far"
box names the recommended clip with its confidence (``ws.scores.recommend``) and keeps it as a
product in one click.

Example:
    >>> from rasv.testing import example
    >>> from widgets.context import Context
    >>> ex = example(name="k", vary={"top_k": [5, 15]}); ws = ex.ws
    >>> ctx = Context(ws, lang="en"); ctx.role = ex.role
    >>> panel = ReviewPanel(ctx)
    >>> panel.keys.press("4")
    >>> ws.scores.get(panel.take_ids()[0]).stars, panel.position
    (4, 1)
"""

from __future__ import annotations

import contextlib
import html
import importlib
import itertools
import threading
from typing import Any

import ipywidgets as W
import pandas as pd

from rasv.errors import RasvError
from widgets.context import Context, Panel, col, row
from widgets.figures import FigureView
from widgets.keyboard import SCOPE_CLASS, Keyboard
from widgets.player import Player
from widgets.review_best import (
    best_take,
    best_text,
    drivers_text,
    product_name,
    unheard_text,
)
from widgets.takelist import TakeList

#: Takes per page of cards.
PAGE_SIZE = 20
#: Display size of the card spectrograms (mel bands, columns): small, cached per take.
THUMB = {"n_mels": 64, "max_frames": 400}
#: Tags offered as chips on every card (the rest stay usable from the library).
CARD_TAGS = ("electric_noise", "repetition", "swallowed", "breathing", "wrong_tone",
             "long_pause", "mispronounced", "noise")
_DIMS = ("text", "clip", "param")
_SORTS = ("duration", "dur_z", "suspicion", "ask", "score", "param", "plan")
#: Columns the star model adds to the review table (``ws.scores.predict``).
_PREDICTED = {"stars_pred": "stars_pred", "low": "stars_low", "high": "stars_high",
              "drivers": "drivers"}
#: Sorts that read best from the top (rank 1 = listen or ask first; the plan's order).
_ASCENDING_SORTS = frozenset({"suspicion", "ask", "plan"})


def warm_up() -> None:
    """Load what the first review page needs (librosa, the mel filterbank) ahead of time.

    The workbench calls it on a background thread, so with a preheated Voilà kernel the
    first spectrograms are as quick as the later ones.

    Example:
        >>> warm_up()
    """
    import numpy as np

    from rasv.audio import compute_spectrogram

    for rate in (32000, 24000):  # GPT-SoVITS v2 and v3 take rates
        compute_spectrogram(np.zeros(rate // 2, dtype=np.float32), rate, **THUMB)
    # Imported on the first take table (its suspicion column) and the first star-model fit
    # (its BLAS thread limit): a third of a second on the first opening of the tab.
    for module in ("rasv.analysis", "threadpoolctl"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def group_orders() -> list[tuple[str, ...]]:
    """Every nesting order the panel offers: none, one, two or all three of clip/text/param.

    Example:
        >>> orders = group_orders()
        >>> orders[0], ("text", "clip") in orders, len(orders)
        ((), True, 16)
    """
    out: list[tuple[str, ...]] = [()]
    for n in (1, 2, 3):
        out += list(itertools.permutations(_DIMS, n))
    return out


def _stars(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _predicted(r: dict[str, Any]) -> float | None:
    """A card's predicted stars: only on finished, unscored takes the model has seen."""
    value = r.get("stars_pred")
    if _stars(r.get("stars")) is not None or value is None or pd.isna(value):
        return None
    return round(float(value), 1)


def _cut(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters, visibly (an ellipsis), only when longer."""
    return text if len(text) <= n else text[: n - 1] + "…"


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, float) and pd.isna(value):
        return []
    return [str(x) for x in value]


class ReviewPanel(Panel):
    """Controller and view of the Review tab."""

    tab = "tab.review"

    def __init__(self, ctx: Context, *, fill: bool = True) -> None:
        """Build the panel; ``fill`` False leaves the takes to the first :meth:`refresh`
        (the workbench shows the controls first, so the browser draws them while the
        takes are read)."""
        super().__init__(ctx)
        t = self.t
        from rasv.scores import TAGS

        self.df = pd.DataFrame()
        self.position = 0
        self.blind_session: Any = None
        self.recommendation: pd.DataFrame | None = None
        self._loading = False

        lab = {"style": {"description_width": "initial"}}
        self.task = W.Dropdown(description=t("review.task"), layout=W.Layout(width="420px"),
                               **lab)
        self.group_by = W.Dropdown(
            options=[(" › ".join(t(f"review.dim.{d}") for d in o) or t("review.no_groups"), o)
                     for o in group_orders()],
            value=("text",), description=t("review.group_by"), layout=W.Layout(width="260px"),
            **lab)
        self.sort = W.Dropdown(options=[(t(f"review.sort.{s}"), s) for s in _SORTS],
                               value="duration", description=t("review.sort"),
                               layout=W.Layout(width="260px"), **lab)
        self.descending = W.Checkbox(description=t("review.desc"), indent=False,
                                     layout=W.Layout(width="auto"))
        self.unscored = W.Checkbox(description=t("review.unscored_only"), indent=False,
                                   layout=W.Layout(width="auto"))
        self.blind = W.Checkbox(description=t("review.blind"), indent=False,
                                layout=W.Layout(width="auto"))
        self.autoplay = W.Checkbox(value=True, description=t("review.autoplay"), indent=False,
                                   layout=W.Layout(width="auto"))
        self.advance = W.Checkbox(value=True, description=t("review.advance"), indent=False,
                                  layout=W.Layout(width="auto"))
        self.detail_on = W.Checkbox(value=False, description=t("review.detail"), indent=False,
                                    layout=W.Layout(width="auto"))
        self.reveal_button = W.Button(description=t("review.reveal"), icon="eye",
                                      layout=W.Layout(width="auto", display="none"))
        self.reveal_button.on_click(ctx.guard(lambda _b: self.reveal()))
        self.analyse_button = W.Button(description=t("review.analyse"), icon="stethoscope",
                                       layout=W.Layout(width="auto"))
        self.analyse_button.on_click(ctx.guard(lambda _b: self.analyse()))
        self.analysis_status = W.HTML("")
        # Before the reload below: a sort's natural direction is set without a second load.
        self.sort.observe(self._natural_direction, "value")
        self.sort.observe(lambda _c: self._group_by_state(), "value")
        self._group_by_state()
        for w in (self.task, self.group_by, self.sort, self.descending, self.unscored,
                  self.blind):
            w.observe(lambda _c: ctx.guard(self.load)(), "value")
        self.detail_on.observe(lambda _c: ctx.guard(self._paint_detail)(), "value")

        self.player = Player(lang=ctx.lang, layout=W.Layout(width="560px"))
        # The cards' ▶/❚❚ follow the player's key too, not only its playing flag: a new take
        # loaded while the flag stayed up left the old card showing ❚❚.
        self.player.observe(self._on_playing, ["playing", "key"])
        self.keys = Keyboard(hint=t("keys.hint"))
        with self.keys.hold_sync():  # one message for the ten keys, not ten
            self.keys.bind("space", ctx.guard(self.toggle_play))
            self.keys.bind("j", ctx.guard(self.next))
            self.keys.bind("k", ctx.guard(self.previous))
            self.keys.bind("r", ctx.guard(self.reveal))
            for n in range(6):
                self.keys.bind(str(n), ctx.guard(lambda n=n: self.score(n)))
        self.where = W.HTML("")
        self.list = TakeList(lang=ctx.lang)
        self._tag_label = {k: v[0 if ctx.lang == "zh" else 1] for k, v in TAGS.items()}
        self.list.tag_options = self._tag_options(())
        self.list.on("focus", ctx.guard(lambda tid: self.focus_take(tid, play=False)))
        self.list.on("play", ctx.guard(self._on_card_play))
        self.list.on("stars", ctx.guard(lambda tid, v: self.score(v, take_id=tid, advance=False)))
        self.list.on("tag", ctx.guard(self.set_tag))
        self.list.on("remark", ctx.guard(self.set_remark))
        self.prev_page = W.Button(icon="chevron-left", layout=W.Layout(width="40px"))
        self.next_page = W.Button(icon="chevron-right", layout=W.Layout(width="40px"))
        self.prev_page.on_click(ctx.guard(lambda _b: self.goto_page(self.page - 1)))
        self.next_page.on_click(ctx.guard(lambda _b: self.goto_page(self.page + 1)))
        self.page_label = W.HTML("")
        self.pager = row([self.prev_page, self.page_label, self.next_page])
        # Built on first use: Plotly's FigureWidget takes a second to import.
        self.detail: FigureView | None = None
        self.detail_box = W.VBox([])
        self.keep_name = W.Text(placeholder=t("review.keep_name"),
                                layout=W.Layout(width="200px"))
        self.keep_button = W.Button(description=t("review.keep"), icon="bookmark",
                                    layout=W.Layout(width="auto"))
        self.keep_button.on_click(ctx.guard(lambda _b: self.keep(self.keep_name.value)))
        self.best = W.HTML("")
        self.best.add_class("rasv-best")
        self.best_keep = W.Button(description=t("review.best.keep"), icon="trophy",
                                  disabled=True, layout=W.Layout(width="auto"))
        self.best_keep.on_click(ctx.guard(lambda _b: self.keep_best(self.keep_name.value)))
        self.best_box = row([self.best, self.best_keep])
        self.longtext_button = W.Button(description=t("review.to_longtext"), icon="book",
                                        layout=W.Layout(width="auto"))
        self.longtext_button.on_click(ctx.guard(lambda _b: self.to_longtext()))
        if "longtext" not in ctx.tabs:
            self.longtext_button.layout.display = "none"
        self.conclusion = W.Textarea(description=t("review.conclusion"),
                                     layout=W.Layout(width="100%", height="60px"),
                                     continuous_update=False, **lab)
        self.conclusion.observe(lambda _c: ctx.guard(self._save_conclusion)(), "value")

        self.widget = col([
            row([self.task, self.group_by, self.sort, self.descending, self.analyse_button,
                 self.analysis_status]),
            row([self.unscored, self.blind, self.reveal_button, self.autoplay, self.advance,
                 self.detail_on]),
            row([self.player, self.where]),
            self.best_box,
            self.keys,
            self.detail_box,
            self.list,
            self.pager,
            row([self.keep_name, self.keep_button, self.longtext_button]),
            self.conclusion,
        ])
        self.widget.add_class("rasv-review")
        self.widget.add_class(SCOPE_CLASS)
        ctx.observe(lambda _c: ctx.guard(self.refresh)(), "role")
        if fill:
            self.refresh()
        else:  # shown before its takes are read: not "no takes" meanwhile
            self.list.text_empty = t("tab.loading")

    # -- tasks ---------------------------------------------------------------------------

    def refresh(self, *_: Any) -> None:
        """Re-read the role's tasks (keeping the chosen one) and reload the takes."""
        with self.ws.store.session():
            self._refresh()

    def _refresh(self) -> None:
        t = self.t
        if self.role is None:
            self.task.options = []
            self.load()
            return
        tasks = self.ws.tasks.list(self.role)
        tasks = tasks[tasks["n_done"] > 0] if len(tasks) else tasks
        current = self.task.value
        options = [(f"#{r.id} {r.name} (v{r.version}) · {int(r.n_done)}/{int(r.n_takes)}",
                    int(r.id)) for r in tasks.itertuples()][::-1]
        self._loading = True
        try:
            self.task.options = options
            ids = [v for _, v in options]
            self.task.value = current if current in ids else (ids[0] if ids else None)
        finally:
            self._loading = False
        if not options:
            self.where.value = html.escape(t("review.no_task"))
        self.load()

    def follow(self) -> None:
        """Another process changed the workspace: new tasks and counts appear in the task
        list, while the takes on screen (and the one playing) stay until the task changes."""
        if self.role is None:
            return
        current = self.task.value
        tasks = self.ws.tasks.list(self.role)
        tasks = tasks[tasks["n_done"] > 0] if len(tasks) else tasks
        if current is None or int(current) not in {int(x) for x in tasks["id"]}:
            self.refresh()
            return
        options = [(f"#{r.id} {r.name} (v{r.version}) · {int(r.n_done)}/{int(r.n_takes)}",
                    int(r.id)) for r in tasks.itertuples()][::-1]
        if options == list(self.task.options):
            return
        self._loading = True
        try:
            self.task.options = options
            self.task.value = current
        finally:
            self._loading = False

    def _reason(self, messages: Any, joined: Any) -> Any:
        """The analysis' reasons said in the interface language: each flag's tag label and
        its ``analysis.reason.<message>`` sentence (the library's ``reason`` carries both
        labels and an English detail)."""
        if not isinstance(messages, list) or not messages:
            return joined
        out = []
        for m in messages:
            tag = self._tag_label.get(m.get("tag"), m.get("tag"))
            try:
                detail = self.t(f"analysis.reason.{m.get('message')}", **(m.get("params") or {}))
            except (KeyError, ValueError, TypeError):
                return joined  # a rule this panel does not know yet: the library's sentence
            out.append(f"{tag}: {detail}")
        return "; ".join(out)

    def _natural_direction(self, change: dict) -> None:
        """Listen-first and task order read from the top: picking them turns descending off
        (it stayed on from the duration sort, and put the flagged takes last)."""
        if change["new"] in _ASCENDING_SORTS and self.descending.value:
            self._loading = True
            try:
                self.descending.value = False
            finally:
                self._loading = False

    def _group_by_state(self) -> None:
        """Group by is off under the ask order, which is one list (see :meth:`groups`)."""
        ask = self.sort.value == "ask"
        self.group_by.disabled = ask
        self.group_by.tooltip = self.t("review.group_by_ask") if ask else None

    def show(self, task: int | None = None, **_: Any) -> None:
        """Open on ``task`` (what other panels call through ``ctx.navigate``)."""
        self.refresh()
        if task is None:
            return
        if int(task) in [v for _, v in self.task.options]:
            self.task.value = int(task)
        else:  # not another task in its place: say why there is nothing to hear
            self.ctx.say(self.t("run.no_takes_yet", id=int(task)), "warn")

    # -- loading -------------------------------------------------------------------------

    def groups(self) -> tuple[str, ...]:
        """The nesting in effect: none in the ask order.

        The ask order is one list: grouping would bury the take to hear next in a later group.
        """
        return () if self.sort.value == "ask" else tuple(self.group_by.value)

    def filters(self) -> dict[str, Any]:
        """The ``ws.takes.df`` filters the controls describe."""
        out: dict[str, Any] = {"status": "done"}
        if self.unscored.value:
            out["scored"] = False
        return out

    def load(self) -> None:
        """Query the takes of the chosen task and show the first page."""
        if self._loading:
            return
        # One attach for the table, the conclusion and the page's 20 spectrograms: attaching
        # per query was a third of the time to the first drawn page.
        with self.ws.store.session():
            self._load()

    def _load(self) -> None:
        self.player.clear()
        task_id = self.task.value
        self.blind_session = None
        if task_id is None:
            self.df = pd.DataFrame()
        elif self.blind.value:
            self.blind_session = self.ws.scores.blind(task_id, seed=int(task_id),
                                                      **self.filters())
            df = self.ws.takes.df(task_id, **self.filters()).set_index("id", drop=False)
            self.df = df.loc[self.blind_session.order].reset_index(drop=True)
        else:
            self.df = self.ws.takes.df(task_id, group_by=list(self.groups()) or None,
                                       sort=self.sort.value, descending=self.descending.value,
                                       **self.filters()).reset_index(drop=True)
        self.reveal_button.layout.display = "" if self.blind.value else "none"
        if task_id is not None:
            with self.conclusion.hold_trait_notifications():
                self._loading = True
                try:
                    self.conclusion.value = self.ws.tasks.get(task_id).conclusion
                finally:
                    self._loading = False
        self.position = 0
        self.list.text_empty = self.t("review.empty")
        # The cards go first; the star model and the clip ranking (a model fit each) follow
        # and only add the dimmed predicted stars and the "Best so far" line (the ask order
        # comes with its predictions).
        self._paint_page(force=True)
        if self.blind_session is None and not self.df.empty and \
                "stars_pred" not in self.df.columns:
            self._refresh_predictions()
        else:
            self._paint_best()

    def _with_predictions(self, task_id: int, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with the predicted stars of its takes (the ask order already has them)."""
        if df.empty or "stars_pred" in df.columns:
            return df
        pred = self.ws.scores.predict(task_id).rename(columns=_PREDICTED)
        cols = ["take_id", *_PREDICTED.values()]
        out = df.merge(pred[cols], how="left", left_on="id", right_on="take_id")
        out = out.drop(columns="take_id")
        out.attrs = dict(df.attrs)
        return out

    def take_ids(self) -> list[str]:
        """The takes in review order."""
        return [str(x) for x in self.df["id"]] if len(self.df) else []

    # -- pages ---------------------------------------------------------------------------

    @property
    def page(self) -> int:
        """The 0-based page the current take is on."""
        return self.position // PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.df) // PAGE_SIZE))

    def goto_page(self, page: int) -> None:
        """Show page ``page`` (0-based) with its first take focused."""
        page = min(max(page, 0), self.pages - 1)
        self.focus(page * PAGE_SIZE, play=False)

    def _paint_page(self, force: bool = False) -> None:
        shown = getattr(self, "_shown_page", None)
        if force or shown != self.page:
            self._shown_page = self.page
            start = self.page * PAGE_SIZE
            rows = self.df.iloc[start:start + PAGE_SIZE]
            items = [self._item(start + i, r) for i, r in enumerate(rows.to_dict("records"))]
            # Tags analysis suggests (or a listener set) beyond the usual chips get one too.
            extra = [k for item in items for k in (*item["suggested"], *item["tags"])]
            self.list.tag_options = self._tag_options(extra)
            spectra = {}
            for r in rows.itertuples():
                if r.status == "done":
                    spectra[str(r.id)] = self.ws.takes.spectrogram(str(r.id), **THUMB).db
            self.list.set_items(items, spectra, offset=start)
        self.prev_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= self.pages - 1
        self.page_label.value = html.escape(
            self.t("table.page", page=self.page + 1, pages=self.pages, total=len(self.df)))
        self.pager.layout.display = "" if self.pages > 1 else "none"  # nothing to page through
        self._paint_current()

    def _tag_options(self, extra: Any) -> list[dict[str, str]]:
        keys = list(dict.fromkeys([*CARD_TAGS, *extra]))
        return [{"key": k, "label": self._tag_label.get(k, k)} for k in keys]

    def _item(self, index: int, r: dict[str, Any]) -> dict[str, Any]:
        blind = self.blind_session is not None
        revealed = blind and self.blind_session is not None and \
            str(r["id"]) in getattr(self.blind_session, "_revealed", set())
        text = str(r.get("text", ""))
        label = r.get("params_label") or r.get("clip_name") or ""
        detail = f"{r.get('clip_name', '')} · {_cut(text, 48)}"
        if blind and not revealed:
            label, detail = f"#{index + 1}", _cut(text, 48)
        groups: list[str] = []
        if not blind:
            for dim in self.groups():
                groups.append({"clip": f"{r.get('clip_name', '')} [{r.get('clip_category', '')}]",
                               "text": _cut(text, 60),
                               "param": str(r.get("params_label") or "—")}[dim])
        flags = [] if blind and not revealed else _tags(r.get("flags"))
        hint = self._reason(r.get("messages"), r.get("reason")) if flags else None
        predicted = None if blind else _predicted(r)
        return {
            "id": str(r["id"]), "status": r.get("status"), "label": label, "detail": detail,
            "hint": None if hint is None or (isinstance(hint, float) and pd.isna(hint)) else hint,
            "suggested": flags,
            "groups": groups, "duration_s": r.get("duration_s"),
            "dur_z": None if blind and not revealed else r.get("dur_z"),
            "stars": _stars(r.get("stars")), "tags": _tags(r.get("tags")),
            "remark": r.get("remark") or "", "error": r.get("error"),
            "predicted": predicted,
            "predicted_hint": None if predicted is None else self.t(
                "review.predicted", stars=predicted, low=float(r["stars_low"]),
                high=float(r["stars_high"]), drivers=drivers_text(r.get("drivers"), self.t)),
        }

    # -- predictions and the best clip so far --------------------------------------------

    def _paint_best(self) -> None:
        """Re-rank the clips (``ws.scores.recommend``) and show the leader."""
        task_id = self.task.value
        if task_id is None or self.blind.value:
            self.recommendation = None
            self.best_box.layout.display = "none"
            return
        self.best_box.layout.display = ""
        self.recommendation = self.ws.scores.recommend(task_id)
        self.best.value, can_keep = best_text(self.recommendation, self.t)
        self.best_keep.disabled = not can_keep

    def _refresh_predictions(self) -> None:
        """New predictions on this page's cards and a new "Best so far" (after the cards
        of a load are sent, and after each score)."""
        task_id = self.task.value
        if task_id is None or self.blind_session is not None or self.df.empty:
            return
        base = self.df.drop(columns=[c for c in _PREDICTED.values() if c in self.df.columns])
        self.df = self._with_predictions(task_id, base)
        start = self.page * PAGE_SIZE
        fresh = {str(r["id"]): self._item(start + i, r) for i, r in enumerate(
            self.df.iloc[start:start + PAGE_SIZE].to_dict("records"))}
        self.list.items = [{**item, **{k: fresh[item["id"]][k]
                                       for k in ("predicted", "predicted_hint")}}
                           if item.get("id") in fresh else item for item in self.list.items]
        self._paint_best()

    def keep_best(self, name: str = "") -> Any:
        """Keep the recommended clip as a product with the settings of its best take.

        Its best take: the highest stars among its heard takes, then the highest prediction
        (an unheard take is never kept). ``name`` defaults to the clip's file name without
        its extension.
        """
        rec = self.recommendation
        if rec is None or not rec.attrs.get("heard"):
            return None
        lead = rec[rec["dimension"] == "clip"].iloc[0]
        take_id = best_take(self.ws, self.task.value, lead["value"])
        if take_id is None:
            self.ctx.say(unheard_text(rec, self.t), "warn")
            return None
        kept = self.ws.products.df(self.role)
        same = kept[kept["source_take_id"] == take_id]
        if len(same):  # a second click with nothing new heard: that take is a product already
            product = self.ws.products.get(int(same["id"].iloc[0]))
            self.ctx.say(self.t("review.best.already", name=product.name))
            return product
        # After more listening another take of the same clip may lead: a new name beside it.
        name = name.strip() or product_name(str(lead["label"]), set(kept["name"]))
        product = self.ws.products.create_from_take(take_id, name)
        self.keep_name.value = ""
        self.ctx.say(self.t("review.kept", name=product.name))
        return product

    # -- automatic analysis --------------------------------------------------------------

    def analyse(self, *, wait: bool = False, metrics: Any = None) -> Any:
        """Measure the task's takes (``ws.analyze``: noise, clipping, pauses, repetition …) in
        the background, then sort them listen-first. Suggested tags appear dashed on the
        cards; they never become scores by themselves. ``metrics`` limits the detectors
        (default: all that can run here)."""
        task_id = self.task.value
        if task_id is None:
            return None
        t = self.t
        self.analyse_button.disabled = True
        self.analysis_status.value = html.escape(t("review.analysing", done=0, total="…"))

        def progress(done: int, total: int) -> None:
            self.analysis_status.value = html.escape(
                t("review.analysing", done=done, total=total))

        def work() -> Any:
            try:
                report = self.ws.analyze(task_id, metrics=metrics, progress=progress)
            except RasvError as e:
                self.ctx.fail(e)
                self.analysis_status.value = ""
                return None
            finally:
                self.analyse_button.disabled = False
            self.analysis_status.value = html.escape(self._report_text(report))
            if self.task.value == task_id:
                if self.sort.value == "suspicion":
                    self.load()
                else:
                    self.sort.value = "suspicion"  # reloads
            return report

        if wait:
            return work()
        threading.Thread(target=work, name="rasv-analyse", daemon=True).start()
        return None

    def _report_text(self, report: Any) -> str:
        """An analysis report in the panel's language (``str(report)`` is English)."""
        text = self.t("review.analysed", task=report.task_id, takes=report.takes,
                      computed=report.computed, cached=report.cached, failed=len(report.failed))
        if report.not_done:
            text += self.t("review.analysed_not_done", n=report.not_done)
        if report.cancelled:
            text += self.t("review.analysed_cancelled")
        return text

    # -- moving and playing --------------------------------------------------------------

    @property
    def current(self) -> str | None:
        """The focused take's id."""
        ids = self.take_ids()
        return ids[self.position] if ids else None

    def focus(self, position: int, *, play: bool | None = None) -> None:
        """Focus the take at ``position`` (0-based, clamped); play it when asked
        (default: the auto-play setting)."""
        n = len(self.df)
        if not n:
            self.position = 0
            self._paint_current()
            return
        self.position = min(max(int(position), 0), n - 1)
        if self.blind_session is not None:
            self.blind_session.goto(self.position)
        self._paint_page()
        if play if play is not None else self.autoplay.value:
            self.play()

    def focus_take(self, take_id: str, *, play: bool | None = None) -> None:
        """Focus a take by id."""
        ids = self.take_ids()
        if take_id in ids:
            self.focus(ids.index(take_id), play=play)

    def next(self) -> None:
        """Focus (and, with auto-play, play) the next take."""
        self.focus(self.position + 1)

    def previous(self) -> None:
        """Focus (and, with auto-play, play) the previous take."""
        self.focus(self.position - 1)

    def play(self) -> None:
        """Play the focused take from the start."""
        take_id = self.current
        if take_id is None:
            return
        if self.player.key != take_id:
            r = self.df.iloc[self.position]
            label = f"{self.position + 1}. {self._item(self.position, r.to_dict())['label']}"
            self.player.load_file(self.ws.takes.abspath(take_id), key=take_id, label=label)
        self.player.play(at=0.0)

    def toggle_play(self) -> None:
        """Space: pause when the focused take plays, else play it."""
        if self.player.playing and self.player.key == self.current:
            self.player.pause()
        else:
            self.play()

    def _on_card_play(self, take_id: str) -> None:
        if self.player.key == take_id and self.player.playing:
            self.player.pause()
            return
        self.focus_take(take_id, play=True)

    def _on_playing(self, _change: dict) -> None:
        self.list.playing = self.player.key if self.player.playing else ""

    def _paint_current(self) -> None:
        take_id = self.current or ""
        self.list.current = take_id
        n = len(self.df)
        self.where.value = html.escape(
            self.t("review.position", i=self.position + 1, n=n)) if n else html.escape(
            self.t("review.empty"))
        self._paint_detail()

    def _paint_detail(self) -> None:
        take_id = self.current
        if not self.detail_on.value or take_id is None:
            self.detail_box.children = []
            return
        fig = self.ws.takes.figure(take_id)
        if self.detail is None:
            self.detail = FigureView(fig)
        else:
            self.detail.update(fig)
        self.detail_box.children = [self.detail.widget]

    # -- scoring -------------------------------------------------------------------------

    def score(self, stars: int | None, *, take_id: str | None = None,
              advance: bool | None = None) -> None:
        """Give the focused take (or ``take_id``) ``stars`` (0–5; None clears the stars);
        then move on when the advance setting is on."""
        take_id = take_id or self.current
        if take_id is None:
            return
        if self.blind_session is not None and take_id == self.current:
            self.blind_session.score(stars)
        elif stars is None:
            prev = self.ws.scores.get(take_id)
            self.ws.scores.clear(take_id)
            if prev is not None and (prev.tags or prev.remark):
                self.ws.scores.set(take_id, tags=list(prev.tags), remark=prev.remark)
        else:
            self.ws.scores.set(take_id, stars=stars)
        self._update_row(take_id, stars=stars)
        self.ctx.say(self.t("review.scored", stars=stars if stars is not None else "—"))
        go_on = (self.advance.value if advance is None else advance) and take_id == self.current
        if go_on and self.sort.value == "ask" and self.blind_session is None:
            # The ask order changes with every score: re-rank, and the new first take is next.
            self.load()
            if self.autoplay.value:
                self.play()
            return
        self._refresh_predictions()
        if go_on and self.position < len(self.df) - 1:
            self.next()

    def set_tag(self, take_id: str, tag: str, on: bool) -> None:
        """Add or remove one tag of a take."""
        score = self.ws.scores.get(take_id)
        tags = list(score.tags) if score is not None else []
        tags = [x for x in tags if x != tag] + ([tag] if on else [])
        self.ws.scores.set(take_id, tags=tags)
        self._update_row(take_id, tags=tags)

    def set_remark(self, take_id: str, remark: str) -> None:
        """Save a take's remark."""
        self.ws.scores.set(take_id, remark=remark)
        self._update_row(take_id, remark=remark)

    def _update_row(self, take_id: str, **changes: Any) -> None:
        mask = self.df["id"].astype(str) == take_id
        for k, v in changes.items():
            if k in self.df.columns:
                self.df.loc[mask, k] = pd.Series([v] * int(mask.sum()), index=self.df.index[mask],
                                                 dtype=object)
        self.list.update_item(take_id, **changes)

    def keep(self, name: str) -> Any:
        """Keep the focused take's configuration as a product named ``name``."""
        if self.current is None:
            return None
        product = self.ws.products.create_from_take(self.current, name.strip())
        self.keep_name.value = ""
        self.ctx.say(self.t("review.kept", name=product.name))
        return product

    def to_longtext(self) -> bool:
        """Try the focused take's configuration on a long text (the Long text tab)."""
        return self.current is not None and self.ctx.navigate("longtext", take=self.current)

    def reveal(self) -> None:
        """Blind mode: show what differs about the focused take."""
        if self.blind_session is None or self.current is None:
            return
        details = self.blind_session.reveal()
        self._paint_page(force=True)
        label = details.get("params_label") or details.get("clip_name") or ""
        self.ctx.say(f"{self.position + 1}: {label} · {details.get('clip_name', '')}")

    def _save_conclusion(self) -> None:
        if self._loading or self.task.value is None:
            return
        self.ws.tasks.edit(self.task.value, conclusion=self.conclusion.value)

    def close(self) -> None:
        self.player.pause()


__all__ = ["CARD_TAGS", "PAGE_SIZE", "ReviewPanel", "group_orders", "warm_up"]
