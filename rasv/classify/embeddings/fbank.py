"""Kaldi-compatible log-mel filterbank features in numpy.

CAM++, ERes2Net and ERes2NetV2 were trained on Kaldi ``fbank`` features (80 bins, 25 ms Povey
windows every 10 ms, pre-emphasis 0.97, DC removal, no dither). ModelScope and GPT-SoVITS
compute them with ``torchaudio.compliance.kaldi``; rasv computes them here instead, because
the PyPI torchaudio often does not match the installed torch (``research/speech-models.md``
§7) and a numpy front-end is all these models need. It matches ``kaldi-native-fbank`` with
dither 0 (tested).

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    >>> fbank(x).shape
    (98, 80)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rasv.errors import InvalidInput

_EPS = float(np.finfo(np.float32).eps)


def _mel(f: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


@lru_cache(maxsize=8)
def _mel_banks(num_bins: int, padded: int, sample_rate: int, low_freq: float,
               high_freq: float) -> np.ndarray:
    """Triangular filters in the mel domain over the FFT bins 0..padded/2 (Kaldi's layout)."""
    nyquist = sample_rate / 2.0
    high = high_freq if high_freq > 0 else nyquist + high_freq
    if not 0.0 <= low_freq < high <= nyquist:
        raise InvalidInput(f"mel range {low_freq}–{high} Hz does not fit a {sample_rate} Hz signal")
    mel_low, mel_high = _mel(low_freq), _mel(high)
    delta = (mel_high - mel_low) / (num_bins + 1)
    n_fft_bins = padded // 2
    mels = _mel(np.arange(n_fft_bins) * (sample_rate / padded))
    left = mel_low + np.arange(num_bins)[:, None] * delta
    center, right = left + delta, left + 2 * delta
    up = (mels[None, :] - left) / (center - left)
    down = (right - mels[None, :]) / (right - center)
    weights = np.maximum(0.0, np.minimum(up, down))
    # Kaldi leaves the Nyquist bin out of every filter.
    return np.concatenate([weights, np.zeros((num_bins, 1))], axis=1)


@lru_cache(maxsize=8)
def _povey(length: int) -> np.ndarray:
    n = np.arange(length)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / (length - 1))) ** 0.85


def fbank(x: np.ndarray, sample_rate: int = 16000, *, num_mel_bins: int = 80,
          frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0,
          preemphasis: float = 0.97, low_freq: float = 20.0, high_freq: float = 0.0,
          ) -> np.ndarray:
    """Log mel filterbank energies, frames × bins, as Kaldi's ``compute-fbank-feats``.

    Defaults are Kaldi's (with dither 0 and ``snip_edges``); a clip shorter than one frame
    gives zero frames. ``x`` is mono float samples at ``sample_rate`` (their scale only shifts
    every value by a constant, which mean normalisation removes).

    Example:
        >>> fbank(np.zeros(400, np.float32)).shape
        (1, 80)
        >>> fbank(np.zeros(100, np.float32)).shape
        (0, 80)
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise InvalidInput(f"fbank needs a mono 1-D array, got shape {a.shape}")
    length = int(round(sample_rate * frame_length_ms / 1000.0))
    shift = int(round(sample_rate * frame_shift_ms / 1000.0))
    if len(a) < length:
        return np.zeros((0, num_mel_bins), dtype=np.float32)
    n_frames = 1 + (len(a) - length) // shift
    frames = np.lib.stride_tricks.sliding_window_view(a, length)[::shift][:n_frames].copy()
    frames -= frames.mean(axis=1, keepdims=True)
    frames[:, 1:] -= preemphasis * frames[:, :-1].copy()
    frames[:, 0] -= preemphasis * frames[:, 0]
    frames *= _povey(length)
    padded = 1 << (length - 1).bit_length()
    power = np.abs(np.fft.rfft(frames, n=padded, axis=1)) ** 2
    banks = _mel_banks(num_mel_bins, padded, int(sample_rate), float(low_freq), float(high_freq))
    energies = power @ banks.T
    return np.log(np.maximum(energies, _EPS)).astype(np.float32)


def mean_normalized_fbank(x: np.ndarray, sample_rate: int = 16000,
                          num_mel_bins: int = 80) -> np.ndarray:
    """:func:`fbank` with the per-utterance mean subtracted, as 3D-Speaker's models expect.

    Example:
        >>> f = mean_normalized_fbank(np.random.default_rng(1).standard_normal(8000))
        >>> bool(abs(f.mean(axis=0)).max() < 1e-4)
        True
    """
    feats = fbank(x, sample_rate, num_mel_bins=num_mel_bins)
    if len(feats):
        feats = feats - feats.mean(axis=0, keepdims=True)
    return feats


__all__ = ["fbank", "mean_normalized_fbank"]
