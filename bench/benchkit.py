"""What the benchmark scripts share (they import it by name: ``bench/`` is their folder)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """Best of ``repeat`` runs of ``fn`` in seconds, and the last run's result.

    Example:
        >>> seconds, out = timed(lambda: sum(range(1000)), repeat=3)
        >>> seconds >= 0.0, out
        (True, 499500)
    """
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out  # type: ignore[return-value]
