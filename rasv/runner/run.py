"""The runner: make a task's pending takes with one or more engines, resumably.

One thread per engine (engines serialise their own requests; GPT-SoVITS's ``api_v2`` must
get one request at a time), a shared scheduler, and one saver thread that writes WAVs and
commits finished takes in small batches, so an engine never waits on the disk or the
database and DB traffic stays a few operations per second however fast takes arrive.

Scheduling: takes are grouped by (GPT, SoVITS) pair, then by clip. An idle engine keeps to
its pair; when the pair runs dry it takes a pair nobody has started (so with many pairs each
engine works through whole pairs and loads each once), and when none is left it joins the
pair with the most work per engine if that beats the cost of loading it (so the usual
single-pair clip comparison still uses every server). Inside a pair an engine keeps to one
clip while it can, which keeps GPT-SoVITS's reference cache warm.

Safety: a take's WAV is written atomically and only then its row is committed ``done``.
Claimed rows carry an owner (``host:pid:run``); rows whose owner died go back to pending on
the next run, and a take whose WAV exists but whose row is not done is adopted, not made
again. Transient engine errors are retried with exponential backoff; other errors are
recorded on the take; an engine that stays unreachable is dropped and its take handed to
the others.

Example:
    >>> import rasv, tempfile
    >>> from rasv.testing import FakeEngine, make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> clip = ws.clips.add(role, make_clip(ws.root / "r.wav", 4.0), text="参考。")
    >>> task = ws.tasks.create(role, "x", ["你好。"], clips=[clip], repeats=4, engine="fake")
    >>> run = ws.tasks.run(task, [FakeEngine("a"), FakeEngine("b")], background=True)
    >>> p = run.wait()
    >>> p.done, p.failed, [e.kind for e in run.events][-1]
    (4, 0, 'finished')
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from rasv.audio import files as audio_io
from rasv.engine import Audio, Capabilities, SynthesisRequest, capabilities_for_version
from rasv.errors import (
    AudioError,
    CapabilityError,
    EngineError,
    EngineUnavailable,
    InvalidInput,
    RasvError,
    TakeTimeout,
)
from rasv.tasks.grid import GSV_KIND
from rasv.params import VARIABLE_PARAMS, Params
from rasv.workspace import TAKES_DIR

if TYPE_CHECKING:
    from rasv.tasks.namespace import Task
    from rasv.workspace import Workspace

#: Event kinds, in the order a take meets them.
EVENT_KINDS: tuple[str, ...] = (
    "started", "loading", "loaded", "take_started", "take_retry", "take_done", "take_failed",
    "engine_down", "warning", "cancelling", "finished",
)

_HOST = socket.gethostname()
# Temporary WAVs are named after the writing process, so leftovers of a dead run can be told
# from the files a live run (maybe in another process) is writing right now.
_TMP_HOST = hashlib.sha1(_HOST.encode()).hexdigest()[:8]
_TMP_RE = re.compile(r"^\.tmp-rasv-([0-9a-f]{8})-(\d+)-")
_ACTIVE: set[str] = set()  # owner strings of the runs live in this process
_ACTIVE_LOCK = threading.Lock()
_MAX_BACKOFF_S = 30.0
_FLUSH_S = 0.25  # the saver commits at most this often (plus once per full batch)
_BATCH = 256
_MAX_EVENTS = 20_000

Pair = tuple[int | None, int | None]


# --- public records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a run stands. ``done``/``failed`` count what this run committed.

    Example:
        >>> p = Progress(total=10, todo=6, done=3, failed=1, already_done=4, elapsed_s=2.0)
        >>> p.remaining, p.fraction, p.eta_s
        (2, 0.6666666666666666, 1.0)
    """

    total: int = 0
    todo: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    adopted: int = 0
    already_done: int = 0
    elapsed_s: float = 0.0
    loads: int = 0

    @property
    def remaining(self) -> int:
        """Takes this run still has to make."""
        return max(self.todo - self.done - self.failed, 0)

    @property
    def fraction(self) -> float:
        """Share of this run's takes finished (1.0 when there was nothing to do)."""
        return (self.done + self.failed) / self.todo if self.todo else 1.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first take finishes)."""
        finished = self.done + self.failed
        if not finished:
            return None
        return self.elapsed_s / finished * self.remaining

    def __str__(self) -> str:
        return (f"{self.done + self.failed}/{self.todo} made ({self.failed} failed), "
                f"{self.already_done} already done, {self.elapsed_s:.1f} s")


@dataclass(frozen=True)
class RunEvent:
    """Something that happened in a run, for progress bars and panels.

    ``kind`` is one of :data:`EVENT_KINDS`. ``take_id``, ``engine``, ``pair`` (GPT id,
    SoVITS id), ``attempt`` and ``error`` are set where they apply.

    Example:
        >>> RunEvent("take_done", 0.0, take_id="ab", engine="fake").kind
        'take_done'
    """

    kind: str
    time: float
    take_id: str | None = None
    engine: str | None = None
    pair: Pair | None = None
    attempt: int | None = None
    error: str | None = None
    progress: Progress | None = field(default=None, repr=False)


# --- liveness of run owners -------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A killed child its parent has not reaped yet is a zombie: it runs nothing.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def owner_alive(owner: str | None) -> bool:
    """Whether the run that wrote ``owner`` (``host:pid:run``) may still be working.

    Runs on other hosts cannot be checked and count as alive (free their takes with
    ``ws.tasks.reset(task, running=True)`` if that machine is gone).

    Example:
        >>> owner_alive(None), owner_alive(f"{socket.gethostname()}:999999999:x")
        (False, False)
    """
    if not owner:
        return False
    try:
        host, pid_text, token = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != _HOST:
        return True
    if pid == os.getpid():
        with _ACTIVE_LOCK:
            return owner in _ACTIVE
    return _pid_alive(pid)


def live_owners(owners: Iterable[str | None]) -> set[str]:
    """The owners in ``owners`` whose runs may still be working.

    Example:
        >>> live_owners([None, "elsewhere:1:x"])
        {'elsewhere:1:x'}
    """
    return {o for o in set(owners) if o and owner_alive(o)}


# --- internal records -------------------------------------------------------------------------


@dataclass
class _Job:
    take_id: str
    pair: Pair
    clip_id: int | None
    ord: int
    request: SynthesisRequest | None  # None when the take cannot be sent (error says why)
    problem: str | None
    caps: Capabilities | None  # model-version capabilities (GPT-SoVITS) to pre-check with
    extra: dict[str, Any]
    attempts: int = 0
    unavailable: int = 0  # times an engine stayed unreachable through all retries of it
    last_error: str = ""


@dataclass
class _Worker:
    engine: Any
    name: str
    caps: Capabilities
    index: int
    assigned: Pair | None = None  # the pair the scheduler gave it
    loaded: Pair | None = None  # the pair its engine holds
    clip: int | None = None  # the clip it last worked on
    caller: _Caller | None = None  # the thread that makes its requests (timeouts)
    alive: bool = True
    strikes: int = 0  # takes in a row that found the engine unreachable


@dataclass
class _Outcome:
    job: _Job
    ok: bool
    engine: str
    attempts: int
    started_at: datetime
    finished_at: datetime
    synth_s: float | None = None
    audio: Audio | None = None
    error: str | None = None
    engine_version: str | None = None


class _Caller:
    """One thread that makes an engine's requests, so the runner can stop waiting for one
    (a timeout) while the engine keeps its one-request-at-a-time rule: the next request is
    only sent once the abandoned one has returned."""

    def __init__(self, engine: Any, name: str) -> None:
        self.engine = engine
        self.name = name
        self.cv = threading.Condition()
        self.request: SynthesisRequest | None = None
        self.sent = 0  # sequence number of the last request handed over
        self.answered = 0  # sequence number of the last request answered
        self.result: tuple[bool, Any] = (False, None)
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name=f"rasv-call-{name}",
                                       daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            with self.cv:
                while self.request is None and not self.closed:
                    self.cv.wait()
                if self.closed:
                    return
                req = self.request
            try:
                outcome: tuple[bool, Any] = (True, self.engine.synthesize(req))
            except BaseException as e:  # handed to the worker that asked
                outcome = (False, e)
            with self.cv:
                self.request = None
                self.result = outcome
                self.answered += 1
                self.cv.notify_all()

    def call(self, req: SynthesisRequest, timeout: float) -> Any:
        with self.cv:
            # An earlier request that timed out may still be running on the engine.
            if self.request is not None and not self.cv.wait_for(
                lambda: self.request is None, timeout
            ):
                raise _EngineStuck(
                    f"{self.name} is still busy with a request that timed out "
                    f"{2 * timeout:g} s ago"
                )
            self.sent += 1
            seq = self.sent
            self.request = req
            self.cv.notify_all()
            if not self.cv.wait_for(lambda: self.answered >= seq, timeout):
                raise TakeTimeout(f"{self.name} gave no answer within {timeout:g} s")
            ok, value = self.result
        if ok:
            return value
        raise value

    def close(self) -> None:
        with self.cv:
            self.closed = True
            self.cv.notify_all()


class _PairQueue:
    """A pair's jobs, grouped by clip in plan order."""

    def __init__(self) -> None:
        self.by_clip: OrderedDict[int | None, deque[_Job]] = OrderedDict()
        self.n = 0

    def push(self, job: _Job, front: bool = False) -> None:
        q = self.by_clip.setdefault(job.clip_id, deque())
        if front:
            q.appendleft(job)
            self.by_clip.move_to_end(job.clip_id, last=False)
        else:
            q.append(job)
        self.n += 1

    def pop(self, prefer: int | None, busy_clips: set[int | None]) -> _Job:
        """The next job, from clip ``prefer`` if it has one, else from a clip no other
        engine is on (so each server keeps its reference cache warm)."""
        if prefer in self.by_clip:
            key = prefer
        else:
            key = next((k for k in self.by_clip if k not in busy_clips), next(iter(self.by_clip)))
        q = self.by_clip[key]
        job = q.popleft()
        if not q:
            del self.by_clip[key]
        self.n -= 1
        return job

    def drain(self) -> list[_Job]:
        jobs = [j for q in self.by_clip.values() for j in q]
        self.by_clip.clear()
        self.n = 0
        return jobs

    def __len__(self) -> int:
        return self.n


