"""Clipping: flat tops where the waveform hit a ceiling.

Measured on the take's original samples. A run of at least three equal samples within 2 % of
the take's peak is a clipped run; speech that merely peaks high has no such runs. Resampling
after the clipping smears flat tops into ripples, so a second measure does not need them:
the share of samples within 10 % of the take's loud level (its 99.9th-percentile magnitude),
which stays under 0.5 % for speech and reaches several percent when the waveform was
pressed against a ceiling.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> x = make_voice(1.0, 16000)
    >>> clipping(x, 16000)["clipped_fraction"]
    0.0
    >>> clipping(np.clip(x * 6, -1, 1), 16000)["clipped_fraction"] > 0.01
    True
"""

from __future__ import annotations

import numpy as np

from rasv.analysis.measure import Measurement, as_signal, spans
from rasv.analysis.take_signal import TakeSignal

#: Shortest flat run counted, in samples.
MIN_RUN = 3
#: A flat run must sit this close to the peak (fraction of the peak).
NEAR_PEAK = 0.98
#: Takes quieter than this peak cannot be clipped at a ceiling worth reporting.
MIN_PEAK = 0.25


def plateau_fraction(x: np.ndarray) -> float:
    """Share of samples within 10 % of the 99.9th-percentile magnitude.

    Example:
        >>> import numpy as np
        >>> sine = np.sin(np.linspace(0, 200 * np.pi, 16000))
        >>> round(plateau_fraction(sine), 2), round(plateau_fraction(np.clip(3 * sine, -1, 1)), 2)
        (0.29, 0.81)
    """
    a = np.abs(np.asarray(x, dtype=np.float32))
    loud = float(np.percentile(a, 99.9)) if a.size else 0.0
    if loud <= 1e-4:
        return 0.0
    return float(np.mean(a >= 0.9 * loud))


def clipped_runs(x: np.ndarray, min_run: int = MIN_RUN) -> list[tuple[int, int]]:
    """``(start, length)`` of flat runs near the peak, in samples.

    Example:
        >>> import numpy as np
        >>> clipped_runs(np.array([0, .5, 1, 1, 1, 1, .5, 0, -1, -1, -1, 0], dtype="float32"))
        [(2, 4), (8, 3)]
    """
    a = np.abs(np.asarray(x, dtype=np.float32))
    peak = float(a.max()) if a.size else 0.0
    if peak < MIN_PEAK:
        return []
    high = a >= NEAR_PEAK * peak
    flat = np.zeros_like(high)
    flat[1:] = np.abs(np.diff(x)) <= 1e-6 * max(peak, 1e-9) + 1e-7
    # A sample belongs to a flat run when it is high and equal to its predecessor (or the
    # next sample is equal to it): mark pairs, then collect runs.
    pair = high[1:] & high[:-1] & flat[1:]
    member = np.zeros_like(high)
    member[1:] |= pair
    member[:-1] |= pair
    edges = np.flatnonzero(np.diff(np.concatenate([[0], member.astype(np.int8), [0]])))
    return [(int(s), int(e - s)) for s, e in zip(edges[::2], edges[1::2], strict=True)
            if e - s >= min_run]


class Clipping:
    """Share of samples in clipped runs (``clipped_fraction``), share pressed against the loud
    level (``plateau_fraction``) and the peak (``peak_dbfs``).

    The detail of ``clipped_fraction`` lists the clipped places (runs closer than 50 ms
    merged) as start times in seconds, and the ceiling.
    """

    name = "clipping"
    backend = "numpy"
    version = "2"
    metrics = ("clipped_fraction", "plateau_fraction", "peak_dbfs")

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        x = sig.original
        sr = sig.original_rate
        peak = float(np.abs(x).max())
        runs = clipped_runs(x)
        n = sum(length for _, length in runs)
        places: list[float] = []
        last_end = -1e9
        for start, length in runs:
            if start - last_end > 0.05 * sr:
                places.append(round(start / sr, 3))
            last_end = start + length
        return [
            Measurement("clipped_fraction", round(n / len(x), 6),
                        {"places": places, "runs": len(runs), "ceiling": round(peak, 4),
                         "where": spans(places)}),
            Measurement("plateau_fraction", round(plateau_fraction(x), 5)),
            Measurement("peak_dbfs", round(20 * np.log10(peak + 1e-12), 2)),
        ]


def clipping(samples, sample_rate: int | None = None) -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Clipping metrics of an array (or a :class:`TakeSignal`) as a dict.

    Example:
        >>> import numpy as np
        >>> clipping(np.zeros(100, dtype="float32"), 8000)["clipped_fraction"]
        0.0
    """
    return {m.name: m.value for m in Clipping().measure(as_signal(samples, sample_rate))}


__all__ = ["Clipping", "clipped_runs", "clipping"]
