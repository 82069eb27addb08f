"""Electric noise: mains hum, broadband bursts, and the noise floor between words.

Three measurements, all on the 16 kHz view of a take:

- **Hum** (``hum_db``): mains hum is stationary, so in a long-term spectrum (Welch, 2 Hz
  bins) its 50 or 60 Hz harmonics stand out as narrow peaks over their neighbourhood, while
  a voice's harmonics move with its pitch and smear. The value is the mean prominence, in
  dB, of the three strongest of the first eight harmonics of the worse mains frequency.
- **Bursts** (``hf_bursts``): a crackle or burst of broadband noise fills the spectrum
  between a voice's harmonics. Per frame, the 20th-percentile power in 300–4000 Hz (the
  "floor" of the spectrum) is compared with the take's typical speech power in that band;
  clean speech stays ≥ 8 dB under it, a burst as loud as the speech rises to it. Events of
  20–400 ms are counted, with their start times as detail.
- **Noise floor** (``pause_noise_db``, ``pause_flatness``): level and spectral flatness
  (1 = white noise) of speech-free frames; hiss is a high, flat floor, hum a high, peaky one.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> x = make_voice(2.0, 16000)
    >>> t = np.arange(len(x)) / 16000
    >>> hummed = x + 0.02 * np.sin(2 * np.pi * 50 * t) + 0.01 * np.sin(2 * np.pi * 150 * t)
    >>> noise(x, 16000)["hum_db"] < 10 < noise(hummed.astype("float32"), 16000)["hum_db"]
    True
"""

from __future__ import annotations

import numpy as np

from rasv.analysis.measure import Measurement, SpeechDetector, as_signal, spans
from rasv.analysis.take_signal import EPS, HOP, RATE, TakeSignal

#: A frame is a burst frame when its spectral floor is within this many dB of speech power.
BURST_FLOOR_DB = -5.0
#: Burst events shorter or longer than these (seconds) are not bursts.
BURST_MIN_S = 0.02
BURST_MAX_S = 0.4


def hum_prominence(samples: np.ndarray, sample_rate: int = RATE,
                   mains: tuple[float, ...] = (50.0, 60.0)) -> tuple[float, float]:
    """``(prominence_db, mains_hz)`` of the stronger mains hum in a signal.

    Example:
        >>> import numpy as np
        >>> t = np.arange(32000) / 16000
        >>> db, hz = hum_prominence(np.sin(2 * np.pi * 60 * t) * 0.1, 16000)
        >>> hz, db > 20
        (60.0, True)
    """
    from scipy.signal import welch

    x = np.asarray(samples, dtype=np.float64)
    nper = min(len(x), int(sample_rate // 2))  # 2 Hz bins
    if nper < sample_rate // 8:
        return 0.0, mains[0]
    f, p = welch(x, fs=sample_rate, nperseg=nper, noverlap=nper // 2, detrend=False)
    p = p + EPS
    df = f[1] - f[0]
    best = (0.0, mains[0])
    for base in mains:
        proms = []
        for h in range(1, 9):
            fc = base * h
            near = np.abs(f - fc) <= max(2.0, 1.01 * df)
            hood = (np.abs(f - fc) <= 25.0) & (np.abs(f - fc) > max(5.0, 2.5 * df))
            if not near.any() or hood.sum() < 3:
                continue
            proms.append(10 * np.log10(p[near].max() / np.median(p[hood])))
        if proms:
            score = float(np.mean(sorted(proms)[-3:]))
            if score > best[0]:
                best = (score, base)
    return round(best[0], 2), best[1]


def burst_events(sig: TakeSignal, floor_db: float = BURST_FLOOR_DB) -> list[tuple[float, float]]:
    """Broadband burst events ``[(start_s, end_s), …]`` of a take.

    Example:
        >>> import numpy as np
        >>> from rasv.testing import make_voice
        >>> x = make_voice(2.0, 16000)
        >>> x[16000:16960] += np.random.default_rng(0).normal(0, 0.3, 960).astype("float32")
        >>> [round(a, 1) for a, _ in burst_events(as_signal(x, 16000))]
        [1.0]
    """
    band = (sig.freqs >= 300) & (sig.freqs < 4000)
    p = sig.power[:, band]
    floor = 10 * np.log10(np.percentile(p, 20, axis=1) + EPS)
    mean = 10 * np.log10(p.mean(axis=1) + EPS)
    speech = sig.speech_mask
    if not speech.any():
        return []
    ref = float(np.median(mean[speech]))
    hit = floor - ref > floor_db
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hit.astype(np.int8), [0]])))
    hop_s = HOP / RATE
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        length = (b - a) * hop_s
        if BURST_MIN_S <= length <= BURST_MAX_S:
            out.append((round(float(sig.times[a]) - 0.0125, 3), round(float(sig.times[b - 1]) + 0.0125, 3)))
    return out


def pause_floor(sig: TakeSignal) -> tuple[float | None, float | None]:
    """``(level_dbfs, flatness)`` of speech-free frames (None when there are fewer than 10).

    Frames within 50 ms of speech are left out so word edges do not count as noise.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> from rasv.testing import make_voice
        >>> x = np.concatenate([np.zeros(8000), make_voice(1.0, 16000), np.zeros(8000)])
        >>> lvl, flat = pause_floor(as_signal(x + rng.normal(0, 1e-3, len(x)), 16000))
        >>> -65 < lvl < -55, flat > 0.5
        (True, True)
    """
    speech = sig.speech_mask
    guard = max(int(0.05 * RATE / HOP), 1)
    near = np.convolve(speech.astype(np.int8), np.ones(2 * guard + 1, dtype=np.int8), "same") > 0
    quiet = ~near
    if quiet.sum() < 10:
        return None, None
    band = (sig.freqs >= 300) & (sig.freqs <= 7800)
    p = sig.power[quiet][:, band] + EPS
    flat = np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)
    return round(float(np.median(sig.level_db[quiet])), 2), round(float(np.median(flat)), 3)


class Noise(SpeechDetector):
    """Hum, broadband bursts and the noise floor of pauses (see the module docstring).

    Metrics: ``hum_db`` (detail: mains frequency), ``hf_bursts`` (count; detail: events as
    ``[start_s, end_s]``), ``pause_noise_db`` (dBFS), ``pause_flatness`` (0–1).
    """

    name = "noise"
    version = "1"
    metrics = ("hum_db", "hf_bursts", "pause_noise_db", "pause_flatness")
    method = "dsp"

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        sig = sig.for_vad(self.vad)
        hum, hz = hum_prominence(sig.samples, RATE)
        bursts = burst_events(sig)
        level, flat = pause_floor(sig)
        return [
            Measurement("hum_db", hum, {"mains_hz": hz}),
            Measurement("hf_bursts", float(len(bursts)),
                        {"events": [list(b) for b in bursts],
                         "where": spans([a for a, _ in bursts])}),
            Measurement("pause_noise_db", level),
            Measurement("pause_flatness", flat),
        ]


def noise(samples, sample_rate: int | None = None, *, vad: str = "auto") -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Noise metrics of an array (or a :class:`TakeSignal`) as a dict.

    Example:
        >>> import numpy as np
        >>> noise(np.zeros(16000, dtype="float32"), 16000)["hf_bursts"]
        0.0
    """
    sig = as_signal(samples, sample_rate, vad=vad)
    return {m.name: m.value for m in Noise(vad=sig.vad).measure(sig)}


__all__ = ["Noise", "burst_events", "hum_prominence", "noise", "pause_floor"]
