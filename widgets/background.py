"""Slow panel work (embedding a role, finding cuts, rendering a long text) off the kernel's
main thread, with a progress bar and a status line.

While a job runs, the panel's other widgets keep answering: a click that needs the job's
result waits for it; a second job is refused with a notice instead of queueing behind the
first. A library error in the job becomes the one-sentence notice, as in any callback.

Example:
    >>> import rasv, tempfile
    >>> from widgets.context import Context
    >>> ctx = Context(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> job = Background(ctx)
    >>> got = []
    >>> job.start(lambda progress: progress(3, 4) or 42, on_done=got.append, wait=True)
    True
    >>> got, job.busy, job.bar.value
    ([42], False, 3)
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from rasv.errors import RasvError
from widgets.context import Context, row

log = logging.getLogger("rasv.widgets")

#: ``progress(done, total)``, the shape of the library's progress callbacks.
Progress = Callable[[int, int], None]


class Background:
    """Run one job at a time in a daemon thread and show how far it got.

    Args:
        ctx: the workbench context (its notice line shows errors).
        buttons: widgets to disable while a job runs (so a double click starts nothing).

    The progress bar shows only while a job runs; ``status`` keeps the last line.
    """

    def __init__(self, ctx: Context, buttons: list[W.Widget] | None = None) -> None:
        self.ctx = ctx
        self.buttons: list[W.Widget] = list(buttons or [])
        self.bar = W.IntProgress(value=0, min=0, max=1,
                                 layout=W.Layout(width="220px", display="none"))
        self.status = W.HTML("")
        self.widget = row([self.bar, self.status])
        self.widget.add_class("rasv-background")
        self._thread: threading.Thread | None = None
        self._label = ""
        self._started = 0.0
        self.last_error: BaseException | None = None

    @property
    def busy(self) -> bool:
        """True while a job runs."""
        return self._thread is not None and self._thread.is_alive()

    def say(self, text: str) -> None:
        """Show ``text`` in the status line."""
        self.status.value = (
            f"<span style='color:var(--jp-ui-font-color2,#555)'>{html.escape(text)}</span>"
            if text else "")

    def progress(self, done: int, total: int) -> None:
        """Move the bar (a ``progress(done, total)`` callback for the library)."""
        total = max(int(total), 1)
        with self.bar.hold_sync():
            self.bar.max = total
            self.bar.value = min(int(done), total)
        if self._label:
            self.say(f"{self._label} {min(int(done), total)}/{total}")

    def start(self, fn: Callable[[Progress], Any], *, label: str = "",
              on_done: Callable[[Any], Any] | None = None,
              on_error: Callable[[RasvError], Any] | None = None, wait: bool = False) -> bool:
        """Run ``fn(progress)``, then ``on_done(result)``; in a thread unless ``wait``.

        A :class:`~rasv.RasvError` from ``fn`` is shown in the notice line and handed to
        ``on_error`` (e.g. to show what a failed job left behind). Returns False (and says
        so) when another job is still running.
        """
        if self.busy:
            self.ctx.say(self.ctx.t("job.busy"), "warn")
            return False
        self.last_error = None
        self._label = label
        self._started = time.monotonic()
        self.bar.value, self.bar.max = 0, 1
        self.bar.layout.display = ""
        self.say(label)
        for b in self.buttons:
            b.disabled = True

        def work() -> None:
            try:
                result = fn(self.progress)
                self.say("")  # on_done may leave its own line
                if on_done is not None:
                    on_done(result)
            except RasvError as e:
                self.last_error = e
                self.ctx.fail(e)
                self.say("")
                if on_error is not None:
                    try:
                        on_error(e)
                    except Exception:  # the first error is the one to show
                        log.exception("error handler of a background job failed")
            except Exception as e:  # a bug: keep the panel alive and say what happened
                self.last_error = e
                log.exception("background job failed")
                self.ctx.say(self.ctx.t("notice.error", message=f"{type(e).__name__}: {e}"),
                             "error")
                self.say("")
            finally:
                self._label = ""
                self.bar.layout.display = "none"
                for b in self.buttons:
                    b.disabled = False

        if wait:
            self._thread = None
            work()
        else:
            self._thread = threading.Thread(target=work, name="rasv-panel-job", daemon=True)
            self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the running job (tests, scripts)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def elapsed(self) -> float:
        """Seconds since the last job started."""
        return time.monotonic() - self._started


__all__ = ["Background", "Progress"]
