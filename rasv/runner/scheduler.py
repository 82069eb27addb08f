"""Which engine makes which pending take: pure decisions, no SQL, no threads, no engines.

Takes are grouped by (GPT, SoVITS) pair, then by clip. An idle engine keeps to its pair; when
the pair runs dry it takes a pair nobody has started (so with many pairs each engine works
through whole pairs and loads each once), and when none is left it joins the pair with the
most work per engine if that beats the cost of loading it (so the usual single-pair clip
comparison still uses every server). Inside a pair an engine keeps to one clip while it can,
which keeps GPT-SoVITS's reference cache warm. A take handed back (its engine died or could
not load the pair) goes back to its pair for the others.

:class:`Scheduler` holds that state and is driven by engine indices; the runner wraps it in
a lock and a condition (``WAIT`` tells a worker thread to block until something finishes).

Example:
    >>> jobs = [Job(f"t{i}", pair=(1, 2), clip_id=i % 2, ord=i) for i in range(4)]
    >>> s = Scheduler(sorted(jobs, key=job_order), engines=[0, 1])
    >>> a, b = s.next(0), s.next(1)
    >>> a.clip_id, b.clip_id  # both engines on the one pair, each on its own clip
    (0, 1)
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Pair = tuple[int | None, int | None]

#: ``Scheduler.next``'s answer when an engine has nothing to do yet, but a take in flight
#: elsewhere may still be handed back.
WAIT: Any = object()

#: The longest pause between two retries of one request, in seconds.
MAX_BACKOFF_S = 30.0


@dataclass
class Job:
    """A pending take as the runner makes it (mutable: attempts and errors accumulate)."""

    take_id: str
    pair: Pair
    clip_id: int | None
    ord: int
    request: Any = None  # the SynthesisRequest; None when the take cannot be sent
    problem: str | None = None  # why it cannot be sent
    caps: Any = None  # model-version Capabilities (GPT-SoVITS) to pre-check with
    extra: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    unavailable: int = 0  # times an engine stayed unreachable through all retries of it
    last_error: str = ""


def _none_first(x: int | None) -> tuple[int, int]:
    return (0, 0) if x is None else (1, x)


def job_order(job: Job) -> tuple:
    """Sort key of the plan: by pair, then clip (no model or clip first), then plan order.

    Example:
        >>> jobs = [Job("b", (2, 1), 1, 0), Job("a", (1, 2), 5, 1), Job("c", (None, None), 1, 2)]
        >>> [j.take_id for j in sorted(jobs, key=job_order)]
        ['c', 'a', 'b']
    """
    return (_none_first(job.pair[0]), _none_first(job.pair[1]), _none_first(job.clip_id),
            job.ord)


def backoff_delay(attempt: int, base_s: float, jitter: float) -> float:
    """Seconds to wait before retry ``attempt``: doubling from ``base_s``, capped, jittered.

    ``jitter`` in [0, 1) spreads the wait over 0.75–1.25 of the nominal delay, so engines
    that failed together do not retry together.

    Example:
        >>> backoff_delay(1, 1.0, 0.5), backoff_delay(3, 1.0, 0.5), backoff_delay(9, 1.0, 0.5)
        (1.0, 4.0, 30.0)
    """
    return min(base_s * 2 ** (attempt - 1), MAX_BACKOFF_S) * (0.75 + 0.5 * jitter)


def should_retry(transient: bool, attempt: int, retries: int, cancelled: bool) -> bool:
    """Whether a request that just failed (attempt ``attempt``) is tried again.

    Example:
        >>> should_retry(True, 3, 3, False), should_retry(True, 4, 3, False)
        (True, False)
        >>> should_retry(False, 1, 3, False), should_retry(True, 1, 3, True)
        (False, False)
    """
    return transient and attempt <= retries and not cancelled


def unreachable_verdict(strikes: int, take_tries: int) -> str:
    """What follows an engine staying unreachable through every retry of one take.

    ``strikes``: takes in a row this engine found unreachable (this one included);
    ``take_tries``: engines this take found unreachable so far (this one included).
    "Unreachable" is also what a server too slow for one long take looks like, so an engine
    is only dropped (``"down"``) when two takes in a row find it so; a take that two tries
    leave unanswered while engines keep working fails (``"fail"``); otherwise the take goes to
    the back of its pair (``"requeue"``).

    Example:
        >>> unreachable_verdict(1, 1), unreachable_verdict(1, 2), unreachable_verdict(2, 1)
        ('requeue', 'fail', 'down')
    """
    if strikes >= 2:
        return "down"
    if take_tries >= 2:
        return "fail"
    return "requeue"


class PairQueue:
    """A pair's jobs, grouped by clip in plan order."""

    def __init__(self) -> None:
        self.by_clip: OrderedDict[int | None, deque[Job]] = OrderedDict()
        self.n = 0

    def push(self, job: Job, front: bool = False) -> None:
        """Add ``job`` at the end of its clip (or, ``front``, back at the start)."""
        q = self.by_clip.setdefault(job.clip_id, deque())
        if front:
            q.appendleft(job)
            self.by_clip.move_to_end(job.clip_id, last=False)
        else:
            q.append(job)
        self.n += 1

    def pop(self, prefer: int | None, busy_clips: set[int | None]) -> Job:
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

    def drain(self) -> list[Job]:
        """Remove and return every job."""
        jobs = [j for q in self.by_clip.values() for j in q]
        self.by_clip.clear()
        self.n = 0
        return jobs

    def __len__(self) -> int:
        return self.n