class _Scheduler:
    """Hands jobs to engine workers: whole pairs first, shared pairs when it pays."""

    def __init__(self, jobs: list[_Job]) -> None:
        self.cond = threading.Condition()
        self.pairs: OrderedDict[Pair, _PairQueue] = OrderedDict()
        for job in jobs:
            self.pairs.setdefault(job.pair, _PairQueue()).push(job)
        self.on_pair: dict[Pair, set[int]] = {k: set() for k in self.pairs}
        self.touched: set[Pair] = set()
        self.cannot: dict[Pair, set[int]] = {k: set() for k in self.pairs}
        self.workers: dict[int, _Worker] = {}
        self.busy = 0
        self.cancelled = False
        self.synth_total = 0.0
        self.synth_n = 0
        self.load_total = 0.0
        self.load_n = 0

    def add_worker(self, w: _Worker) -> None:
        with self.cond:
            self.workers[w.index] = w

    def next(self, w: _Worker) -> _Job | None:
        """The worker's next job, or None when nothing is left for it (blocks meanwhile)."""
        with self.cond:
            while True:
                if self.cancelled or not w.alive:
                    return None
                pair = w.assigned
                if pair is None or not self.pairs.get(pair):
                    pair = self._choose(w)
                    if pair is not None and pair != w.assigned:
                        self._leave(w)
                        w.assigned = pair
                        w.clip = None  # a new pair starts from its first clip
                        self.on_pair[pair].add(w.index)
                        self.touched.add(pair)
                if pair is not None and self.pairs.get(pair):
                    busy = {self.workers[i].clip for i in self.on_pair[pair] if i != w.index}
                    job = self.pairs[pair].pop(w.clip, busy)
                    w.clip = job.clip_id
                    self.busy += 1
                    return job
                if self.busy == 0:
                    self._leave(w)
                    return None
                self.cond.wait()

    def _choose(self, w: _Worker) -> Pair | None:
        open_ = [k for k, q in self.pairs.items() if q and w.index not in self.cannot[k]]
        if not open_:
            return None
        if w.loaded in open_ and not self.on_pair[w.loaded]:
            return w.loaded
        fresh = [k for k in open_ if k not in self.touched]
        if fresh:
            return fresh[0]
        orphaned = [k for k in open_ if not self.on_pair[k]]
        if orphaned:
            return orphaned[0]
        best = max(open_, key=lambda k: len(self.pairs[k]) / len(self.on_pair[k]))
        left, sharing = len(self.pairs[best]), len(self.on_pair[best])
        if w.loaded == best:
            return best
        if not self.synth_n:
            return best if left > sharing else None
        synth = self.synth_total / self.synth_n
        load = self.load_total / self.load_n if self.load_n else 0.0
        # Join when the pair would otherwise take longer than a load plus one take.
        return best if left * synth / sharing > load + synth else None

    def _leave(self, w: _Worker) -> None:
        if w.assigned is not None:
            self.on_pair[w.assigned].discard(w.index)
            w.assigned = None

    def finished(self, job: _Job, *, requeue: bool = False, back: bool = False,
                 synth_s: float | None = None) -> None:
        with self.cond:
            self.busy -= 1
            if requeue:
                self.pairs[job.pair].push(job, front=not back)
            if synth_s is not None:
                self.synth_total += synth_s
                self.synth_n += 1
            self.cond.notify_all()

    def loaded(self, seconds: float) -> None:
        with self.cond:
            self.load_total += seconds
            self.load_n += 1

    def cannot_load(self, w: _Worker, pair: Pair) -> list[_Job]:
        """Record that ``w`` cannot load ``pair``; return the pair's jobs if nobody can."""
        with self.cond:
            self.cannot[pair].add(w.index)
            self._leave(w)
            w.loaded = None
            alive = {i for i, x in self.workers.items() if x.alive}
            jobs: list[_Job] = []
            if alive <= self.cannot[pair]:
                jobs = self.pairs[pair].drain()
            self.cond.notify_all()
            return jobs

    def worker_down(self, w: _Worker) -> None:
        with self.cond:
            w.alive = False
            self._leave(w)
            self.cond.notify_all()

    def cancel(self) -> None:
        with self.cond:
            self.cancelled = True
            self.cond.notify_all()

    def leftover(self) -> list[_Job]:
        with self.cond:
            return [j for q in self.pairs.values() for j in q.drain()]


