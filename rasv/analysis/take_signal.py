"""One take's audio prepared once for every detector: samples, frames, spectra, speech.

Detectors share the expensive parts (resampling to 16 kHz, one short-time power spectrum,
the speech segments) through a :class:`TakeSignal`, which computes each on first use.
Clipping is measured on the original samples, because resampling smears flat tops.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> sig = TakeSignal(make_voice(2.0, 22050), 22050, text="你好世界")
    >>> sig.duration_s, sig.samples.shape, sig.power.shape[1]
    (2.0, (32000,), 257)
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from rasv.audio.files import resample
from rasv.errors import AudioError

#: Rate every detector works at (DNSMOS's rate; plenty for speech up to 8 kHz).
RATE = 16000
#: Analysis frame: 25 ms Hann window, 10 ms hop, 512-point FFT.
WIN = 400
HOP = 160
NFFT = 512
#: Floor added to powers before taking logs (about -120 dB re full scale).
EPS = 1e-12


class TakeSignal:
    """A take's mono samples with lazily computed analysis views.

    Args:
        samples: float32 mono samples in [-1, 1] at ``sample_rate``.
        sample_rate: the rate of ``samples``.
        text: the text the take should say (for pace and ASR).
        lang: its language code (``zh``, ``en``, ``ja`` …).
        segments: speech segments in seconds, when a VAD already ran; else computed on use.
        vad: voice-activity detector for :attr:`segments` (see
            :func:`rasv.analysis.speech.speech_segments`).
        take_id: the take, for detectors that look things up (optional).
        clip_id: its reference clip, for speaker similarity (optional).

    Raises:
        AudioError: empty or non-finite audio.

    Example:
        >>> import numpy as np
        >>> sig = TakeSignal(np.zeros(1600, dtype=np.float32), 16000)
        >>> sig.level_db.shape == sig.times.shape
        True
    """

    def __init__(self, samples: np.ndarray, sample_rate: int, *, text: str = "",
                 lang: str = "", segments: list[tuple[float, float]] | None = None,
                 vad: str = "auto", take_id: str | None = None,
                 clip_id: int | None = None) -> None:
        from rasv.analysis.speech import resolve_vad

        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            x = x.reshape(-1) if x.size == x.shape[-1] else x.mean(axis=0)
        if x.size == 0:
            raise AudioError("the take holds no samples")
        if not np.all(np.isfinite(x)):
            raise AudioError("the take holds NaN or infinite samples")
        self.original = x
        self.original_rate = int(sample_rate)
        self.text = text
        self.lang = lang
        self.vad = resolve_vad(vad)
        self.take_id = take_id
        self.clip_id = _int_or_none(clip_id)
        if segments is not None:
            self.__dict__["segments"] = [(float(a), float(b)) for a, b in segments]

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.original) / self.original_rate

    @cached_property
    def samples(self) -> np.ndarray:
        """The samples at :data:`RATE`, padded to at least one analysis window."""
        x = resample(self.original, self.original_rate, RATE)
        if len(x) < WIN:
            x = np.pad(x, (0, WIN - len(x)))
        return np.ascontiguousarray(x, dtype=np.float32)

    @cached_property
    def power(self) -> np.ndarray:
        """Power spectrum per frame, shape (frames, ``NFFT // 2 + 1``)."""
        x = self.samples.astype(np.float64)
        n = 1 + (len(x) - WIN) // HOP
        idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
        frames = x[idx] * np.hanning(WIN)
        return np.abs(np.fft.rfft(frames, n=NFFT, axis=1)) ** 2

    @cached_property
    def freqs(self) -> np.ndarray:
        """Centre frequency of each spectrum bin in Hz."""
        return np.fft.rfftfreq(NFFT, 1.0 / RATE)

    @cached_property
    def times(self) -> np.ndarray:
        """Centre time of each frame in seconds."""
        return (np.arange(self.power.shape[0]) * HOP + WIN / 2) / RATE

    @cached_property
    def level_db(self) -> np.ndarray:
        """Frame level in dB relative to a full-scale sine (0 dB = RMS of 1/sqrt(2))."""
        # Hann window energy normalises the periodogram so a frame's sum equals its mean square.
        win_energy = float(np.sum(np.hanning(WIN) ** 2))
        ms = self.power.sum(axis=1) / (win_energy * NFFT / 2)
        return 10.0 * np.log10(ms + EPS) + 3.0

    @cached_property
    def segments(self) -> list[tuple[float, float]]:
        """Speech segments ``[(start_s, end_s), …]`` (see :mod:`rasv.analysis.speech`)."""
        from rasv.analysis.speech import speech_segments

        return speech_segments(self.samples, RATE, vad=self.vad)

    @cached_property
    def speech_mask(self) -> np.ndarray:
        """True for frames whose centre lies inside a speech segment."""
        mask = np.zeros(len(self.times), dtype=bool)
        for a, b in self.segments:
            mask |= (self.times >= a) & (self.times < b)
        return mask

    @cached_property
    def speech_level_db(self) -> float:
        """Median level of speech frames in dB (the loudness that "loud" is measured against)."""
        lv = self.level_db[self.speech_mask]
        return float(np.median(lv)) if lv.size else float(np.max(self.level_db))

    def for_vad(self, vad: str) -> TakeSignal:
        """This signal with speech found by another VAD (spectra are shared, not recomputed).

        Example:
            >>> import numpy as np
            >>> sig = TakeSignal(np.zeros(1600, dtype="float32"), 16000, vad="energy")
            >>> sig.for_vad("energy") is sig
            True
        """
        from rasv.analysis.speech import resolve_vad

        if resolve_vad(vad) == self.vad:
            return self
        other = TakeSignal(self.original, self.original_rate, text=self.text, lang=self.lang,
                           vad=vad, take_id=self.take_id, clip_id=self.clip_id)
        for name in ("samples", "power", "freqs", "times", "level_db"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @property
    def speech_s(self) -> float:
        """Seconds of speech (sum of segment lengths)."""
        return float(sum(b - a for a, b in self.segments))


def _int_or_none(v: object) -> int | None:
    """An id from a DataFrame cell: None, NaN and pandas' NA all mean "no id"."""
    try:
        return None if v is None else int(v)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


__all__ = ["EPS", "HOP", "NFFT", "RATE", "WIN", "TakeSignal"]
