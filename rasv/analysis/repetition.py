"""Repetition: a stretch of the take that sounds like an earlier stretch of it (复读).

GPT-SoVITS sometimes says a word or phrase twice, or loops. On a cepstral (MFCC)
self-similarity matrix a repeat shows as a bright stripe parallel to the diagonal. The
measurement (``repetition``) is the highest mean similarity along any such stripe over
``window_s`` of speech at a lag of at least ``min_lag_s``; the detail gives the two places.
Cepstra are mean-normalised over the take and exclude c0, so loudness does not count.

Example:
    >>> import numpy as np
    >>> from gsv_bridge.espeak import synth
    >>> x, sr = synth("The quick brown fox jumps over the lazy dog.")
    >>> a, b = int(0.8 * sr), int(1.5 * sr)
    >>> looped = np.concatenate([x[:b], x[a:b], x[b:]])
    >>> repetition(x, sr)["repetition"] < 0.8 < repetition(looped, sr)["repetition"]
    True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rasv.analysis.measure import Measurement, SpeechDetector, as_signal
from rasv.analysis.take_signal import EPS, HOP, NFFT, RATE, TakeSignal

#: Length of the compared stretch and the shortest lag between the two, in seconds.
WINDOW_S = 0.6
MIN_LAG_S = 0.25


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=RATE, n_fft=NFFT, n_mels=40, fmin=60.0, fmax=7600.0)


def cepstra(sig: TakeSignal, n: int = 13) -> np.ndarray:
    """Mean-normalised MFCCs c1…c(n-1) per frame, L2-normalised, shape (frames, n - 1).

    Example:
        >>> import numpy as np
        >>> from rasv.testing import make_voice
        >>> cepstra(as_signal(make_voice(1.0, 16000), 16000)).shape
        (98, 12)
    """
    from scipy.fft import dct

    mel = np.log(sig.power @ _mel_basis().T + EPS)
    c = dct(mel, type=2, norm="ortho", axis=1)[:, 1:n]
    speech = sig.speech_mask
    c = c - (c[speech].mean(axis=0) if speech.any() else c.mean(axis=0))
    return c / (np.linalg.norm(c, axis=1, keepdims=True) + 1e-9)


def best_repeat(sig: TakeSignal, window_s: float = WINDOW_S,
                min_lag_s: float = MIN_LAG_S) -> tuple[float, float, float]:
    """``(similarity, first_s, second_s)`` of the most alike pair of speech stretches.

    Returns ``(0.0, 0.0, 0.0)`` when the take is too short to hold two stretches.

    Example:
        >>> import numpy as np
        >>> from rasv.testing import make_voice
        >>> best_repeat(as_signal(make_voice(0.3, 16000), 16000))
        (0.0, 0.0, 0.0)
    """
    hop_s = HOP / RATE
    w = max(int(round(window_s / hop_s)), 1)
    lag0 = max(int(round(min_lag_s / hop_s)), 1)
    c = cepstra(sig)
    # Only frames with real voice count: near-silent frames all look alike.
    speech = (sig.speech_mask & (sig.level_db > sig.speech_level_db - 30.0)).astype(np.float64)
    t = len(c)
    if t < lag0 + w:
        return 0.0, 0.0, 0.0
    sim = c @ c.T
    best = (0.0, 0, 0)
    for lag in range(lag0, t - w + 1):
        # Mean similarity over frame pairs where both frames are voice, per window start i.
        pair = speech[: t - lag] * speech[lag:]
        d = np.diagonal(sim, offset=lag) * pair  # sim[i, i + lag]
        cs = np.concatenate([[0.0], np.cumsum(d)])
        cw = np.concatenate([[0.0], np.cumsum(pair)])
        n = cw[w:] - cw[:-w]
        m = np.where(n >= 0.5 * w, (cs[w:] - cs[:-w]) / np.maximum(n, 1.0), -1.0)
        i = int(np.argmax(m))
        if m[i] > best[0]:
            best = (float(m[i]), i, i + lag)
    score, i, j = best
    return round(score, 4), round(i * hop_s, 3), round(j * hop_s, 3)


class Repetition(SpeechDetector):
    """Highest self-similarity between two separate stretches of speech (``repetition``)."""

    name = "repetition"
    version = "1"
    metrics = ("repetition",)
    method = "mfcc"

    def __init__(self, window_s: float = WINDOW_S, min_lag_s: float = MIN_LAG_S, *,
                 vad: str = "auto") -> None:
        self.window_s = window_s
        self.min_lag_s = min_lag_s
        super().__init__(vad=vad)

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        sig = sig.for_vad(self.vad)
        if not sig.segments:
            return [Measurement("repetition", None)]
        score, a, b = best_repeat(sig, self.window_s, self.min_lag_s)
        return [Measurement("repetition", score,
                            {"first_s": a, "second_s": b, "window_s": self.window_s})]


def repetition(samples, sample_rate: int | None = None, *, vad: str = "auto", **options) -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Repetition metric of an array (or a :class:`TakeSignal`) as a dict.

    Example:
        >>> import numpy as np
        >>> repetition(np.zeros(1600, dtype="float32"), 16000)["repetition"] is None
        True
    """
    sig = as_signal(samples, sample_rate, vad=vad)
    return {m.name: m.value for m in Repetition(vad=sig.vad, **options).measure(sig)}


__all__ = ["Repetition", "best_repeat", "cepstra", "repetition"]
