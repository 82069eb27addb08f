"""Speech segments of a take: where someone is talking, in seconds.

The silence, pace, noise, ending and repetition detectors all need to know which parts of a
take are speech. This module gives them one function, :func:`speech_segments`, with two
voice-activity detectors:

- ``"silero"``: silero-vad's neural model through :mod:`rasv.audio.vad` (the classification VAD),
  which tells speech from hum, hiss and breaths; used by default where it is installed;
- ``"energy"``: an adaptive energy segmenter (threshold between the take's own noise floor
  and its peak), numpy only; the fallback. It suits clean TTS output, but a loud noise floor
  raises its threshold and shortens the speech it finds.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> x = np.concatenate([np.zeros(8000), make_voice(1.0, 16000), np.zeros(8000)])
    >>> segs = speech_segments(x.astype("float32"), 16000, vad="energy")
    >>> [(round(a, 1), round(b, 1)) for a, b in segs]
    [(0.6, 1.5)]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rasv.errors import InvalidInput

#: VAD names :func:`speech_segments` accepts.
VADS = ("auto", "silero", "energy")

#: Energy segmenter frame (20 ms) and hop (10 ms), in seconds.
_FRAME_S = 0.02
_HOP_S = 0.01


def frame_levels(samples: np.ndarray, sample_rate: int, *, frame_s: float = _FRAME_S,
                 hop_s: float = _HOP_S) -> np.ndarray:
    """RMS level per frame in dBFS (a full-scale square wave is 0 dB).

    Example:
        >>> import numpy as np
        >>> frame_levels(np.full(1600, 0.1, dtype="float32"), 16000).round(1)[:2].tolist()
        [-20.0, -20.0]
    """
    x = np.asarray(samples, dtype=np.float64)
    frame = max(int(round(frame_s * sample_rate)), 1)
    hop = max(int(round(hop_s * sample_rate)), 1)
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    n = 1 + (len(x) - frame) // hop
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(n) * hop
    ms = (c[starts + frame] - c[starts]) / frame
    return 10.0 * np.log10(ms + 1e-12)


@lru_cache(maxsize=4)
def resolve_vad(vad: str = "auto") -> str:
    """The VAD ``vad`` stands for here: ``"silero"`` where it can run, else ``"energy"``.

    Raises:
        InvalidInput: an unknown name.
        BackendUnavailable: ``"silero"`` was asked for and is not installed.

    Example:
        >>> resolve_vad("energy"), resolve_vad("auto") in ("silero", "energy")
        ('energy', True)
    """
    if vad == "energy":
        return "energy"
    if vad not in VADS:
        raise InvalidInput(f"unknown VAD {vad!r}; use one of {', '.join(VADS)}")
    from rasv.audio.vad import resolve_backend

    return "silero" if resolve_backend(vad) == "silero" else "energy"


def speech_segments(samples: np.ndarray, sample_rate: int, *, vad: str = "auto",
                    ) -> list[tuple[float, float]]:
    """Speech segments ``[(start_s, end_s), …]`` of a mono array.

    Args:
        samples: float mono samples.
        sample_rate: their rate.
        vad: ``"auto"`` (silero where installed, else energy), ``"silero"`` or ``"energy"``.

    Silero runs with a 0.15 s shortest silence (so pauses between words, not stop closures,
    separate segments) and 30 ms of padding, like the energy segmenter's defaults.

    Example:
        >>> import numpy as np
        >>> speech_segments(np.zeros(16000, dtype="float32"), 16000)
        []
    """
    if resolve_vad(vad) == "silero":
        from rasv.audio.vad import speech_segments as silero_segments

        return [(round(a, 3), round(b, 3)) for a, b in
                silero_segments(samples, sample_rate, backend="silero", min_silence_s=0.15,
                                pad_s=0.03)]
    return energy_segments(samples, sample_rate)


def energy_segments(samples: np.ndarray, sample_rate: int, *, threshold_db: float | None = None,
                    min_gap_s: float = 0.15, min_speech_s: float = 0.05,
                    range_db: float = 40.0) -> list[tuple[float, float]]:
    """Speech segments ``[(start_s, end_s), …]`` of a mono array, by adaptive energy.

    A frame is speech when its level is above ``threshold_db``; by default the threshold is
    the higher of 15 dB over the take's noise floor (its 10th-percentile frame level) and
    ``range_db`` under its loudest frame, and at most 10 dB under the loudest frame. Gaps shorter than ``min_gap_s`` (stop closures
    between syllables) are bridged; islands shorter than ``min_speech_s`` are dropped.

    Args:
        samples: float mono samples.
        sample_rate: their rate.
        threshold_db: a fixed threshold in dBFS instead of the adaptive one.
        min_gap_s: shortest silence kept as a gap.
        min_speech_s: shortest speech kept.
        range_db: how far under the loudest frame speech may still be.

    Example:
        >>> import numpy as np
        >>> energy_segments(np.zeros(16000, dtype="float32"), 16000)
        []
    """
    lv = frame_levels(samples, sample_rate)
    if lv.size == 0:
        return []
    peak = float(lv.max())
    if peak < -80.0:  # digital silence or close to it
        return []
    if threshold_db is None:
        floor = float(np.percentile(lv, 10))
        # Never above peak - 10 dB: a take that is loud throughout is all speech.
        threshold_db = min(max(floor + 15.0, peak - range_db), peak - 10.0)
    voiced = lv > threshold_db
    # Runs of speech frames, as [start, end) frame indices.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    runs = [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]
    gap = int(round(min_gap_s / _HOP_S))
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    shortest = int(round(min_speech_s / _HOP_S))
    total = len(samples) / sample_rate
    out: list[tuple[float, float]] = []
    for a, b in merged:
        if b - a < shortest:
            continue
        # A frame index i covers [i * hop, i * hop + frame); report the covered span.
        out.append((round(a * _HOP_S, 3), round(min(b * _HOP_S + _FRAME_S - _HOP_S, total), 3)))
    return out


__all__ = ["VADS", "energy_segments", "frame_levels", "resolve_vad", "speech_segments"]
