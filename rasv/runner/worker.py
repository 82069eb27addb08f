"""One engine's thread: take jobs from the scheduler, load pairs, make takes, hand results on.

A :class:`Worker` drives one engine; the :class:`Crew` is what the workers of one run share
(the scheduler behind its lock, the run's event and progress hooks, the saver's queue, the
cancel flag and the retry settings). Decisions (which take next, whether to retry, when to
drop an engine) are the pure :mod:`~rasv.runner.scheduler`'s; this module carries them out.

Example:
    >>> import threading
    >>> from rasv.runner.scheduler import Job, Scheduler
    >>> from rasv.testing import FakeEngine
    >>> eng = FakeEngine()
    >>> crew = Crew(SharedScheduler(Scheduler([], engines=[0])), emit=lambda kind, **kw: None,
    ...             count=lambda **kw: None, save=print, cancel=threading.Event(), retries=0,
    ...             take_timeout=None, backoff_s=0.0, model_paths={})
    >>> Worker(eng, "fake", eng.capabilities(), 0, crew).work()  # nothing to do
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rasv.engine import Audio, Capabilities, SynthesisRequest
from rasv.errors import CapabilityError, EngineError, EngineGone, EngineUnavailable
from rasv.runner.caller import Caller, EngineStuck, SilentAudio, is_transient, reason
from rasv.runner.persist import Outcome
from rasv.runner.scheduler import (
    WAIT,
    Job,
    Pair,
    Scheduler,
    backoff_delay,
    should_retry,
    unreachable_verdict,
)


class SharedScheduler:
    """The scheduler behind one lock, for the worker threads: ``next`` blocks on ``WAIT``."""

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.cond = threading.Condition()

    def next(self, engine: int) -> Job | None:
        """``engine``'s next job, waiting while others may hand work back; None when done."""
        with self.cond:
            while True:
                job = self.sched.next(engine)
                if job is not WAIT:
                    return job
                self.cond.wait()

    def _do(self, method: str, *args: Any, **kw: Any) -> Any:
        """Call the scheduler under the lock and wake the waiting workers (work may be back)."""
        with self.cond:
            out = getattr(self.sched, method)(*args, **kw)
            self.cond.notify_all()
            return out

    def _quiet(self, method: str, *args: Any, **kw: Any) -> Any:
        """Call the scheduler under the lock; nothing a waiting worker could use changes."""
        with self.cond:
            return getattr(self.sched, method)(*args, **kw)

    def finished(self, job: Job, *, requeue: bool = False, back: bool = False,
                 synth_s: float | None = None) -> None:
        """A job handed out is over (see :meth:`Scheduler.finished`)."""
        self._do("finished", job, requeue=requeue, back=back, synth_s=synth_s)

    def loaded_pair(self, engine: int) -> Pair | None:
        """The pair ``engine`` holds."""
        return self._quiet("loaded_pair", engine)

    def loaded(self, engine: int, pair: Pair, seconds: float) -> None:
        """``engine`` now holds ``pair``; loading it took ``seconds``."""
        self._quiet("loaded", engine, pair, seconds)

    def unload(self, engine: int) -> None:
        """``engine`` holds no pair any more."""
        self._quiet("unload", engine)

    def cannot_load(self, engine: int, pair: Pair) -> list[Job]:
        """``engine`` cannot load ``pair``; the pair's jobs if no engine can."""
        return self._do("cannot_load", engine, pair)

    def engine_down(self, engine: int) -> None:
        """``engine`` is gone; its pair is open to the others."""
        self._do("engine_down", engine)

    def cancel(self) -> None:
        """Hand out nothing more."""
        self._do("cancel")

    def leftover(self) -> list[Job]:
        """Remove and return the jobs never handed out."""
        return self._quiet("leftover")


