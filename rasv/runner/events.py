"""What a run reports: its progress and its events, for progress bars and panels.

Example:
    >>> p = Progress(total=3, todo=2, done=1)
    >>> RunEvent("take_done", 0.0, take_id="ab", progress=p).progress.remaining
    1
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rasv.runner.scheduler import Pair

#: Event kinds, in the order a take meets them.
EVENT_KINDS: tuple[str, ...] = (
    "started", "loading", "loaded", "take_started", "take_retry", "take_done", "take_failed",
    "engine_down", "warning", "cancelling", "finished",
)


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


__all__ = ["EVENT_KINDS", "Progress", "RunEvent"]
