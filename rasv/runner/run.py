"""The runner: make a task's pending takes with one or more engines, resumably.

One thread per engine (:mod:`~rasv.runner.worker`; engines serialise their own requests:
GPT-SoVITS's ``api_v2`` must get one request at a time), the shared
:mod:`~rasv.runner.scheduler` behind one lock, and
one saver thread that writes WAVs and commits finished takes in small batches
(:mod:`~rasv.runner.persist`), so an engine never waits on the disk or the database and DB
traffic stays a few operations per second however fast takes arrive.

Transient engine errors are retried with exponential backoff; other errors are recorded on
the take; an engine that stays unreachable is dropped and its take handed to the others.
A request that hangs is given up on after ``take_timeout`` (:mod:`~rasv.runner.caller`).

Example:
    >>> from rasv.testing import FakeEngine, example
    >>> ex = example(repeats=4, run=False); ws, task = ex.ws, ex.task
    >>> run = ws.tasks.run(task, [FakeEngine("a"), FakeEngine("b")], background=True)
    >>> p = run.wait()
    >>> p.done, p.failed, [e.kind for e in run.events][-1]
    (4, 0, 'finished')
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasv.engine import Capabilities
from rasv.errors import (
    CapabilityError,
    EngineError,
    EngineUnavailable,
    IgnoredParams,
    InvalidInput,
    RasvError,
)
from rasv.runner import persist
from rasv.runner.caller import reason
from rasv.runner.events import Progress, RunEvent
from rasv.runner.liveness import activate, deactivate, make_owner
from rasv.runner.persist import Outcome
from rasv.runner.scheduler import Job, Scheduler
from rasv.runner.worker import Crew, SharedScheduler, Worker
from rasv.tasks.checks import ignored_dimensions, ignored_message
from rasv.tasks.grid import GSV_KIND

if TYPE_CHECKING:
    from rasv.tasks.namespace import Task
    from rasv.workspace import Workspace

_FLUSH_S = 0.25  # the saver commits at most this often (plus once per full batch)
_BATCH = 256
_MAX_EVENTS = 20_000


@dataclass(frozen=True)
class RunOptions:
    """How a run treats failing takes, checked when made.

    The fields are the arguments of the same names of :meth:`rasv.tasks.namespace.Tasks.run`,
    which documents them; the defaults are the same too.

    Example:
        >>> from rasv.testing import raises
        >>> RunOptions(retries=1).take_timeout, raises(RunOptions, backoff_s=-1)
        (600.0, 'InvalidInput: backoff_s must be >= 0, got -1')
    """

    retries: int = 3
    take_timeout: float | None = 600.0
    backoff_s: float = 1.0
    retry_failed: bool = False

    def __post_init__(self) -> None:
        retries = self.retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidInput(f"retries must be a whole number >= 0, got {retries!r}")
        if self.take_timeout is not None and not self.take_timeout > 0:
            raise InvalidInput(f"take_timeout must be positive or None, got {self.take_timeout!r}")
        if self.backoff_s < 0:
            raise InvalidInput(f"backoff_s must be >= 0, got {self.backoff_s!r}")


class Run:
    """One run of a task: its progress, events and controls. Made by ``ws.tasks.run``.

    Attributes:
        id: a short token naming this run (part of the owner recorded on claimed takes).
        task: the task being run.
        error: why the run stopped early (all engines down, the database unusable), or None.

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import FakeEngine, make_clip
        >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
        >>> clip = ws.clips.add(role, make_clip(ws.root / "r.wav", 4.0), text="hi", lang="en")
        >>> task = ws.tasks.create(role, "x", ["Hello."], clips=[clip], repeats=40,
        ...                        engine="fake")
        >>> run = ws.tasks.run(task, FakeEngine(latency_s=0.1), background=True)
        >>> run.cancel(); p = run.wait()
        >>> p.done < 40, task.counts().cancelled + task.counts().done
        (True, 40)
    """

    def __init__(
        self,
        ws: Workspace,
        task: Task,
        engines: Sequence[Any],
        *,
        on_event: Callable[[RunEvent], None] | None,
        options: RunOptions,
    ) -> None:
        self._ws = ws
        self.task = task
        self.id = uuid.uuid4().hex[:12]
        self.owner = make_owner(self.id)
        self._engines = list(engines)
        self._on_event = on_event
        self.options = options
        self.error: RasvError | None = None
        self.callback_errors: list[BaseException] = []
        self._events: deque[RunEvent] = deque(maxlen=_MAX_EVENTS)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._t0 = time.monotonic()
        self._t_end: float | None = None
        self._counts = {"total": 0, "todo": 0, "done": 0, "failed": 0, "running": 0,
                        "adopted": 0, "already_done": 0, "loads": 0}
        self._workers: list[Worker] = []
        self._sched: SharedScheduler | None = None
        self._saver_q: queue.Queue[Outcome | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._saver: threading.Thread | None = None
        self._coordinator: threading.Thread | None = None
        self._model_paths: dict[int, Path] = {}

    # -- public ------------------------------------------------------------------------------

    @property
    def progress(self) -> Progress:
        """A snapshot of the run's progress."""
        with self._lock:
            c = dict(self._counts)
        end = self._t_end if self._t_end is not None else time.monotonic()
        return Progress(elapsed_s=end - self._t0, **c)

    @property
    def events(self) -> list[RunEvent]:
        """The events so far, oldest first (the last 20,000 of a very long run)."""
        with self._lock:
            return list(self._events)

    @property
    def finished(self) -> bool:
        """True once every thread has stopped and the database is up to date."""
        return self._finished.is_set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Stop handing out takes. Requests in flight finish and are saved; the takes not
        started are marked ``cancelled`` and the next run makes them.

        Example:
            >>> from rasv.testing import FakeEngine, example
            >>> ex = example(repeats=20, run=False); ws, task = ex.ws, ex.task
            >>> run = task.run(FakeEngine(latency_s=0.02), background=True)
            >>> run.cancel(); run.wait().done + task.counts().cancelled
            20
        """
        if self._cancel.is_set():
            return
        self._cancel.set()
        if self._sched is not None:
            self._sched.cancel()
        self._emit("cancelling")

    def wait(self, timeout: float | None = None) -> Progress:
        """Wait for the run to finish (or ``timeout`` seconds); return its progress.

        Raises:
            RasvError: the reason the run stopped early, if it did (see :attr:`error`).

        Example:
            >>> from rasv.testing import FakeEngine, example
            >>> ex = example(repeats=3, run=False); ws, task = ex.ws, ex.task
            >>> task.run(FakeEngine(), background=True).wait(timeout=60).done
            3
        """
        if not self._finished.wait(timeout):
            return self.progress
        if self.error is not None:
            raise self.error
        return self.progress

    def __repr__(self) -> str:
        state = "finished" if self.finished else ("cancelling" if self.cancelled else "running")
        return f"<rasv.Run {self.id} of task {self.task.id} {state}: {self.progress}>"

    # -- events ------------------------------------------------------------------------------

    def _emit(self, kind: str, **kw: Any) -> None:
        event = RunEvent(kind, time.time(), progress=self.progress, **kw)
        with self._lock:
            self._events.append(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception as e:  # a broken progress bar must not stop the run
                with self._lock:
                    self.callback_errors.append(e)

    def _count(self, **delta: int) -> None:
        with self._lock:
            for k, v in delta.items():
                self._counts[k] += v

    # -- setup -------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        for i, engine in enumerate(self._engines):
            name = str(getattr(engine, "name", None) or f"{type(engine).__name__}#{i}")
            try:
                caps = engine.capabilities()
            except EngineError as e:
                self._emit("engine_down", engine=name, error=reason(e))
                continue
            self._check_engine(name, caps)
            self._workers.append(Worker(engine, name, caps, i))
        if not self._workers:
            raise EngineUnavailable("no engine could be reached; see the run's events")

    def _check_engine(self, name: str, caps: Capabilities) -> None:
        kind = self.task.engine_kind
        if caps.kind != kind:
            raise CapabilityError(
                f"task {self.task.id} is for {kind!r} engines; {name} is a {caps.kind!r} "
                "engine (create the task with engine=... to match)"
            )
        if kind == GSV_KIND:
            return  # what a GPT-SoVITS model honours was checked per version at creation
        ignored = ignored_dimensions(self.task.spec, caps)
        if ignored:
            msg = ignored_message(name, ignored)
            if not self.task.spec.force:
                raise IgnoredParams(
                    msg + f"; to run it anyway, ws.tasks.edit({self.task.id}, force=True) "
                    "(or create it with force=True / rasv task create --force)", ignored
                )
            self._emit("warning", engine=name, error=msg)

    def _prepare(self) -> list[Job]:
        """Recover, adopt and claim this task's takes in one transaction; build the jobs."""
        got = persist.claim(self._ws, self.task, self.owner,
                            retry_failed=self.options.retry_failed)
        self._model_paths = got.model_paths
        with self._lock:
            self._counts.update(total=got.total, todo=len(got.jobs), adopted=got.adopted,
                                already_done=got.already_done)
        return got.jobs

    # -- running -----------------------------------------------------------------------------

    def _launch(self, jobs: list[Job]) -> None:
        activate(self.owner)
        self._sched = SharedScheduler(Scheduler(jobs, engines=[w.index for w in self._workers]))
        crew = Crew(self._sched, emit=self._emit, count=self._count, save=self._saver_q.put,
                    cancel=self._cancel, retries=self.options.retries,
                    take_timeout=self.options.take_timeout, backoff_s=self.options.backoff_s,
                    model_paths=self._model_paths)
        if self._cancel.is_set():
            self._sched.cancel()
        saver = threading.Thread(target=self._save_loop, name=f"rasv-run-{self.id}-saver",
                                 daemon=True)
        saver.start()
        self._saver = saver
        self._emit("started")
        for w in self._workers:
            w.crew = crew
            th = threading.Thread(target=w.work,
                                  name=f"rasv-run-{self.id}-{w.name}", daemon=True)
            self._threads.append(th)
            th.start()

    def _coordinate(self) -> None:
        """Wait for the workers, then flush, release what is left and finish."""
        try:
            try:
                for th in self._threads:
                    while th.is_alive():
                        th.join(0.25)
            except KeyboardInterrupt:
                self.cancel()
                for th in self._threads:
                    th.join()
                raise
            finally:
                self._finish()
        finally:
            self._finished.set()

    def _finish(self) -> None:
        self._saver_q.put(None)
        if self._saver is not None:
            self._saver.join()
        assert self._sched is not None
        left = self._sched.leftover()
        status = "cancelled" if self._cancel.is_set() else "pending"
        try:
            persist.release(self._ws, self.owner, status)
        except RasvError as e:
            # The rows stay 'running' under our owner; the next run recovers them.
            self.error = self.error or e
        deactivate(self.owner)
        if left and self.error is None and not self._cancel.is_set():
            downs = [e.error for e in self.events if e.kind == "engine_down"]
            self.error = EngineUnavailable(
                f"every engine stopped with {len(left)} take(s) left to make "
                f"(last reason: {downs[-1] if downs else 'unknown'}); they stay pending"
            )
        self._t_end = time.monotonic()
        self._emit("finished", error=reason(self.error) if self.error else None)
        self._finished.set()


    def _save_loop(self) -> None:
        stop = False
        while not stop:
            try:
                first = self._saver_q.get(timeout=_FLUSH_S)
            except queue.Empty:
                continue
            batch: list[Outcome] = []
            if first is None:
                stop = True
            else:
                batch.append(first)
            deadline = time.monotonic() + _FLUSH_S
            while not stop and len(batch) < _BATCH:
                try:
                    item = self._saver_q.get(timeout=max(deadline - time.monotonic(), 0))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                self._save(batch)

    def _save(self, batch: list[Outcome]) -> None:
        persist.write_audio(self._ws, batch)
        done = [o for o in batch if o.ok]
        failed = [o for o in batch if not o.ok]
        for attempt in range(3):
            try:
                persist.commit(self._ws, self.owner, done + failed)
                break
            except RasvError as e:
                if attempt == 2:
                    # The WAVs are on disk and will be adopted; stop rather than pile up.
                    self.error = self.error or e
                    self.cancel()
                    return
                time.sleep(0.5 * (attempt + 1))
        self._count(done=len(done), failed=len(failed))
        for o in done:
            o.audio = None  # free the samples
            self._emit("take_done", take_id=o.job.take_id, engine=o.engine, pair=o.job.pair)
        for o in failed:
            self._emit("take_failed", take_id=o.job.take_id, engine=o.engine, pair=o.job.pair,
                       error=o.error)