# --- the run ----------------------------------------------------------------------------------


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
        >>> run = ws.tasks.run(task, FakeEngine(latency_s=0.01), background=True)
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
        retries: int,
        take_timeout: float | None,
        backoff_s: float,
        retry_failed: bool,
    ) -> None:
        self._ws = ws
        self.task = task
        self.id = uuid.uuid4().hex[:12]
        self.owner = f"{_HOST}:{os.getpid()}:{self.id}"
        self._engines = list(engines)
        self._on_event = on_event
        self.retries = retries
        self.take_timeout = take_timeout
        self.backoff_s = backoff_s
        self.retry_failed = retry_failed
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
        self._workers: list[_Worker] = []
        self._sched: _Scheduler | None = None
        self._saver_q: queue.Queue[_Outcome | None] = queue.Queue()
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
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> task = ws.tasks.create(r, "x", ["你好。"], clips=[c], repeats=20, engine="fake")
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
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> task = ws.tasks.create(r, "x", ["你好。"], clips=[c], repeats=3, engine="fake")
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
                self._emit("engine_down", engine=name, error=_reason(e))
                continue
            self._check_engine(name, caps)
            self._workers.append(_Worker(engine, name, caps, i))
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
        varied = self.task.spec.varied_names() & (set(VARIABLE_PARAMS) | {"aux"})
        ignored = caps.ignored(varied)
        if ignored:
            msg = (f"{name} ignores {', '.join(sorted(ignored))}, which this task varies, "
                   "so those takes would sound alike")
            if not self.task.spec.force:
                raise CapabilityError(
                    msg + f"; to run it anyway, ws.tasks.edit({self.task.id}, force=True) "
                    "(or create it with force=True / rasv task create --force)"
                )
            self._emit("warning", engine=name, error=msg)

    def _prepare(self) -> list[_Job]:
        """Recover, adopt and claim this task's takes in one transaction; build the jobs."""
        ws, tid = self._ws, self.task.id
        for attempt in range(5):
            try:
                return self._prepare_once(ws, tid)
            except duckdb.TransactionException:
                # Another run of this process claimed the same rows at the same moment.
                time.sleep(0.05 * (attempt + 1) * (1 + random.random()))
        return self._prepare_once(ws, tid)

    def _prepare_once(self, ws: Workspace, tid: int) -> list[_Job]:
        todo_states = {"pending", "cancelled"} | ({"failed"} if self.retry_failed else set())
        takes_dir = ws.root / TAKES_DIR
        with ws.store.transaction() as cur:
            rows = cur.execute(
                """
                SELECT k.id, k.status, k.run_owner, k.gpt_id, k.sovits_id, k.clip_id,
                       k.clip_sha256, k.aux_ids, k.text, k.text_lang, k.prompt_text,
                       k.prompt_lang, k.params, k.extra, tt.ord
                FROM task_takes tt JOIN takes k ON k.id = tt.take_id
                WHERE tt.task_id = ?
                ORDER BY tt.ord
                """,
                [tid],
            ).fetchall()
            total = len(rows)
            owners = {r[2] for r in rows if r[1] == "running"}
            live = live_owners(owners)
            todo, already = [], 0
            for r in rows:
                status, owner = r[1], r[2]
                if status in todo_states or (status == "running" and owner not in live):
                    todo.append(r)
                elif status == "done":
                    already += 1
            adopted = self._adopt(cur, [r for r in todo], takes_dir) if todo else set()
            todo = [r for r in todo if r[0] not in adopted]
            claim = [r[0] for r in todo]
            if claim:
                cur.execute(
                    "UPDATE takes SET status = 'running', run_owner = ?, error = NULL "
                    "WHERE list_contains(?, id)",
                    [self.owner, claim],
                )
            jobs = self._jobs(cur, todo)
        with self._lock:
            self._counts.update(total=total, todo=len(jobs), adopted=len(adopted),
                                already_done=already + len(adopted))
        return jobs

    def _adopt(self, cur: Any, rows: list[tuple], takes_dir: Path) -> set[str]:
        """Record takes whose WAV a crashed run wrote but never committed; remove the
        temporary files dead runs of this machine left behind."""
        try:
            present = {e.name for e in os.scandir(takes_dir)}
        except FileNotFoundError:
            return set()
        for name in present:
            m = _TMP_RE.match(name)
            if m and m.group(1) == _TMP_HOST and not _pid_alive(int(m.group(2))):
                with contextlib.suppress(OSError):
                    (takes_dir / name).unlink()
        found = []
        for r in rows:
            name = f"{r[0]}.wav"
            if name not in present:
                continue
            try:
                info = audio_io.info(takes_dir / name)
            except AudioError:
                continue  # unreadable: make it again (write_wav replaces it atomically)
            found.append((r[0], f"{TAKES_DIR}/{name}", info.duration_s, info.sample_rate))
        for take_id, rel, dur, sr in found:
            cur.execute(
                "UPDATE takes SET status = 'done', run_owner = NULL, error = NULL, "
                "audio_path = ?, duration_s = ?, sample_rate = ?, "
                "finished_at = coalesce(finished_at, current_timestamp) WHERE id = ?",
                [rel, dur, sr, take_id],
            )
        return {f[0] for f in found}

    def _jobs(self, cur: Any, rows: list[tuple]) -> list[_Job]:
        ws = self._ws
        clip_ids = sorted({r[5] for r in rows if r[5] is not None})
        clip_paths = dict(cur.execute(
            "SELECT id, path FROM clips WHERE list_contains(?, id)", [clip_ids]).fetchall())
        lost = sorted({r[6] for r in rows if r[5] not in clip_paths and r[6]})
        by_sha = dict(cur.execute(
            "SELECT sha256, any_value(path) FROM clips WHERE list_contains(?, sha256) "
            "GROUP BY sha256", [lost]).fetchall()) if lost else {}
        aux_ids = sorted({a for r in rows for a in json.loads(r[7] or "[]")})
        aux_paths = dict(cur.execute(
            "SELECT id, path FROM aux_clips WHERE list_contains(?, id)", [aux_ids]).fetchall())
        model_ids = sorted({m for r in rows for m in (r[3], r[4]) if m is not None})
        models = {m[0]: (m[1], m[2]) for m in cur.execute(
            "SELECT id, path, version FROM models WHERE list_contains(?, id)",
            [model_ids]).fetchall()}
        self._model_paths = {mid: Path(p) for mid, (p, _) in models.items()}
        jobs = []
        for (take_id, _s, _o, gpt, sovits, clip_id, clip_sha, aux_json, text, text_lang,
             prompt_text, prompt_lang, params_json, extra_json, ord_) in rows:
            problem = None
            rel = clip_paths.get(clip_id) or by_sha.get(clip_sha)
            aux = json.loads(aux_json or "[]")
            missing_aux = [a for a in aux if a not in aux_paths]
            if rel is None:
                problem = f"reference clip {clip_id} was deleted from the workspace"
            elif not ws.abspath(rel).is_file():
                problem = f"reference clip file is missing: {ws.abspath(rel)}"
            elif missing_aux:
                problem = f"aux clip(s) {', '.join(map(str, missing_aux))} were deleted"
            elif any(m is not None and m not in models for m in (gpt, sovits)):
                gone = [m for m in (gpt, sovits) if m is not None and m not in models]
                problem = f"model {gone[0]} was deleted from the workspace"
            request = None
            if problem is None:
                request = SynthesisRequest.from_params(
                    Params.from_dict(json.loads(params_json)),
                    text=text,
                    text_lang=text_lang,
                    ref_audio_path=str(ws.abspath(rel)),
                    prompt_text=prompt_text,
                    prompt_lang=prompt_lang,
                    aux_ref_audio_paths=[str(ws.abspath(aux_paths[a])) for a in aux],
                )
            caps = None
            if self.task.engine_kind == GSV_KIND and sovits in models:
                caps = capabilities_for_version(models[sovits][1])
            jobs.append(_Job(
                take_id=take_id, pair=(gpt, sovits), clip_id=clip_id, ord=ord_,
                request=request, problem=problem, caps=caps,
                extra=json.loads(extra_json) if extra_json else {},
            ))
        jobs.sort(key=lambda j: (_none_first(j.pair[0]), _none_first(j.pair[1]),
                                 _none_first(j.clip_id), j.ord))
        return jobs

    # -- running -----------------------------------------------------------------------------

    def _launch(self, jobs: list[_Job]) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.add(self.owner)
        self._sched = _Scheduler(jobs)
        if self._cancel.is_set():
            self._sched.cancel()
        saver = threading.Thread(target=self._save_loop, name=f"rasv-run-{self.id}-saver",
                                 daemon=True)
        saver.start()
        self._saver = saver
        self._emit("started")
        for w in self._workers:
            self._sched.add_worker(w)
        for w in self._workers:
            th = threading.Thread(target=self._work, args=(w,),
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
            with self._ws.store.transaction() as cur:
                cur.execute(
                    "UPDATE takes SET status = ?, run_owner = NULL "
                    "WHERE run_owner = ? AND status = 'running'",
                    [status, self.owner],
                )
        except RasvError as e:
            # The rows stay 'running' under our owner; the next run recovers them.
            self.error = self.error or e
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self.owner)
        if left and self.error is None and not self._cancel.is_set():
            downs = [e.error for e in self.events if e.kind == "engine_down"]
            self.error = EngineUnavailable(
                f"every engine stopped with {len(left)} take(s) left to make "
                f"(last reason: {downs[-1] if downs else 'unknown'}); they stay pending"
            )
        self._t_end = time.monotonic()
        self._emit("finished", error=_reason(self.error) if self.error else None)
        self._finished.set()

    def _work(self, w: _Worker) -> None:
        sched = self._sched
        assert sched is not None
        held: list[_Job] = []
        try:
            self._work_loop(w, sched, held)
        except Exception as e:  # a bug must not leave the run hanging: drop this engine
            self._emit("engine_down", engine=w.name, error=f"internal error: {_reason(e)}")
            for job in held:
                sched.finished(job, requeue=True)
            sched.worker_down(w)
        finally:
            if w.caller is not None:
                w.caller.close()

    def _work_loop(self, w: _Worker, sched: _Scheduler, held: list[_Job]) -> None:
        while True:
            held.clear()
            job = sched.next(w)
            if job is None:
                return
            held.append(job)
            if job.problem is not None or job.request is None:
                self._fail(w, job, job.problem or "the take cannot be sent", attempts=0)
                held.clear()
                sched.finished(job)
                continue
            if job.pair != w.loaded:
                state = self._load(w, job.pair)
                held.clear()
                if state == "down":
                    sched.finished(job, requeue=True)
                    sched.worker_down(w)
                    return
                if state != "ok":
                    sched.finished(job, requeue=True)
                    for doomed in sched.cannot_load(w, job.pair):
                        self._fail(w, doomed, state, attempts=0)
                    continue
                held.append(job)
            outcome = self._make(w, job)
            held.clear()
            if outcome == "unavailable":
                # "Unreachable" is also what a server too slow for one long take looks like,
                # so an engine is only dropped when two takes in a row find it so; a take
                # that two tries leave unanswered while engines keep working fails instead.
                w.strikes += 1
                job.unavailable += 1
                if w.strikes >= 2:
                    outcome = "down"
                elif job.unavailable >= 2:
                    self._fail(w, job, job.last_error, attempts=0)
                    sched.finished(job)
                    continue
                else:
                    sched.finished(job, requeue=True, back=True)
                    continue
            if outcome == "down":
                self._emit("engine_down", engine=w.name, error=job.last_error)
                sched.finished(job, requeue=True)
                sched.worker_down(w)
                return
            if outcome == "cancelled":
                sched.finished(job)
                return
            if isinstance(outcome, float):
                w.strikes = 0
            sched.finished(job, synth_s=outcome if isinstance(outcome, float) else None)

    def _load(self, w: _Worker, pair: Pair) -> str:
        """Load ``pair`` on ``w``: "ok", "down", or the reason the pair cannot load."""
        gpt, sovits = (None if m is None else self._model_paths[m] for m in pair)
        self._emit("loading", engine=w.name, pair=pair)
        attempt = 0
        while True:
            attempt += 1
            t0 = time.monotonic()
            try:
                w.engine.load(gpt, sovits)
            except Exception as e:
                w.loaded = None
                if _transient(e) and attempt <= self.retries and not self._cancel.is_set():
                    self._emit("take_retry", engine=w.name, pair=pair, attempt=attempt,
                               error=f"loading weights: {_reason(e)}")
                    if self._sleep_backoff(attempt):
                        continue
                    return "down"
                if isinstance(e, EngineUnavailable):
                    self._emit("engine_down", engine=w.name, pair=pair, error=_reason(e))
                    return "down"
                return f"loading weights failed on {w.name}: {_reason(e)}"
            seconds = time.monotonic() - t0
            w.loaded = pair
            self._sched.loaded(seconds)  # type: ignore[union-attr]
            self._count(loads=1)
            self._emit("loaded", engine=w.name, pair=pair)
            return "ok"

    def _make(self, w: _Worker, job: _Job) -> float | str | None:
        """Make one take. Returns its synthesis seconds, None (failed), "unavailable" (the
        engine stayed unreachable through every retry), "down" or "cancelled"."""
        req = job.request
        assert req is not None
        try:
            (job.caps or w.caps).check(req)
        except CapabilityError as e:
            self._fail(w, job, _reason(e), attempts=0)
            return None
        attempt = 0
        while True:
            attempt += 1
            started = datetime.now()
            self._count(running=1)
            self._emit("take_started", take_id=job.take_id, engine=w.name, attempt=attempt)
            t0 = time.monotonic()
            try:
                result = self._call(w, req)
                if not isinstance(result, Audio):
                    raise EngineError(f"engine returned {type(result).__name__}, not rasv.Audio")
                if result.samples.size == 0 or result.is_silent():
                    raise _SilentAudio("the engine returned silence")
            except Exception as e:
                self._count(running=-1)
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                job.last_error = f"{_reason(e)}{tries}"
                if isinstance(e, _EngineStuck):
                    job.attempts += attempt
                    return "down"
                transient = _transient(e)
                if transient and attempt <= self.retries and not self._cancel.is_set():
                    self._emit("take_retry", take_id=job.take_id, engine=w.name,
                               attempt=attempt, error=_reason(e))
                    if self._sleep_backoff(attempt):
                        continue
                    job.attempts += attempt
                    return "cancelled"
                if transient and isinstance(e, EngineUnavailable):
                    job.attempts += attempt
                    return "unavailable"
                self._fail(w, job, job.last_error, attempts=attempt, started=started)
                return None
            synth_s = time.monotonic() - t0
            self._count(running=-1)
            self._saver_q.put(_Outcome(
                job=job, ok=True, engine=w.name, attempts=job.attempts + attempt,
                started_at=started, finished_at=datetime.now(), synth_s=synth_s,
                audio=result, engine_version=w.caps.version,
            ))
            return synth_s

    def _call(self, w: _Worker, req: SynthesisRequest) -> Any:
        """``engine.synthesize(req)``, abandoned after ``take_timeout`` seconds."""
        if self.take_timeout is None:
            return w.engine.synthesize(req)
        if w.caller is None:
            w.caller = _Caller(w.engine, w.name)
        return w.caller.call(req, self.take_timeout)

    def _sleep_backoff(self, attempt: int) -> bool:
        """Sleep before retry ``attempt``; False if the run was cancelled meanwhile."""
        delay = min(self.backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S)
        delay *= 0.75 + 0.5 * random.random()
        return not self._cancel.wait(delay)

    def _fail(self, w: _Worker, job: _Job, error: str, *, attempts: int,
              started: datetime | None = None) -> None:
        now = datetime.now()
        self._saver_q.put(_Outcome(
            job=job, ok=False, engine=w.name, attempts=job.attempts + attempts,
            started_at=started or now, finished_at=now, error=error,
            engine_version=w.caps.version,
        ))

    # -- saving ------------------------------------------------------------------------------

    def _save_loop(self) -> None:
        stop = False
        while not stop:
            try:
                first = self._saver_q.get(timeout=_FLUSH_S)
            except queue.Empty:
                continue
            batch: list[_Outcome] = []
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

    def _save(self, batch: list[_Outcome]) -> None:
        takes_dir = self._ws.root / TAKES_DIR
        for o in batch:
            if not o.ok:
                continue
            try:
                audio_io.write_wav(takes_dir / f"{o.job.take_id}.wav", o.audio.samples,
                                   o.audio.sample_rate,
                                   tmp_prefix=f".tmp-rasv-{_TMP_HOST}-{os.getpid()}-")
            except (OSError, RuntimeError, ValueError) as e:
                o.ok, o.error = False, f"cannot write the take's audio: {e}"
        done = [o for o in batch if o.ok]
        failed = [o for o in batch if not o.ok]
        for attempt in range(3):
            try:
                self._commit(done, failed)
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

    def _commit(self, done: list[_Outcome], failed: list[_Outcome]) -> None:
        if not done and not failed:
            return
        rows = []
        for o in done + failed:
            extra = dict(o.job.extra)
            if o.engine_version:
                extra["engine_version"] = o.engine_version
            rows.append({
                "id": o.job.take_id,
                "status": "done" if o.ok else "failed",
                "error": None if o.ok else o.error,
                "audio_path": f"{TAKES_DIR}/{o.job.take_id}.wav" if o.ok else None,
                "duration_s": o.audio.duration_s if o.ok and o.audio is not None else None,
                "sample_rate": o.audio.sample_rate if o.ok and o.audio is not None else None,
                "engine": o.engine,
                "started_at": o.started_at,
                "finished_at": o.finished_at,
                "synth_s": o.synth_s,
                "attempts": o.attempts,
                "extra": json.dumps(extra, sort_keys=True),
            })
        cols = list(rows[0])
        values = ", ".join(["(" + ", ".join(["?"] * len(cols)) + ")"] * len(rows))
        params = [r[c] for r in rows for c in cols]
        with self._ws.store.transaction() as cur:
            # One statement per batch; the VALUES list is typed by its first row, so cast.
            cur.execute(
                f"""
                UPDATE takes SET status = b.status, error = b.error::VARCHAR,
                    audio_path = coalesce(b.audio_path::VARCHAR, takes.audio_path),
                    duration_s = coalesce(b.duration_s::DOUBLE, takes.duration_s),
                    sample_rate = coalesce(b.sample_rate::INTEGER, takes.sample_rate),
                    engine = b.engine, started_at = b.started_at::TIMESTAMP,
                    finished_at = b.finished_at::TIMESTAMP, synth_s = b.synth_s::DOUBLE,
                    attempts = takes.attempts + b.attempts::INTEGER, extra = b.extra,
                    run_owner = NULL
                FROM (VALUES {values}) AS b({", ".join(cols)})
                WHERE takes.id = b.id AND takes.run_owner = ?
                """,
                [*params, self.owner],
            )


