"""Schedule synthesis jobs over a pool of engines: one job in flight per engine, few switches.

Each engine gets a worker thread that takes one job at a time from a shared queue. A free
engine takes, in this order:

1. the oldest job that has waited longer than ``max_wait_s``, unless an engine that has its
   checkpoints loaded will take it next (nobody starves, nobody switches for nothing);
2. the oldest job whose checkpoints it already has loaded (no switch);
3. the oldest job whose checkpoints no other live engine has loaded (one switch, which a
   SoVITS switch follows with a fresh reference, as :class:`gsv_bridge.GsvApiV2` does),
   unless another free engine has less waiting work on its loaded pair: that one switches;
4. a job of a pair other engines hold, only when so many of them wait that sharing them
   saves more time than two switches cost (running averages of both are kept).

An engine that cannot be reached (:class:`~rasv.EngineUnavailable`) is taken out; its job
goes back to the front of the queue for another engine, and the engine is probed every
``probe_s`` seconds and comes back when it answers. Transient failures (a 5xx, GPT-SoVITS's
silent reply) are retried up to ``attempts`` times; permanent ones fail the job at once.

Example:
    >>> from rasv.testing import FakeEngine
    >>> from rasv import SynthesisRequest
    >>> sched = Scheduler([FakeEngine()]).start()
    >>> job = sched.submit([Job(SynthesisRequest(text="hi", text_lang="en",
    ...                         ref_audio_path="r.wav"), kind="fake")])[0]
    >>> job.wait(10).sample_rate > 0
    True
    >>> sched.stop()
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rasv.engine import Audio, Engine, SynthesisRequest, is_transient
from rasv.errors import (
    EngineError,
    EngineUnavailable,
    NoEngine,
    QueueFull,
    RasvError,
    TakeTimeout,
)

#: A pair of checkpoint paths; None in a job's pair means "whatever is loaded".
Pair = tuple[str | None, str | None]
_UNKNOWN: Pair = ("\0unknown", "\0unknown")


class Job:
    """One synthesis for an engine: the request, the checkpoints to load, the outcome.

    Args:
        request: the engine request (text, reference, every parameter).
        kind: the engine kind the voice was made with (only such engines take it).
        gpt, sovits: checkpoint paths to load first (None: keep what is loaded).
        timeout_s: seconds from submission before the job is given up.
    """

    def __init__(self, request: SynthesisRequest, *, kind: str, gpt: str | None = None,
                 sovits: str | None = None, timeout_s: float = 300.0) -> None:
        self.request = request
        self.kind = kind
        self.pair: Pair = (gpt, sovits)
        self.timeout_s = float(timeout_s)
        self.submitted = time.monotonic()
        self.deadline = self.submitted + self.timeout_s
        self.started: float | None = None
        self.finished: float | None = None
        self.engine: str | None = None
        self.attempts = 0
        self.switched = False
        self.audio: Audio | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def engine_s(self) -> float:
        """Seconds the last engine spent on the job (switch included)."""
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started

    def _finish(self, audio: Audio | None = None, error: BaseException | None = None) -> None:
        if self._done.is_set():
            return
        self.audio, self.error = audio, error
        self.finished = self.finished or time.monotonic()
        self._done.set()

    def wait(self, timeout: float | None = None) -> Audio:
        """Block until the job is done; return its audio or raise its error.

        Raises:
            TakeTimeout: not done within ``timeout`` (or the job's own deadline).
        """
        limit = max(0.0, self.deadline - time.monotonic()) if timeout is None else timeout
        if not self._done.wait(limit):
            self._finish(error=TakeTimeout(
                f"no engine finished the request within {self.timeout_s:g} s"))
        if self.error is not None:
            raise self.error
        assert self.audio is not None
        return self.audio


@dataclass
class Slot:
    """An engine of the pool and what the scheduler knows about it."""

    engine: Engine
    name: str
    kind: str
    pair: Pair = (None, None)
    busy: bool = False
    alive: bool = True
    served: int = 0
    switches: int = 0
    failures: int = 0
    last_error: str = ""
    job: Job | None = field(default=None, repr=False)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready view for ``/health``."""
        return {"name": self.name, "kind": self.kind, "alive": self.alive, "busy": self.busy,
                "loaded": {"gpt": _shown(self.pair[0]), "sovits": _shown(self.pair[1])},
                "served": self.served, "switches": self.switches, "failures": self.failures,
                "last_error": self.last_error}


def _shown(p: str | None) -> str | None:
    return None if p is None or p.startswith("\0") else p.replace("\\", "/").rsplit("/", 1)[-1]


def _fits(job: Pair, loaded: Pair) -> bool:
    return all(j is None or j == s for j, s in zip(job, loaded, strict=True))


class Scheduler:
    """Run jobs on a pool of engines (see the module docstring).

    Args:
        engines: the engines; each gets one worker thread and one job at a time.
        max_queue: jobs that may wait; :meth:`submit` raises :class:`QueueFull` beyond it.
        max_wait_s: a job waiting this long is taken by the next free engine of its kind.
        attempts: tries per job for transient failures (an engine going away included).
        probe_s: seconds between probes of an engine taken out.
    """

    def __init__(self, engines: Sequence[Engine], *, max_queue: int = 64,
                 max_wait_s: float = 10.0, attempts: int = 3, probe_s: float = 2.0) -> None:
        if not engines:
            raise NoEngine("serving needs at least one engine")
        self.slots = [Slot(e, str(getattr(e, "name", repr(e))), _kind(e)) for e in engines]
        self.max_queue = int(max_queue)
        self.max_wait_s = float(max_wait_s)
        self.attempts = int(attempts)
        self.probe_s = float(probe_s)
        self._queue: list[Job] = []
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        # Running averages of a job's and a switch's seconds (the stealing rule weighs them).
        self._job_s = 1.0
        self._switch_s = 1.0

    # -- life --------------------------------------------------------------------------------

    def start(self) -> Scheduler:
        """Start one worker thread per engine."""
        for slot in self.slots:
            t = threading.Thread(target=self._work, args=(slot,), daemon=True,
                                 name=f"rasv-api-{slot.name}")
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers; jobs still waiting fail."""
        with self._cond:
            self._stopping = True
            waiting, self._queue = self._queue, []
            self._cond.notify_all()
        for job in waiting:
            job._finish(error=EngineUnavailable("the API server is shutting down"))
        for t in self._threads:
            t.join(timeout)

    # -- submitting --------------------------------------------------------------------------

    def kinds(self) -> set[str]:
        """Engine kinds in the pool."""
        return {s.kind for s in self.slots}

    def submit(self, jobs: Sequence[Job], *, wake: bool = True) -> list[Job]:
        """Queue the jobs of one request (all or none).

        ``wake=False`` leaves the workers asleep: the caller will try :meth:`run_here` first
        and then :meth:`wake` them.

        Raises:
            QueueFull: more than ``max_queue`` jobs would wait.
            NoEngine: no engine of a job's kind is in the pool.
        """
        kinds = self.kinds()
        for job in jobs:
            if job.kind not in kinds:
                raise NoEngine(f"this voice was made with a {job.kind!r} engine and the server "
                               f"has none (it has: {', '.join(sorted(kinds))})")
        with self._cond:
            if len(self._queue) + len(jobs) > self.max_queue and self._queue:
                raise QueueFull(self._retry_after())
            self._queue.extend(jobs)
            if wake:
                self._cond.notify_all()
        return list(jobs)

    def wake(self) -> None:
        """Let the workers look at the queue."""
        with self._cond:
            self._cond.notify_all()

    def run_here(self, job: Job) -> bool:
        """Run a queued job on the calling thread if a free engine would take it now.

        The engine is claimed exactly as its worker would claim it (same choice, one job in
        flight), only without handing the job to another thread and back: under load each
        hand-off costs a scheduler wake-up, which is most of what serving adds to a request.
        Returns False when no free engine takes the job (a worker will).
        """
        with self._cond:
            if job not in self._queue:
                return False
            for slot in self.slots:
                if slot.alive and not slot.busy and self._pick(slot) is job:
                    self._claim(slot, job)
                    break
            else:
                return False
        self._run_claimed(slot, job)
        return True

    def cancel(self, jobs: Sequence[Job]) -> None:
        """Drop jobs still waiting (their client went away or gave up)."""
        with self._cond:
            self._queue = [j for j in self._queue if j not in jobs]

    def _retry_after(self) -> float:
        busy = [s for s in self.slots if s.alive] or self.slots
        spent = [s.job.engine_s for s in busy if s.job is not None and s.job.finished]
        per_job = max(spent) if spent else 1.0
        return max(1.0, round(per_job * len(self._queue) / max(len(busy), 1)))

    # -- state -------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Engines, their loaded pairs and the queue (JSON-ready)."""
        with self._cond:
            return {"engines": [s.describe() for s in self.slots], "queue": len(self._queue),
                    "max_queue": self.max_queue,
                    "alive": sum(s.alive for s in self.slots)}

    # -- workers -----------------------------------------------------------------------------

    def _pick(self, slot: Slot) -> Job | None:
        now = time.monotonic()
        mine: list[Job] = []
        for job in list(self._queue):
            if now > job.deadline:
                self._queue.remove(job)
                job._finish(error=TakeTimeout(
                    f"no engine was free for {job.timeout_s:g} s; the server is overloaded"))
            elif job.kind == slot.kind:
                mine.append(job)
        if not mine:
            return None
        others = [s for s in self.slots if s is not slot and s.alive and s.kind == slot.kind]
        for job in mine:
            # A job that waited too long goes first, unless an engine holding its pair
            # will take it next anyway (taking it here would be a needless switch).
            if now - job.submitted <= self.max_wait_s:
                break
            if _fits(job.pair, slot.pair) or not any(_fits(job.pair, s.pair) for s in others):
                return job
        for job in mine:
            if _fits(job.pair, slot.pair):
                return job
        # A switch is next. The free engine whose loaded pair has the fewest waiting jobs
        # switches (an empty one first); the others leave the job to it.
        def demand(s: Slot) -> tuple[int, bool, int]:
            empty = s.pair in ((None, None), _UNKNOWN)
            return sum(_fits(j.pair, s.pair) for j in mine), not empty, self.slots.index(s)

        if any(demand(s) < demand(slot) for s in others if not s.busy):
            return None
        for job in mine:
            if not any(_fits(job.pair, s.pair) for s in others):
                return job
        # Every waiting job's pair is loaded elsewhere. Joining in costs a switch now and
        # likely one back later; it pays only when the queue of that pair is long enough.
        for job in mine:
            holders = sum(_fits(job.pair, s.pair) for s in others)
            waiting = sum(1 for j in mine if j.pair == job.pair)
            if waiting * self._job_s / (holders * (holders + 1)) > 2 * self._switch_s:
                return job
        return None

    def _work(self, slot: Slot) -> None:
        while True:
            with self._cond:
                job = None
                while not self._stopping:
                    if slot.alive and not slot.busy:
                        job = self._pick(slot)
                        if job is not None:
                            break
                        self._cond.wait()
                    elif slot.busy:
                        self._cond.wait()
                    else:
                        break
                if self._stopping:
                    return
                if job is not None:
                    self._claim(slot, job)
            if job is None:
                self._probe(slot)
                continue
            self._run_claimed(slot, job)

    def _claim(self, slot: Slot, job: Job) -> None:
        """Take ``job`` off the queue for ``slot`` (under ``_cond``): one job in flight on it."""
        self._queue.remove(job)
        slot.busy, slot.job = True, job

    def _run_claimed(self, slot: Slot, job: Job) -> None:
        """Run a job :meth:`_claim` gave ``slot``, then free the slot and wake the workers."""
        try:
            self._run(slot, job)
        finally:
            with self._cond:
                slot.busy = False
                self._cond.notify_all()

    def _run(self, slot: Slot, job: Job) -> None:
        job.attempts += 1
        job.engine = slot.name
        job.started = time.monotonic()
        job.finished = None
        try:
            if not _fits(job.pair, slot.pair):
                before = slot.pair
                slot.pair = _UNKNOWN  # a failed switch leaves the engine's state unknown
                t = time.monotonic()
                slot.engine.load(job.pair[0], job.pair[1])
                self._switch_s += 0.2 * (time.monotonic() - t - self._switch_s)
                slot.pair = tuple(j if j is not None else s  # type: ignore[assignment]
                                  for j, s in zip(job.pair, before, strict=True))
                slot.switches += 1
                job.switched = True
            t = time.monotonic()
            audio = slot.engine.synthesize(job.request)
            self._job_s += 0.2 * (time.monotonic() - t - self._job_s)
        except Exception as e:  # the engine's failure decides: retry, take out, or fail
            job.finished = time.monotonic()
            self._failed(slot, job, e)
            return
        job.finished = time.monotonic()
        slot.served += 1
        job._finish(audio=audio)

    def _failed(self, slot: Slot, job: Job, e: Exception) -> None:
        slot.failures += 1
        slot.last_error = f"{type(e).__name__}: {e}"[:300]
        gone = isinstance(e, (EngineUnavailable, ConnectionError))
        if gone:
            with self._cond:
                slot.alive = False
        retry = is_transient(e) and job.attempts < self.attempts and \
            time.monotonic() < job.deadline
        if retry:
            with self._cond:
                self._queue.insert(0, job)
                self._cond.notify_all()
            return
        if not isinstance(e, (EngineError, RasvError)):
            e = EngineError(f"{slot.name} failed: {type(e).__name__}: {e}")
        job._finish(error=e)

    def _probe(self, slot: Slot) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._stopping, timeout=self.probe_s)
            if self._stopping:
                return
        try:
            probe = getattr(slot.engine, "server_info", None)
            if callable(probe):
                probe(refresh=True)
            else:
                slot.engine.capabilities()
        except Exception as e:  # still gone; try again after the next interval
            slot.last_error = f"{type(e).__name__}: {e}"[:300]
            return
        with self._cond:
            slot.alive = True
            self._cond.notify_all()


def _kind(engine: Engine) -> str:
    kind = getattr(engine, "kind", None)
    return str(kind) if kind else engine.capabilities().kind


@contextlib.contextmanager
def running(engines: Sequence[Engine], **kwargs: Any) -> Iterator[Scheduler]:
    """A started :class:`Scheduler`, stopped on exit.

    Example:
        >>> from rasv.testing import FakeEngine
        >>> with running([FakeEngine(), FakeEngine()]) as s:
        ...     s.health()["alive"]
        2
    """
    sched = Scheduler(engines, **kwargs).start()
    try:
        yield sched
    finally:
        sched.stop()


__all__ = ["Job", "Pair", "Scheduler", "Slot", "running"]
