"""The Long text tab: does a configuration that sounds right in one sentence hold over a page?

Pick the source — a take (best scored first, optionally from one task) or a finished
product — and a long text from the library or typed here; see how it will be chunked; render
it through one of the workbench's engines on a background thread (each chunk is a cached
take, so rendering again costs nothing). Then play the whole reading with the chunk being
heard highlighted, jump to a chunk, re-roll one that went wrong with another seed, give the
reading a long-text score and remark, and save its configuration as a product. Earlier runs
of the role are listed to reopen, resume or delete.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import FakeEngine, make_clip
    >>> from widgets.context import Context
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> clip = ws.clips.add(role, make_clip(os.path.join(ws.root, "r.wav"), 4.0), text="参考。")
    >>> p = ws.products.create(role, "calm", clip=clip.id, params=rasv.Params(seed=1),
    ...                        engine_kind="fake")
    >>> ctx = Context(ws, lang="en", engines=[FakeEngine()]); ctx.role = role
    >>> panel = LongTextPanel(ctx)
    >>> panel.use_product(p.id)
    >>> panel.custom.value = "第一句话。" * 12 + "第二段。"
    >>> run = panel.render(wait=True)
    >>> run.status, len(panel.chunks.rows)
    ('done', 2)
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as W
import pandas as pd

from rasv.errors import Cancelled, InvalidInput
from rasv.longtext import METHODS, LongTextRun, chunk
from widgets.background import Background, Progress
from widgets.context import Context, Panel, col, row, unobserved
from widgets.player import Player
from widgets.table import Table, column, delete_action, dispatch

_STAR_OPTIONS = [("–", None), ("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)]


def _short(text: Any, n: int = 40) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def chunk_at(run: LongTextRun, seconds: float) -> int | None:
    """The index of the chunk heard at ``seconds`` into the joined audio (None in a gap or
    past the end).

    Example:
        >>> from rasv.longtext import LongTextChunk
        >>> run = LongTextRun(1, 1, None, None, None, "t", "zh", "ras", {}, "done",
        ...                   chunks=(LongTextChunk(0, "a", "x", 0.0, 1.5),
        ...                           LongTextChunk(1, "b", "y", 1.5, 3.0)))
        >>> chunk_at(run, 0.2), chunk_at(run, 1.5), chunk_at(run, 9.0)
        (0, 1, None)
    """
    for c in run.chunks:
        if c.start_s is not None and c.end_s is not None and c.start_s <= seconds < c.end_s:
            return c.idx
    return None


class LongTextPanel(Panel):
    """Controller and view of the Long text tab.

    Controller methods: :meth:`use_take`, :meth:`use_product`, :meth:`preview_chunks`,
    :meth:`render`, :meth:`open_run`, :meth:`play_chunk`, :meth:`reroll`,
    :meth:`save_score`, :meth:`save_product`, :meth:`resume`, :meth:`delete_run`. Slow ones
    take ``wait=True`` to run in the caller's thread.
    """

    tab = "tab.longtext"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        narrow = {"description_width": "initial"}
        self.source: tuple[str, Any] | None = None  # ("take", take_id) | ("product", id)
        self.run: LongTextRun | None = None
        self._takes = pd.DataFrame()
        self._cancel = threading.Event()
        self._texts_seen = False
        self.player = Player(lang=ctx.lang)
        self.player.observe(self._on_position, ["position", "playing"])

        # -- the source ------------------------------------------------------------------
        self.source_kind = W.ToggleButtons(
            options=[(t("longtext.from_take"), "take"), (t("longtext.from_product"), "product")],
            value="take")
        self.source_kind.observe(lambda _c: self._paint_source_kind(), "value")
        self.task_pick = W.Dropdown(description=t("longtext.task"), style=narrow,
                                    layout=W.Layout(width="300px"))
        self.task_pick.observe(self._on_task_pick, "value")
        self.takes = Table([
            column("play", "", "play", width="32px"),
            column("stars", t("clips.col.score"), "stars"),
            column("clip_name", t("review.dim.clip"), title=True),
            column("text", t("review.dim.text"), title=True, width="25%"),
            column("params_label", t("review.dim.param"), title=True),
            column("seed", "seed", "num", digits=0),
            column("duration_s", t("clips.col.duration"), "num", digits=2),
            column("actions", "", "buttons", actions=[
                {"action": "use", "label": t("longtext.use")}]),
        ], lang=ctx.lang, page_size=20)
        self.takes.add_class("rasv-lt-takes")
        self.takes.on_action(ctx.guard(self._on_take_action))
        self.takes.observe(lambda _c: self._paint_takes(), ["page", "page_size"])
        self.product_pick = W.Dropdown(description=t("longtext.product"), style=narrow,
                                       layout=W.Layout(width="420px"))
        self.product_pick.observe(self._on_product_pick, "value")
        self.source_info = W.HTML("")
        self.take_box = col([self.task_pick, self.takes])
        self.product_box = col([self.product_pick])

        # -- the text and how to render it -----------------------------------------------
        self.text_pick = W.Dropdown(description=t("longtext.text"), style=narrow,
                                    layout=W.Layout(width="520px"))
        self.custom = W.Textarea(placeholder=t("longtext.custom"),
                                 layout=W.Layout(width="720px", height="90px"))
        # Each rule says what it does: "ras" alone meant nothing to a reader.
        self.method = W.Dropdown(options=[(t(f"longtext.method.{m}"), m) for m in METHODS],
                                 value="ras", description=t("longtext.method"), style=narrow,
                                 layout=W.Layout(width="460px"))
        self.gap = W.BoundedFloatText(value=0.3, min=0.0, max=5.0, step=0.1,
                                      description=t("longtext.gap"), style=narrow,
                                      layout=W.Layout(width="170px"))
        self.engine_pick = W.Dropdown(description=t("longtext.engine"), style=narrow,
                                      layout=W.Layout(width="330px"))
        self.chunk_preview = W.HTML("")
        for w in (self.text_pick, self.custom, self.method):
            w.observe(lambda _c: ctx.guard(self.preview_chunks)(), "value")
        self.render_button = W.Button(description=t("longtext.render"), icon="play-circle",
                                      button_style="primary", layout=W.Layout(width="auto"))
        self.render_button.on_click(ctx.guard(lambda _b: self.render()))
        self.cancel_button = W.Button(description=t("action.cancel"), icon="stop",
                                      layout=W.Layout(width="auto"))
        self.cancel_button.on_click(lambda _b: self._cancel.set())

        # -- the run ---------------------------------------------------------------------
        self.run_info = W.HTML("")
        self.chunks = Table([
            column("play", "", "play", width="32px"),
            column("n", "#", "num", digits=0),
            column("text", t("review.dim.text"), width="55%"),
            column("start_s", t("split.start"), "num", digits=2),
            column("duration_s", t("clips.col.duration"), "num", digits=2),
            column("seed", "seed", "num", digits=0),
            column("actions", "", "buttons", actions=[
                {"action": "reroll", "label": t("longtext.reroll")}]),
        ], lang=ctx.lang, page_size=100)
        self.chunks.add_class("rasv-lt-chunks")
        self.chunks.on_action(ctx.guard(self._on_chunk_action))
        self.resume_button = W.Button(description=t("longtext.resume"), icon="redo",
                                      layout=W.Layout(width="auto", display="none"))
        self.resume_button.on_click(ctx.guard(lambda _b: self.resume()))
        self.stars = W.ToggleButtons(options=_STAR_OPTIONS, value=None,
                                     description=t("longtext.score"), style=narrow)
        self.stars.style.button_width = "34px"
        self.remark = W.Text(placeholder=t("review.remark"), layout=W.Layout(width="320px"))
        self.score_button = W.Button(description=t("action.save"), icon="star",
                                     layout=W.Layout(width="auto"))
        self.score_button.on_click(ctx.guard(lambda _b: self.save_score()))
        self.product_name = W.Text(placeholder=t("longtext.product_name"),
                                   layout=W.Layout(width="220px"))
        self.product_button = W.Button(description=t("longtext.save_product"), icon="gift",
                                       layout=W.Layout(width="auto"))
        self.product_button.on_click(ctx.guard(lambda _b: self.save_product()))
        self.run_box = col([
            self.run_info, self.player, self.chunks, self.resume_button,
            row([self.stars, self.remark, self.score_button]),
            row([self.product_name, self.product_button]),
        ])

        # -- earlier runs ----------------------------------------------------------------
        self.runs = Table([
            column("id", "#", "num", digits=0),
            column("text", t("review.dim.text"), title=True, width="40%"),
            column("n_chunks", t("longtext.n_chunks"), "num", digits=0),
            column("duration_s", t("clips.col.duration"), "num", digits=1),
            column("stars", t("clips.col.score"), "stars"),
            column("status", t("tasks.col.status")),
            column("created_at", t("longtext.when")),
            column("actions", "", "buttons", actions=[
                {"action": "open", "label": t("longtext.open")},
                delete_action(t)]),
        ], lang=ctx.lang, page_size=20)
        self.runs.on_action(ctx.guard(self._on_run_action))
        self.runs.observe(lambda _c: ctx.guard(self.refresh_runs)(), ["page", "page_size"])

        self.job = Background(ctx, buttons=[self.render_button, self.resume_button,
                                            self.score_button, self.product_button])
        self.widget = col([
            row([self.source_kind, self.source_info]),
            self.take_box, self.product_box,
            self.text_pick, self.custom,
            row([self.method, self.gap, self.engine_pick]),
            self.chunk_preview,
            row([self.render_button, self.cancel_button, self.job.widget]),
            self.run_box,
            W.HTML(f"<b>{html.escape(t('longtext.runs'))}</b>"),
            self.runs,
        ])
        self.widget.add_class("rasv-longtext")
        self._paint_source_kind()
        self._paint_run()
        ctx.observe(lambda _c: ctx.guard(self.on_role)(), "role")
        ctx.observe(lambda _c: self._paint_engines(), "engines")
        self._paint_engines()
        self.on_role()

    # -- choosing what to render ----------------------------------------------------------

    def on_role(self) -> None:
        """Forget the source and run of the previous role; list this role's takes,
        products and runs."""
        self.source, self.run = None, None
        self.player.clear()
        self._paint_source()
        self._paint_run()
        self.refresh()

    def refresh(self, *_: Any) -> None:
        """Re-read tasks, takes, products, texts and runs (other tabs change them)."""
        self._reload_tasks()
        self.refresh_takes()
        self._reload_products()
        self._reload_texts()
        self.refresh_runs()
        self.preview_chunks()

    def _reload_tasks(self) -> None:
        tasks = self.ws.tasks.list(self.role) if self.role is not None else pd.DataFrame()
        current = self.task_pick.value
        # 0, not None: a Dropdown shows None as no selection at all.
        options = [(self.t("filter.all"), 0)] + [
            (f"#{int(r.id)} {r.name}", int(r.id)) for r in tasks.itertuples(index=False)]
        with unobserved(self.task_pick, self._on_task_pick):
            self.task_pick.options = options
            self.task_pick.value = current if current in [v for _, v in options] else 0

    def refresh_takes(self) -> None:
        """The finished takes to choose from, best scored first."""
        if self.role is None:
            self._takes = pd.DataFrame()
        elif self.task_pick.value:
            self._takes = self.ws.takes.df(self.task_pick.value, sort="score", descending=True,
                                           status="done")
        else:
            self._takes = self.ws.takes.df(role=self.role, sort="score", descending=True,
                                           status="done")
        self.takes.page = 1
        self._paint_takes()

    def _reload_products(self) -> None:
        df = self.ws.products.df(self.role) if self.role is not None else pd.DataFrame()
        current = self.product_pick.value
        options = [("", 0)] + [
            (f"{r.name} · {r.category}" + (f" · {'★' * int(r.score)}" if pd.notna(r.score)
                                           and r.score else ""), int(r.id))
            for r in df.itertuples(index=False)]
        with unobserved(self.product_pick, self._on_product_pick):
            self.product_pick.options = options
            self.product_pick.value = current if current in [v for _, v in options] else 0

    def _reload_texts(self) -> None:
        df = self.ws.texts.df(long=True)
        current = self.text_pick.value
        options = [(self.t("longtext.typed"), 0)] + [
            (f"[{r.lang}] {_short(r.content, 60)}", int(r.id)) for r in df.itertuples(index=False)]
        self.text_pick.options = options
        keep = current in [v for _, v in options] and (current != 0 or self._texts_seen)
        # The first time, offer the first library text rather than an empty box.
        self.text_pick.value = current if keep else (options[1][1] if len(options) > 1 else 0)
        self._texts_seen = True

    def use_take(self, take_id: str) -> None:
        """Render from this take's exact configuration."""
        take = self.ws.takes.get(str(take_id))
        self.source = ("take", take.id)
        self.source_kind.value = "take"
        self._paint_source()

    def use_product(self, product_id: int) -> None:
        """Render from this product."""
        product = self.ws.products.get(int(product_id))
        self.source = ("product", product.id)
        self.source_kind.value = "product"
        if self.product_pick.value != product.id:
            with unobserved(self.product_pick, self._on_product_pick):
                if product.id not in [v for _, v in self.product_pick.options]:
                    self._reload_products()
                self.product_pick.value = product.id
        self._paint_source()

    def show(self, take: str | None = None, product: int | None = None, **_: Any) -> None:
        """Open on a source: ``ctx.navigate("longtext", take=…)`` or ``product=…``."""
        if take is not None:
            self.use_take(take)
        elif product is not None:
            self.use_product(product)

    def text(self) -> str | int:
        """What to read: the typed text when there is one, else the library entry's id."""
        typed = self.custom.value.strip()
        if typed:
            return typed
        if self.text_pick.value:
            return int(self.text_pick.value)
        raise InvalidInput(self.t("longtext.need_text"))

    def preview_chunks(self) -> list[str]:
        """The chunks the text will be read in (shown under the form)."""
        try:
            src = self.text()
        except InvalidInput:
            self.chunk_preview.value = ""
            return []
        content = self.ws.texts.get(src).content if isinstance(src, int) else src
        pieces = chunk(content, self.method.value)
        items = "".join(f"<li>{html.escape(p)}</li>" for p in pieces[:60])
        more = f"<li>… {len(pieces) - 60}</li>" if len(pieces) > 60 else ""
        key = "longtext.chunk_count_one" if len(pieces) == 1 else "longtext.chunk_count"
        self.chunk_preview.value = (
            f"<details><summary>{html.escape(self.t(key, n=len(pieces)))}"
            f"</summary><ol style='max-height:160px;overflow:auto;margin:4px 0'>{items}{more}"
            "</ol></details>")
        return pieces

    def engine(self) -> Any:
        """The engine chosen to render with."""
        engines = self.ctx.engines
        if not engines:
            raise InvalidInput(self.t("run.no_engine"))
        index = self.engine_pick.value if self.engine_pick.value is not None else 0
        return engines[int(index)]

    # -- rendering ---------------------------------------------------------------------------

    def render(self, *, wait: bool = False) -> LongTextRun | None:
        """Render the text with the source's configuration (in the background unless
        ``wait``); returns the run when it waited."""
        if self.source is None:
            raise InvalidInput(self.t("longtext.need_source"))
        kind, sid = self.source
        source = str(sid) if kind == "take" else int(sid)
        text, engine = self.text(), self.engine()
        method, gap = self.method.value, float(self.gap.value)
        self._cancel.clear()

        role = self.role
        before = self._latest_run(role)

        def work(progress: Progress) -> LongTextRun:
            return self.ws.longtext.render(source, text, engine, method=method, gap_s=gap,
                                           progress=self._progress(progress))

        def failed(_error: Exception) -> None:
            # A failed or cancelled render leaves a run with the chunks it finished: show it,
            # so Resume can complete it.
            latest = self._latest_run(role)
            if latest is not None and latest != before:
                self.open_run(latest)
            self.refresh_runs()

        self.job.start(work, label=self.t("longtext.rendering"), on_done=self._rendered,
                       on_error=failed, wait=wait)
        return self.run if wait else None

    def _latest_run(self, role: Any) -> int | None:
        df = self.ws.longtext.df(role) if role is not None else pd.DataFrame()
        return int(df["id"].iloc[0]) if len(df) else None

    def resume(self, *, wait: bool = False) -> LongTextRun | None:
        """Render the chunks a failed or cancelled run is missing."""
        run = self._need_run()
        engine = self.engine()
        self._cancel.clear()

        def work(progress: Progress) -> LongTextRun:
            return self.ws.longtext.resume(run.id, engine, progress=self._progress(progress))

        self.job.start(work, label=self.t("longtext.rendering"), on_done=self._rendered,
                       on_error=lambda _e: self.open_run(run.id), wait=wait)
        return self.run if wait else None

    def reroll(self, idx: int, *, wait: bool = False) -> LongTextRun | None:
        """Render chunk ``idx`` again with the next seed and join the reading again."""
        run = self._need_run()
        engine = self.engine()

        def work(_progress: Progress) -> LongTextRun:
            return self.ws.longtext.reroll(run.id, int(idx), engine)

        def done(new: LongTextRun) -> None:
            self._rendered(new)
            self.ctx.say(self.t("longtext.rerolled", n=int(idx) + 1,
                                seed=new.chunks[int(idx)].seed))

        self.job.start(work, label=self.t("longtext.rerolling", n=int(idx) + 1), on_done=done,
                       wait=wait)
        return self.run if wait else None

    def _progress(self, progress: Progress) -> Progress:
        def report(done: int, total: int) -> None:
            progress(done, total)
            if self._cancel.is_set():
                raise Cancelled(self.t("longtext.cancelled", done=done, total=total))

        return report

    def _rendered(self, run: LongTextRun) -> None:
        self.show_run(run)
        self.refresh_runs()
        n = len(run.chunks)
        self.ctx.say(self.t("longtext.rendered_one" if n == 1 else "longtext.rendered", n=n,
                            seconds=f"{run.duration_s or 0:.1f}"))

    def _need_run(self) -> LongTextRun:
        if self.run is None:
            raise InvalidInput(self.t("longtext.need_run"))
        return self.run

    # -- the run ---------------------------------------------------------------------------

    def open_run(self, run_id: int) -> LongTextRun:
        """Show an earlier run (and make its source the current one)."""
        run = self.ws.longtext.get(int(run_id))
        if run.product_id is not None:
            self.source = ("product", run.product_id)
        elif run.source_take_id:
            self.source = ("take", run.source_take_id)
        self._paint_source()
        self.show_run(run)
        return run

    def show_run(self, run: LongTextRun) -> None:
        """Load a run's joined audio and chunks."""
        self.run = run
        if run.status == "done" and run.audio_path:
            self.player.load_file(self.ws.abspath(run.audio_path), key=f"lt{run.id}",
                                  label=_short(run.text, 50))
        else:
            self.player.clear()
        self.stars.value = run.stars
        self.remark.value = run.remark or ""
        self._paint_run()

    def play_chunk(self, idx: int) -> None:
        """Play the reading from the start of chunk ``idx`` (on through the next ones)."""
        run = self._need_run()
        c = run.chunks[int(idx)]
        if c.start_s is None:
            raise InvalidInput(self.t("longtext.not_rendered"))
        self.player.play(at=float(c.start_s))
        self.chunks.playing = c.idx

    def save_score(self) -> Any:
        """Save the long-text score and remark of the run."""
        run = self._need_run()
        s = self.ws.longtext.score(run.id, self.stars.value, remark=self.remark.value)
        self.run = self.ws.longtext.get(run.id)
        self.refresh_runs()
        self.ctx.say(self.t("longtext.scored", stars="–" if s.stars is None else s.stars))
        return s

    def save_product(self, name: str | None = None) -> Any:
        """Save the run's configuration as a product named ``name`` (the form's)."""
        run = self._need_run()
        product = self.ws.products.create_from_longtext(
            run.id, name if name is not None else self.product_name.value)
        self.product_name.value = ""
        self._reload_products()
        self.ctx.say(self.t("longtext.product_saved", name=product.name))
        return product

    def delete_run(self, run_id: int) -> None:
        """Delete a run and the files only it used."""
        if self.run is not None and self.run.id == int(run_id):
            self.run = None
            self.player.clear()
            self._paint_run()
        self.ws.longtext.delete(int(run_id))
        self.refresh_runs()

    def refresh_runs(self) -> None:
        df = self.ws.longtext.df(self.role) if self.role is not None else pd.DataFrame()
        if len(df):
            df = df.assign(text=[_short(x, 60) for x in df["text"]],
                           status=[self.t.status(s) for s in df["status"]])
        total = len(df)
        self.runs.set_rows(df.iloc[self.runs.offset:self.runs.offset + self.runs.page_size]
                           if total else [], total=total)
        self.runs.layout.display = "" if total else "none"

    # -- painting --------------------------------------------------------------------------

    def _paint_source_kind(self) -> None:
        take = self.source_kind.value == "take"
        self.take_box.layout.display = "" if take else "none"
        self.product_box.layout.display = "none" if take else ""

    def _paint_source(self) -> None:
        t = self.t
        if self.source is None:
            self.source_info.value = (f"<span style='color:#8d6e00'>"
                                      f"{html.escape(t('longtext.need_source'))}</span>")
        elif self.source[0] == "take":
            take = self.ws.takes.get(self.source[1])
            self.source_info.value = html.escape(t(
                "longtext.source_take", id=take.id[:10], seed=take.seed))
        else:
            p = self.ws.products.get(self.source[1])
            self.source_info.value = html.escape(t("longtext.source_product", name=p.name))
        self._paint_takes()

    def _paint_takes(self) -> None:
        df = self._takes
        total = len(df)
        page = df.iloc[self.takes.offset:self.takes.offset + self.takes.page_size] if total else df
        self.takes.set_rows(page if total else [], total=total)

    def _paint_engines(self) -> None:
        from widgets.engines import engine_kind, engine_name

        options = [(f"{engine_name(e)} ({engine_kind(e)})", i)
                   for i, e in enumerate(self.ctx.engines)]
        current = self.engine_pick.value
        self.engine_pick.options = options
        self.engine_pick.value = current if current in range(len(options)) else (
            0 if options else None)

    def _paint_run(self) -> None:
        run = self.run
        self.run_box.layout.display = "none" if run is None else ""
        if run is None:
            self.chunks.set_rows([])
            return
        self.run_info.value = "<b>" + html.escape(self.t(
            "longtext.run_info", id=run.id, n=len(run.chunks),
            seconds=f"{run.duration_s or 0:.1f}", status=self.t.status(run.status))) + "</b>"
        rows = [{"id": c.idx, "n": c.idx + 1, "text": c.text, "start_s": c.start_s,
                 "duration_s": c.duration_s, "seed": c.seed} for c in run.chunks]
        self.chunks.set_rows(rows)
        self.resume_button.layout.display = "" if run.status != "done" else "none"

    # -- view glue -------------------------------------------------------------------------

    def _on_take_action(self, take_id: Any, action: str) -> None:
        if action == "use":
            self.use_take(str(take_id))
        elif action == "play":
            key = f"take:{take_id}"
            if self.player.key == key:
                self.player.toggle()
            else:
                self.player.load_file(self.ws.takes.abspath(str(take_id)), key=key,
                                      label=str(take_id)[:10], play=True)

    def _on_task_pick(self, _change: dict) -> None:
        self.ctx.guard(self.refresh_takes)()

    def _on_product_pick(self, change: dict) -> None:
        if change["new"]:
            self.ctx.guard(self.use_product)(change["new"])

    def _on_chunk_action(self, idx: Any, action: str) -> None:
        dispatch({"play": self.play_chunk, "reroll": self.reroll}, idx, action)

    def _on_run_action(self, run_id: Any, action: str) -> None:
        dispatch({"open": self.open_run, "delete": self.delete_run}, run_id, action)

    def _on_position(self, _change: dict) -> None:
        # The browser reports the play head twice a second: highlight the chunk under it.
        key, playing = self.player.key, self.player.playing
        self.takes.playing = key[5:] if playing and key.startswith("take:") else None
        run = self.run
        if run is None or key != f"lt{run.id}":
            self.chunks.playing = None
            return
        at = chunk_at(run, self.player.position) if playing else None
        if at is not None or not playing:
            self.chunks.playing = at

    def close(self) -> None:
        """Stop playback and ask a running render to stop after its current chunk."""
        self._cancel.set()
        self.player.clear()


__all__ = ["LongTextPanel", "chunk_at"]