class _SilentAudio(EngineError):
    """All-zero audio: GPT-SoVITS answers some inference errors with silence."""

    transient = True


class _EngineStuck(EngineError):
    """An engine still busy with a request the runner gave up on."""


def _transient(e: BaseException) -> bool:
    return bool(getattr(e, "transient", False))


def _reason(e: BaseException | None) -> str:
    if e is None:
        return ""
    text = str(e).strip()
    if isinstance(e, RasvError):
        return text or type(e).__name__
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _none_first(x: int | None) -> tuple[int, int]:
    return (0, 0) if x is None else (1, x)


def start_run(
    ws: Workspace,
    task: Task,
    engines: Any,
    *,
    background: bool = False,
    on_event: Callable[[RunEvent], None] | None = None,
    retries: int = 3,
    take_timeout: float | None = 600.0,
    backoff_s: float = 1.0,
    retry_failed: bool = False,
) -> Run:
    """Validate, claim and start a run (see :meth:`rasv.tasks.namespace.Tasks.run`).

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import FakeEngine, make_clip
        >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
        >>> clip = ws.clips.add(role, make_clip(ws.root / "r.wav", 4.0), text="参考。")
        >>> task = ws.tasks.create(role, "x", ["你好。"], clips=[clip], engine="fake")
        >>> start_run(ws, task, FakeEngine()).progress.done
        1
    """
    if engines is None:
        raise InvalidInput("give an engine (or a list of engines) to run the task with")
    engines = list(engines) if isinstance(engines, (list, tuple)) else [engines]
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
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInput(f"retries must be a whole number >= 0, got {retries!r}")
    if take_timeout is not None and not take_timeout > 0:
        raise InvalidInput(f"take_timeout must be positive or None, got {take_timeout!r}")
    if backoff_s < 0:
        raise InvalidInput(f"backoff_s must be >= 0, got {backoff_s!r}")
    names = [str(getattr(e, "name", "")) for e in engines]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise InvalidInput(
            f"two engines are named {twice[0]!r} (the same server twice?); a server takes one "
            "request at a time, so give each server once"
        )

    run = Run(ws, task, engines, on_event=on_event, retries=retries,
              take_timeout=take_timeout, backoff_s=backoff_s, retry_failed=retry_failed)
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


__all__ = [
    "EVENT_KINDS",
    "Progress",
    "Run",
    "RunEvent",
    "live_owners",
    "owner_alive",
    "start_run",
]