def as_engines(given: Any) -> list[Any]:
    """The engines in what a user passed: engines, servers (``.engine``), pools (``.engines``).

    A user who just started a ``gsv_bridge.GsvServer`` or ``ServerPool`` passes it as it
    is; its engines are taken. A server that is not running is a clear error, not a run
    whose takes all fail to connect.

    Example:
        >>> from rasv.testing import FakeEngine
        >>> class Pool:
        ...     engines = [FakeEngine(), FakeEngine()]
        >>> len(as_engines([Pool(), FakeEngine()]))
        3
    """
    items = list(given) if isinstance(given, (list, tuple)) else [given]
    out: list[Any] = []
    for item in items:
        if callable(getattr(item, "synthesize", None)):
            out.append(item)
        elif isinstance(getattr(item, "engines", None), list):
            out.extend(as_engines(list(item.engines)) if item.engines else [])
            if not item.engines:
                raise InvalidInput(f"{item!r} holds no servers")
        elif getattr(item, "engine", None) is not None:
            if getattr(item, "running", True) is False:
                raise InvalidInput(f"{item!r} is not running: start it first (srv.start(), or "
                                   "a `with` block) and pass it again")
            out.append(item.engine)
        else:
            out.append(item)  # reported below as "not an engine"
    return out


def start_run(
    ws: Workspace,
    task: Task,
    engines: Any,
    *,
    background: bool = False,
    on_event: Callable[[RunEvent], None] | None = None,
    options: RunOptions | None = None,
) -> Run:
    """Validate, claim and start a run (see :meth:`rasv.tasks.namespace.Tasks.run`).

    Example:
        >>> from rasv.testing import FakeEngine, example
        >>> ex = example(run=False); ws, task = ex.ws, ex.task
        >>> start_run(ws, task, FakeEngine()).progress.done
        1
    """
    if engines is None:
        raise InvalidInput("give an engine (or a list of engines) to run the task with")
    engines = as_engines(engines)
    if not engines:
        raise InvalidInput("give at least one engine to run the task with")
    if len({id(e) for e in engines}) != len(engines):
        raise InvalidInput("the same engine is given twice; each engine takes one request "
                           "at a time, so give separate engines (one per server)")
    for e in engines:
        missing = [m for m in ("capabilities", "load", "synthesize")
                   if not callable(getattr(e, m, None))]
        if missing:
            raise InvalidInput(f"{e!r} is not an engine (it lacks {', '.join(missing)})")
    names = [str(getattr(e, "name", "")) for e in engines]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise InvalidInput(
            f"two engines are named {twice[0]!r} (the same server twice?); a server takes one "
            "request at a time, so give each server once"
        )

    run = Run(ws, task, engines, on_event=on_event, options=options or RunOptions())
    run._start_workers()
    ws.tasks.ensure_planned(task)
    jobs = run._prepare()
    run._launch(jobs)
    if background:
        run._coordinator = threading.Thread(target=run._coordinate,
                                            name=f"rasv-run-{run.id}", daemon=True)
        run._coordinator.start()
        return run
    run._coordinate()
    if run.error is not None:
        raise run.error
    return run


__all__ = ["Run", "RunOptions", "as_engines", "start_run"]