@dataclass
class Seat:
    """What the scheduler knows of one engine."""

    index: int
    assigned: Pair | None = None  # the pair the scheduler gave it
    loaded: Pair | None = None  # the pair its engine holds
    clip: int | None = None  # the clip it last worked on
    alive: bool = True


class Scheduler:
    """Hands jobs to engines: whole pairs first, shared pairs when it pays.

    Not thread-safe: the runner calls it under one lock.
    """

    def __init__(self, jobs: Iterable[Job], engines: Iterable[int]) -> None:
        self.pairs: OrderedDict[Pair, PairQueue] = OrderedDict()
        for job in jobs:
            self.pairs.setdefault(job.pair, PairQueue()).push(job)
        self.on_pair: dict[Pair, set[int]] = {k: set() for k in self.pairs}
        self.touched: set[Pair] = set()
        self.cannot: dict[Pair, set[int]] = {k: set() for k in self.pairs}
        self.seats: dict[int, Seat] = {i: Seat(i) for i in engines}
        self.busy = 0
        self.cancelled = False
        self.synth_total = 0.0
        self.synth_n = 0
        self.load_total = 0.0
        self.load_n = 0

    def loaded_pair(self, engine: int) -> Pair | None:
        """The pair ``engine`` holds (None before its first load or after a failed one)."""
        return self.seats[engine].loaded

    def next(self, engine: int) -> Job | None:
        """``engine``'s next job; ``WAIT`` while others may hand work back; None when done."""
        w = self.seats[engine]
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
            busy = {self.seats[i].clip for i in self.on_pair[pair] if i != w.index}
            job = self.pairs[pair].pop(w.clip, busy)
            w.clip = job.clip_id
            self.busy += 1
            return job
        if self.busy == 0:
            self._leave(w)
            return None
        return WAIT

    def _choose(self, w: Seat) -> Pair | None:
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

    def _leave(self, w: Seat) -> None:
        if w.assigned is not None:
            self.on_pair[w.assigned].discard(w.index)
            w.assigned = None

    def finished(self, job: Job, *, requeue: bool = False, back: bool = False,
                 synth_s: float | None = None) -> None:
        """A job handed out is over; ``requeue`` puts it back (at the front unless ``back``)."""
        self.busy -= 1
        if requeue:
            self.pairs[job.pair].push(job, front=not back)
        if synth_s is not None:
            self.synth_total += synth_s
            self.synth_n += 1

    def loaded(self, engine: int, pair: Pair, seconds: float) -> None:
        """``engine`` now holds ``pair``; loading it took ``seconds``."""
        self.seats[engine].loaded = pair
        self.load_total += seconds
        self.load_n += 1

    def unload(self, engine: int) -> None:
        """``engine`` holds no pair any more (a load failed half-way)."""
        self.seats[engine].loaded = None

    def cannot_load(self, engine: int, pair: Pair) -> list[Job]:
        """Record that ``engine`` cannot load ``pair``; return the pair's jobs if nobody can."""
        w = self.seats[engine]
        self.cannot[pair].add(w.index)
        self._leave(w)
        w.loaded = None
        alive = {i for i, x in self.seats.items() if x.alive}
        if alive <= self.cannot[pair]:
            return self.pairs[pair].drain()
        return []

    def engine_down(self, engine: int) -> None:
        """``engine`` is gone: it gets nothing more, and its pair is open to the others."""
        w = self.seats[engine]
        w.alive = False
        self._leave(w)

    def cancel(self) -> None:
        """Hand out nothing more."""
        self.cancelled = True

    def leftover(self) -> list[Job]:
        """Remove and return the jobs never handed out (or handed back)."""
        return [j for q in self.pairs.values() for j in q.drain()]


__all__ = [
    "MAX_BACKOFF_S",
    "WAIT",
    "Job",
    "Pair",
    "PairQueue",
    "Scheduler",
    "Seat",
    "backoff_delay",
    "job_order",
    "should_retry",
    "unreachable_verdict",
]
