"""The Run tab: make a task's takes with the connected engines, watch, cancel, resume.

A run works on background threads (``ws.tasks.run(..., background=True)``), so the page stays
responsive; its events update a progress bar, one status line per engine and the list of
failed takes with their reasons. Cancelling lets the requests in flight finish and keeps
everything made so far; starting again makes only what is left (and, when asked, retries
the failures).

Example:
    >>> from rasv.testing import FakeEngine, example
    >>> from widgets.context import Context
    >>> ex = example(name="k", vary={"top_k": [5, 15]}, run=False); task = ex.task
    >>> ctx = Context(ex.ws, lang="en", engines=[FakeEngine()]); ctx.role = ex.role
    >>> panel = RunPanel(ctx)
    >>> panel.start(task.id).wait().done
    2
    >>> panel.paint(); panel.bar.value
    1.0
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as W

from rasv.errors import IgnoredParams
from widgets.context import Context, Panel, col, row
from widgets.engines import engine_kind, engine_name

#: Seconds between two repaints while events stream in (the last event always repaints).
_PAINT_EVERY_S = 0.2


class RunPanel(Panel):
    """Controller and view of the Run tab."""

    tab = "tab.run"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        self.run: Any = None
        self._lock = threading.Lock()
        self._engine_state: dict[str, dict[str, Any]] = {}
        self._last_paint = 0.0
        self.task = W.Dropdown(description=t("run.task"), layout=W.Layout(width="460px"))
        self.task.style.description_width = "initial"
        self.engine_boxes = W.VBox([])
        self.retry_failed = W.Checkbox(description=t("run.retry_failed"), indent=False,
                                       layout=W.Layout(width="auto"))
        self.start_button = W.Button(description=t("run.start"), button_style="primary",
                                     icon="play")
        self.cancel_button = W.Button(description=t("run.cancel"), icon="stop", disabled=True)
        self.start_button.on_click(ctx.guard(lambda _b: self.start()))
        self.cancel_button.on_click(ctx.guard(lambda _b: self.cancel()))
        self.bar = W.FloatProgress(value=0.0, min=0.0, max=1.0, layout=W.Layout(width="460px"))
        self.status = W.HTML("")
        self.engines_table = W.HTML("")
        self.errors = W.HTML("")
        self.review_button = W.Button(description=t("run.to_review"), icon="headphones",
                                      layout=W.Layout(width="auto"))
        self.review_button.on_click(ctx.guard(lambda _b: self._to_review()))
        # What Run refuses comes with buttons that fix it (never Python advice).
        self.keep_button = W.Button(description=t("run.fix_keep"), button_style="warning",
                                    layout=W.Layout(width="auto"))
        self.edit_button = W.Button(description=t("run.fix_edit"), layout=W.Layout(width="auto"))
        self.keep_button.on_click(ctx.guard(lambda _b: self.keep_anyway()))
        self.edit_button.on_click(
            ctx.guard(lambda _b: self.ctx.navigate("tasks") and self._show_fix(False)))
        self.fix_box = row([self.keep_button, self.edit_button], display="none")
        self.task.observe(lambda _c: ctx.guard(self.paint_task)(), "value")
        self.task.observe(lambda _c: self._show_fix(False), "value")
        self.widget = col([
            row([self.task, self.retry_failed]),
            W.HTML(f"<b>{html.escape(t('run.engines'))}</b>"),
            self.engine_boxes,
            row([self.start_button, self.cancel_button, self.review_button]),
            self.fix_box,
            row([self.bar, self.status]),
            self.engines_table,
            self.errors,
        ])
        self.widget.add_class("rasv-run")
        ctx.observe(lambda _c: ctx.guard(self.refresh)(), "role")
        ctx.observe(lambda _c: self._engine_choices(), "engines")
        self._engine_choices()
        self.refresh()

    # -- choices -------------------------------------------------------------------------

    def refresh(self, *_: Any) -> None:
        """Re-read the role's tasks (keeping the chosen one) and its counts."""
        if self.role is None:
            self.task.options = []
            self.paint_task()
            return
        df = self.ws.tasks.list(self.role)
        current = self.task.value
        options = [(self._task_label(r), int(r.id)) for r in df.itertuples()]
        self.task.options = options
        ids = [v for _, v in options]
        if current in ids:
            self.task.value = current
        elif ids:
            self.task.value = ids[0]
        self.paint_task()

    def show(self, task: int | None = None, **_: Any) -> None:
        """Open with ``task`` chosen (what other panels call through ``ctx.navigate``)."""
        self.refresh()
        if task is not None and task in [v for _, v in self.task.options]:
            self.task.value = int(task)

    def _task_label(self, r: Any) -> str:
        done = int(getattr(r, "n_done", 0) or 0)
        total = int(getattr(r, "n_takes", 0) or 0)
        return f"#{r.id} {r.name} (v{r.version}) · {self.t.status(r.status)} · {done}/{total}"

    def _engine_choices(self) -> None:
        boxes = []
        for engine in self.ctx.engines:
            box = W.Checkbox(value=True, indent=False,
                             description=f"{engine_name(engine)} [{engine_kind(engine)}]",
                             layout=W.Layout(width="auto"))
            box.engine = engine  # type: ignore[attr-defined]
            boxes.append(box)
        if not boxes:
            boxes = [W.HTML(f"<i>{html.escape(self.t('run.no_engine'))}</i>")]
        self.engine_boxes.children = boxes

    def chosen_engines(self) -> list[Any]:
        """The engines ticked in the list."""
        return [b.engine for b in self.engine_boxes.children  # type: ignore[attr-defined]
                if isinstance(b, W.Checkbox) and b.value]

    # -- running -------------------------------------------------------------------------

    def start(self, task: int | None = None) -> Any:
        """Start (or resume) a run of ``task`` (default: the chosen one) in the background."""
        if self.run is not None and not self.run.finished:
            self.ctx.say(self.t("run.busy"), "warn")
            return self.run
        task_id = int(task if task is not None else self.task.value)
        engines = self.chosen_engines()
        if not engines:
            self.ctx.say(self.t("run.no_engine"), "warn")
            return None
        with self._lock:
            self._engine_state = {engine_name(e): {"state": "idle", "done": 0, "failed": 0,
                                                  "error": ""} for e in engines}
        try:
            self.run = self.ws.tasks.run(task_id, engines, background=True,
                                         on_event=self.on_event,
                                         retry_failed=self.retry_failed.value)
        except IgnoredParams as e:
            self.ctx.fail(e)
            self._show_fix(True)
            return None
        self._show_fix(False)
        self.start_button.disabled = True
        self.cancel_button.disabled = False
        self.ctx.say(self.t("run.started", task=task_id))
        self.paint(force=True)
        return self.run

    def keep_anyway(self) -> Any:
        """Run the chosen task although its engine ignores a dimension it varies (the takes
        of those cells will sound alike): the task is kept with a warning, then started."""
        task_id = self.task.value
        if task_id is None:
            return None
        task = self.ws.tasks.edit(task_id, force=True)
        self._show_fix(False)
        self.refresh()
        if task.id in [v for _, v in self.task.options]:
            self.task.value = task.id
        return self.start(task.id)

    def _show_fix(self, on: bool) -> None:
        self.fix_box.layout.display = "" if on else "none"

    def cancel(self) -> None:
        """Stop handing out takes; what is in flight finishes and is kept."""
        if self.run is not None and not self.run.finished:
            self.run.cancel()
            self.ctx.say(self.t("run.cancelling"), "warn")

    def on_event(self, event: Any) -> None:
        """Record a run event (called from the run's threads) and repaint now and then."""
        with self._lock:
            st = self._engine_state.setdefault(event.engine or "", {"state": "idle", "done": 0,
                                                                    "failed": 0, "error": ""})
            if event.kind == "loading":
                st["state"] = "loading"
            elif event.kind in ("loaded", "take_started", "take_retry"):
                st["state"] = "working"
            elif event.kind == "take_done":
                st["done"] += 1
            elif event.kind == "take_failed":
                st["failed"] += 1
                st["error"] = event.error or ""
            elif event.kind == "engine_down":
                st["state"] = "down"
                st["error"] = event.error or ""
            if event.kind == "finished":
                for s in self._engine_state.values():
                    if s["state"] != "down":
                        s["state"] = "idle"
        final = event.kind == "finished"
        now = time.monotonic()
        if final or now - self._last_paint >= _PAINT_EVERY_S:
            # "finished" is the run's last word, sent just before it marks itself finished.
            self.paint(force=final, final=final)

    def paint(self, force: bool = False, final: bool = False) -> None:
        """Show the run's progress, engine states and failures (``final``: the run is over)."""
        self._last_paint = time.monotonic()
        t = self.t
        run = self.run
        if run is None:
            self.paint_task()
            return
        over = final or run.finished
        p = run.progress
        self.bar.value = p.fraction
        self.bar.bar_style = "danger" if p.failed else ("success" if over else "info")
        eta = "" if p.eta_s is None or over else t("run.eta", s=f"{p.eta_s:.0f}")
        self.status.value = html.escape(
            t("run.progress", made=p.done + p.failed, todo=p.todo, failed=p.failed,
              already=p.already_done, s=f"{p.elapsed_s:.1f}") + eta)
        with self._lock:
            states = {k: dict(v) for k, v in self._engine_state.items() if k}
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(t('run.state.' + s['state']))}"
            f"</td><td style='text-align:right'>{s['done']}</td>"
            f"<td style='text-align:right'>{s['failed']}</td>"
            f"<td>{html.escape(s['error'][:200])}</td></tr>"
            for name, s in states.items()
        )
        self.engines_table.value = (
            "<table class='rasv-engines'><tr>"
            + "".join(f"<th>{html.escape(t(k))}</th>" for k in (
                "run.col.engine", "run.col.state", "run.col.done", "run.col.failed",
                "run.col.error"))
            + f"</tr>{rows}</table>"
        ) if rows else ""
        if over:
            self.start_button.disabled = False
            self.cancel_button.disabled = True
            if run.error is not None:
                self.ctx.fail(run.error)
            else:
                self.ctx.say(t("run.finished", summary=str(p)), "warn" if p.failed else "info")
            self._paint_failures(run.task.id)
            self._refresh_labels()
            self.review_button.disabled = self.ws.tasks.counts(run.task.id).done == 0

    def paint_task(self) -> None:
        """Show the chosen task's counts and its failed takes (no run in progress)."""
        if self.run is not None and not self.run.finished:
            return
        task_id = self.task.value
        if task_id is None:
            self.status.value = html.escape(self.t("run.no_task"))
            self.review_button.disabled = True
            self.bar.value = 0.0
            self.errors.value = ""
            return
        c = self.ws.tasks.counts(task_id)
        self.review_button.disabled = c.done == 0
        self.bar.value = c.done / c.total if c.total else 0.0
        self.bar.bar_style = "success" if c.status == "done" else (
            "danger" if c.failed else "info")
        self.status.value = html.escape(self.t(
            "run.counts", done=c.done, total=c.total, failed=c.failed, todo=c.todo,
            status=self.t.status(c.status)))
        self._paint_failures(task_id)

    def _paint_failures(self, task_id: int) -> None:
        plan = self.ws.tasks.plan(task_id)
        failed = plan[plan["status"] == "failed"] if "status" in plan else plan.iloc[:0]
        if failed.empty:
            self.errors.value = ""
            return
        items = "".join(
            f"<li><code>{html.escape(str(r.take_id)[:10])}</code> "
            f"{html.escape(str(r.clip_name))} · {html.escape(str(r.text)[:30])}: "
            f"{html.escape(str(r.error or '')[:300])}</li>"
            for r in failed.head(50).itertuples()
        )
        self.errors.value = (f"<b>{html.escape(self.t('run.failures', n=len(failed)))}</b>"
                             f"<ul>{items}</ul>")

    def _refresh_labels(self) -> None:
        current = self.task.value
        df = self.ws.tasks.list(self.role) if self.role is not None else None
        if df is None:
            return
        self.task.options = [(self._task_label(r), int(r.id)) for r in df.itertuples()]
        if current is not None:
            self.task.value = current

    def _to_review(self) -> None:
        task_id = self.task.value
        if task_id is None:
            return
        if self.ws.tasks.counts(task_id).done == 0:
            self.ctx.say(self.t("run.no_takes_yet", id=task_id), "warn")
            return
        self.ctx.navigate("review", task=task_id)

    def close(self) -> None:
        """Cancel a run still going when the workbench closes."""
        self.cancel()


__all__ = ["RunPanel"]