@dataclass(frozen=True)
class Crew:
    """What the workers of one run share."""

    sched: SharedScheduler
    emit: Callable[..., None]  # emit(kind, **fields): a run event
    count: Callable[..., None]  # count(done=1, ...): progress counters
    save: Callable[[Outcome], None]  # hand a finished take to the saver
    cancel: threading.Event
    retries: int
    take_timeout: float | None
    backoff_s: float
    model_paths: dict[int, Path]


class Worker:
    """Drives one engine through the takes the scheduler gives it."""

    def __init__(self, engine: Any, name: str, caps: Capabilities, index: int,
                 crew: Crew | None = None) -> None:
        self.engine = engine
        self.name = name
        self.caps = caps
        self.index = index
        self.crew: Crew = crew  # type: ignore[assignment]  # set by the run before work()
        self.caller: Caller | None = None  # the thread that makes its requests (timeouts)
        self.strikes = 0  # takes in a row that found the engine unreachable

    def work(self) -> None:
        """Make takes until the scheduler has none left for this engine (the thread body)."""
        sched = self.crew.sched
        held: list[Job] = []
        try:
            self._loop(sched, held)
        except Exception as e:  # a bug must not leave the run hanging: drop this engine
            self.crew.emit("engine_down", engine=self.name, error=f"internal error: {reason(e)}")
            for job in held:
                sched.finished(job, requeue=True)
            sched.engine_down(self.index)
        finally:
            if self.caller is not None:
                self.caller.close()

    def _loop(self, sched: SharedScheduler, held: list[Job]) -> None:
        while True:
            held.clear()
            job = sched.next(self.index)
            if job is None:
                return
            held.append(job)
            if job.problem is not None or job.request is None:
                self._fail(job, job.problem or "the take cannot be sent", attempts=0)
                held.clear()
                sched.finished(job)
                continue
            if job.pair != sched.loaded_pair(self.index):
                state = self._load(job.pair)
                held.clear()
                if state == "down":
                    sched.finished(job, requeue=True)
                    sched.engine_down(self.index)
                    return
                if state != "ok":
                    sched.finished(job, requeue=True)
                    for doomed in sched.cannot_load(self.index, job.pair):
                        self._fail(doomed, state, attempts=0)
                    continue
                held.append(job)
            outcome = self._make(job)
            held.clear()
            if outcome == "unavailable":
                # An engine is dropped only when two takes in a row find it unreachable
                # (a slow server looks the same); see unreachable_verdict.
                self.strikes += 1
                job.unavailable += 1
                verdict = unreachable_verdict(self.strikes, job.unavailable)
                if verdict == "down":
                    outcome = "down"
                elif verdict == "fail":
                    self._fail(job, job.last_error, attempts=0)
                    sched.finished(job)
                    continue
                else:
                    sched.finished(job, requeue=True, back=True)
                    continue
            if outcome == "down":
                self.crew.emit("engine_down", engine=self.name, error=job.last_error)
                sched.finished(job, requeue=True)
                sched.engine_down(self.index)
                return
            if outcome == "cancelled":
                sched.finished(job)
                return
            if isinstance(outcome, float):
                self.strikes = 0
            sched.finished(job, synth_s=outcome if isinstance(outcome, float) else None)

    def _load(self, pair: Pair) -> str:
        """Load ``pair`` on the engine: "ok", "down", or the reason the pair cannot load."""
        gpt, sovits = (None if m is None else self.crew.model_paths[m] for m in pair)
        self.crew.emit("loading", engine=self.name, pair=pair)
        attempt = 0
        while True:
            attempt += 1
            t0 = time.monotonic()
            try:
                self.engine.load(gpt, sovits)
            except Exception as e:
                self.crew.sched.unload(self.index)
                if isinstance(e, EngineGone):
                    self.crew.emit("engine_down", engine=self.name, pair=pair, error=reason(e))
                    return "down"
                if should_retry(is_transient(e), attempt, self.crew.retries, self.crew.cancel.is_set()):
                    self.crew.emit("take_retry", engine=self.name, pair=pair, attempt=attempt,
                               error=f"loading weights: {reason(e)}")
                    if self._sleep_backoff(attempt):
                        continue
                    return "down"
                if isinstance(e, EngineUnavailable):
                    self.crew.emit("engine_down", engine=self.name, pair=pair, error=reason(e))
                    return "down"
                return f"loading weights failed on {self.name}: {reason(e)}"
            seconds = time.monotonic() - t0
            self.crew.sched.loaded(self.index, pair, seconds)
            self.crew.count(loads=1)
            self.crew.emit("loaded", engine=self.name, pair=pair)
            return "ok"

    def _make(self, job: Job) -> float | str | None:
        """Make one take. Returns its synthesis seconds, None (failed), "unavailable" (the
        engine stayed unreachable through every retry), "down" or "cancelled"."""
        req = job.request
        assert req is not None
        try:
            (job.caps or self.caps).check(req)
        except CapabilityError as e:
            self._fail(job, reason(e), attempts=0)
            return None
        attempt = 0
        while True:
            attempt += 1
            started = datetime.now()
            self.crew.count(running=1)
            self.crew.emit("take_started", take_id=job.take_id, engine=self.name, attempt=attempt)
            t0 = time.monotonic()
            try:
                result = self._call(req)
                if not isinstance(result, Audio):
                    raise EngineError(f"engine returned {type(result).__name__}, not rasv.Audio")
                if result.samples.size == 0 or result.is_silent():
                    raise SilentAudio("the engine returned silence")
            except Exception as e:
                self.crew.count(running=-1)
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                job.last_error = f"{reason(e)}{tries}"
                if isinstance(e, (EngineStuck, EngineGone)):
                    # Retrying an engine whose process is gone would only delay its take.
                    job.attempts += attempt
                    return "down"
                transient = is_transient(e)
                if should_retry(transient, attempt, self.crew.retries, self.crew.cancel.is_set()):
                    self.crew.emit("take_retry", take_id=job.take_id, engine=self.name,
                               attempt=attempt, error=reason(e))
                    if self._sleep_backoff(attempt):
                        continue
                    job.attempts += attempt
                    return "cancelled"
                if transient and isinstance(e, EngineUnavailable):
                    job.attempts += attempt
                    return "unavailable"
                if isinstance(e, EngineUnavailable):  # NotAnEngine: the URL, not the take
                    job.attempts += attempt
                    return "down"
                self._fail(job, job.last_error, attempts=attempt, started=started)
                return None
            synth_s = time.monotonic() - t0
            self.crew.count(running=-1)
            self.crew.save(Outcome(
                job=job, ok=True, engine=self.name, attempts=job.attempts + attempt,
                started_at=started, finished_at=datetime.now(), synth_s=synth_s,
                audio=result, engine_version=self.caps.version,
            ))
            return synth_s

    def _call(self, req: SynthesisRequest) -> Any:
        """``engine.synthesize(req)``, abandoned after ``take_timeout`` seconds."""
        if self.crew.take_timeout is None:
            return self.engine.synthesize(req)
        if self.caller is None:
            self.caller = Caller(self.engine, self.name)
        return self.caller.call(req, self.crew.take_timeout)

    def _sleep_backoff(self, attempt: int) -> bool:
        """Sleep before retry ``attempt``; False if the run was cancelled meanwhile."""
        return not self.crew.cancel.wait(backoff_delay(attempt, self.crew.backoff_s, random.random()))

    def _fail(self, job: Job, error: str, *, attempts: int,
              started: datetime | None = None) -> None:
        now = datetime.now()
        self.crew.save(Outcome(
            job=job, ok=False, engine=self.name, attempts=job.attempts + attempts,
            started_at=started or now, finished_at=now, error=error,
            engine_version=self.caps.version,
        ))



__all__ = ["Crew", "SharedScheduler", "Worker"]
