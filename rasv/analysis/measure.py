"""What a detector returns, and the shape every detector has.

A detector looks at one take (a :class:`~rasv.analysis.take_signal.TakeSignal`) and returns
:class:`Measurement` values: a number under a metric name and, where it helps a listener, a
JSON-able ``detail`` (timestamps of bursts, pauses, repeated spans …). Its ``backend`` and
``version`` are stored with every value, so a changed detector recomputes and an unchanged one
is read from the cache.

Example:
    >>> m = Measurement("clipped_fraction", 0.0, {"runs": []})
    >>> m.name, m.value
    ('clipped_fraction', 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rasv.analysis.speech import resolve_vad
from rasv.analysis.take_signal import TakeSignal


@dataclass(frozen=True)
class Measurement:
    """One metric value of one take.

    Attributes:
        name: metric name (``lead_silence_s``, ``dnsmos_ovrl`` …).
        value: the number, or None when it does not apply (no speech found …).
        detail: JSON-able facts behind the number (timestamps in seconds …).

    Example:
        >>> Measurement("max_pause_s", 1.2, {"pauses": [[2.0, 3.2]]}).detail["pauses"]
        [[2.0, 3.2]]
    """

    name: str
    value: float | None
    detail: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # numpy scalars would leak into DataFrames and JSON; keep plain floats.
        if self.value is not None:
            v = float(self.value)
            object.__setattr__(self, "value", v if np.isfinite(v) else None)


@runtime_checkable
class Detector(Protocol):
    """A per-take detector.

    ``metrics`` lists every name :meth:`measure` returns (always all of them, ``value`` None
    where not applicable), so the cache can tell a complete result from a partial one.
    """

    name: str
    backend: str
    version: str
    metrics: tuple[str, ...]

    def measure(self, sig: TakeSignal) -> list[Measurement]: ...


class SpeechDetector:
    """Base of the detectors that read speech segments: the VAD they use, named in ``backend``.

    ``backend`` is ``method`` joined to the VAD's name (``dsp+energy``), or the VAD's name
    alone when ``method`` is empty, so a cached metric says which VAD found the speech.

    Example:
        >>> class Tail(SpeechDetector):
        ...     method = "dsp"
        >>> Tail(vad="energy").backend, SpeechDetector(vad="energy").backend
        ('dsp+energy', 'energy')
    """

    method = ""

    def __init__(self, *, vad: str = "auto") -> None:
        self.vad = resolve_vad(vad)
        self.backend = f"{self.method}+{self.vad}" if self.method else self.vad


def as_signal(samples: np.ndarray | TakeSignal, sample_rate: int | None = None,
              **kwargs: Any) -> TakeSignal:
    """Accept either a :class:`TakeSignal` or an array plus its rate.

    Example:
        >>> import numpy as np
        >>> as_signal(np.zeros(800, dtype="float32"), 8000).duration_s
        0.1
    """
    if isinstance(samples, TakeSignal):
        return samples
    if sample_rate is None:
        raise TypeError("sample_rate is required with an array")
    return TakeSignal(samples, sample_rate, **kwargs)


def spans(times: list[float] | np.ndarray, limit: int = 4) -> str:
    """Format times for a reason: ``1.2 s, 2.8 s…`` (at most ``limit`` shown).

    Example:
        >>> spans([1.23, 2.8, 3.0], limit=2)
        '1.2 s, 2.8 s…'
    """
    shown = ", ".join(f"{t:.1f} s" for t in list(times)[:limit])
    return shown + ("…" if len(times) > limit else "")


__all__ = ["Detector", "Measurement", "SpeechDetector", "as_signal", "spans"]
