"""Voice activity: where speech is in an array, where the silences are, where to cut.

Two backends, chosen with ``backend="auto"``:

- ``"silero"``: silero-vad's bundled ONNX model (``silero_vad/data/silero_vad.onnx`` from the
  ``silero-vad`` wheel, MIT) run with onnxruntime by this module. The ``silero_vad`` package
  itself imports torch, so it is never imported: its file is located with
  :func:`importlib.util.find_spec`. 32 ms frames at 16 kHz.
- ``"rms"``: frame energy with GPT-SoVITS's slicer defaults (−34 dBFS, 10 ms frames), numpy
  only; used when silero-vad is not installed.

Both give a per-frame speech probability; one hysteresis step turns it into segments, so the
post-processing options mean the same for both.

Example:
    >>> import numpy as np
    >>> sr = 16000
    >>> tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
    >>> x = np.concatenate([np.zeros(sr // 2, np.float32), tone, np.zeros(sr // 2, np.float32)])
    >>> speech_segments(x, sr, backend="rms")
    [(0.47, 1.53)]
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rasv.errors import BackendUnavailable, InvalidInput

#: Rate every backend works at; other rates are resampled first.
VAD_RATE = 16000

#: GPT-SoVITS slicer defaults (``tools/slice_audio.py`` in its web UI).
SLICER_THRESHOLD_DB = -34.0
SLICER_MIN_INTERVAL_S = 0.3
SLICER_HOP_S = 0.01
SLICER_MAX_SIL_KEPT_S = 0.5

_SILERO_FRAME = 512  # samples at 16 kHz (32 ms), what the model was trained on
_SILERO_CONTEXT = 64  # samples of the previous frame the model sees before each frame

Segment = tuple[float, float]


@dataclass(frozen=True)
class SpeechProbabilities:
    """Per-frame speech probabilities of one array.

    ``values[i]`` covers ``[i * hop_s, (i + 1) * hop_s)``; ``duration_s`` is the length of
    the audio (the last frame may run past it).

    Example:
        >>> p = SpeechProbabilities(np.array([0.1, 0.9]), 0.032, 0.064, "silero")
        >>> p.times().tolist()
        [0.0, 0.032]
    """

    values: np.ndarray
    hop_s: float
    duration_s: float
    backend: str

    def times(self) -> np.ndarray:
        """Start time of each frame, in seconds."""
        return np.arange(len(self.values)) * self.hop_s


# -- backends ---------------------------------------------------------------------------------


def silero_model_path() -> Path | None:
    """The bundled ``silero_vad.onnx`` of an installed silero-vad wheel, or None.

    Found without importing ``silero_vad`` (its ``__init__`` imports torch).

    Example:
        >>> p = silero_model_path()
        >>> p is None or p.name == "silero_vad.onnx"
        True
    """
    try:
        spec = importlib.util.find_spec("silero_vad")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / "data" / "silero_vad.onnx"
        if candidate.is_file():
            return candidate
    return None


def resolve_backend(backend: str = "auto") -> str:
    """The backend ``backend`` stands for: ``"silero"`` when it can run here, else ``"rms"``.

    Raises:
        BackendUnavailable: ``"silero"`` was asked for and is not installed.
        InvalidInput: an unknown name.

    Example:
        >>> resolve_backend("rms")
        'rms'
        >>> resolve_backend("auto") in ("silero", "rms")
        True
    """
    if backend == "rms":
        return "rms"
    if backend not in ("auto", "silero"):
        raise InvalidInput(f"unknown VAD backend {backend!r}; use 'auto', 'silero' or 'rms'")
    usable = silero_model_path() is not None and importlib.util.find_spec("onnxruntime")
    if usable:
        return "silero"
    if backend == "silero":
        raise BackendUnavailable(
            "silero-vad is not available: pip install silero-vad onnxruntime "
            "(or use backend='rms')"
        )
    return "rms"


class _Silero:
    """The ONNX session, shared by every call (onnxruntime sessions are thread-safe)."""

    _lock = threading.Lock()
    _session = None

    @classmethod
    def session(cls):  # type: ignore[no-untyped-def]
        with cls._lock:
            if cls._session is None:
                import onnxruntime as ort

                path = silero_model_path()
                if path is None:
                    raise BackendUnavailable("silero-vad is not installed: pip install silero-vad")
                opts = ort.SessionOptions()
                # One tiny frame per call: thread pools cost more than they save.
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                cls._session = ort.InferenceSession(
                    str(path), sess_options=opts, providers=["CPUExecutionProvider"]
                )
            return cls._session


def _silero_probs(x: np.ndarray) -> np.ndarray:
    session = _Silero.session()
    n_frames = -(-len(x) // _SILERO_FRAME)
    padded = np.zeros(n_frames * _SILERO_FRAME + _SILERO_CONTEXT, dtype=np.float32)
    padded[_SILERO_CONTEXT:_SILERO_CONTEXT + len(x)] = x
    state = np.zeros((2, 1, 128), dtype=np.float32)
    sr = np.array(VAD_RATE, dtype=np.int64)
    out = np.empty(n_frames, dtype=np.float32)
    width = _SILERO_FRAME + _SILERO_CONTEXT
    for i in range(n_frames):
        # Each frame is fed with the last 64 samples of the previous one in front, as the
        # model was exported to expect; the recurrent state carries the rest of the past.
        start = i * _SILERO_FRAME
        frame = padded[start:start + width][None, :]
        prob, state = session.run(None, {"input": frame, "state": state, "sr": sr})
        out[i] = prob[0, 0]
    return out


def _rms_probs(x: np.ndarray, threshold_db: float) -> np.ndarray:
    # Non-overlapping 10 ms frames. The slicer smooths over 40 ms windows, which smears
    # boundaries by 20 ms; here the minimum-silence rule does the smoothing instead.
    hop = int(round(SLICER_HOP_S * VAD_RATE))
    n_frames = -(-len(x) // hop)
    padded = np.zeros(n_frames * hop, dtype=np.float64)
    padded[:len(x)] = x
    power = (padded.reshape(n_frames, hop) ** 2).mean(axis=1)
    db = 10.0 * np.log10(np.maximum(power, 1e-20))
    # A soft step centred on the threshold, so the hysteresis below applies unchanged:
    # p = 0.5 exactly at ``threshold_db``, ~0.12 at 4 dB under it.
    return (1.0 / (1.0 + np.exp(-(db - threshold_db) / 2.0))).astype(np.float32)


def speech_probabilities(
    x: np.ndarray, sample_rate: int, *, backend: str = "auto",
    threshold_db: float = SLICER_THRESHOLD_DB,
) -> SpeechProbabilities:
    """Per-frame speech probability of a mono array (resampled to 16 kHz first).

    Args:
        x: mono float samples in [-1, 1] (2-D input is averaged over channels).
        sample_rate: rate of ``x``.
        backend: ``"auto"``, ``"silero"`` or ``"rms"``.
        threshold_db: the ``"rms"`` backend's speech level in dBFS (probability 0.5 there).

    Example:
        >>> p = speech_probabilities(np.zeros(16000, np.float32), 16000, backend="rms")
        >>> p.backend, p.hop_s, float(p.values.max()) < 0.01
        ('rms', 0.01, True)
    """
    name = resolve_backend(backend)
    y = _mono16k(x, sample_rate)
    duration = len(y) / VAD_RATE
    if len(y) == 0:
        hop = _SILERO_FRAME / VAD_RATE if name == "silero" else SLICER_HOP_S
        return SpeechProbabilities(np.zeros(0, np.float32), hop, 0.0, name)
    if name == "silero":
        return SpeechProbabilities(_silero_probs(y), _SILERO_FRAME / VAD_RATE, duration, name)
    return SpeechProbabilities(_rms_probs(y, threshold_db), SLICER_HOP_S, duration, name)


def _mono16k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    from rasv.audio.files import resample

    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 2:
        # (channels, frames) or (frames, channels): average over the short axis
        a = a.mean(axis=0 if a.shape[0] <= a.shape[1] else 1)
    elif a.ndim != 1:
        raise InvalidInput(f"audio must be 1-D or 2-D, got shape {a.shape}")
    if sample_rate <= 0:
        raise InvalidInput(f"sample rate must be positive, got {sample_rate}")
    return np.ascontiguousarray(resample(a, int(sample_rate), VAD_RATE), dtype=np.float32)


# -- segments ---------------------------------------------------------------------------------


def segments_from_probabilities(
    probs: SpeechProbabilities, *, threshold: float = 0.5, neg_threshold: float | None = None,
    min_speech_s: float = 0.25, min_silence_s: float = 0.1, pad_s: float = 0.03,
) -> list[Segment]:
    """Turn frame probabilities into speech segments (seconds), with hysteresis.

    Speech starts at a frame ≥ ``threshold`` and ends once the probability stays under
    ``neg_threshold`` (default ``threshold - 0.15``) for ``min_silence_s``; segments shorter
    than ``min_speech_s`` are dropped; each is padded by ``pad_s`` and overlaps are merged.

    Example:
        >>> p = SpeechProbabilities(np.array([0, 1, 1, 1, 0, 0, 0, 1, 1, 0.]), 0.1, 1.0, "x")
        >>> segments_from_probabilities(p, min_speech_s=0.15, min_silence_s=0.2, pad_s=0)
        [(0.1, 0.4), (0.7, 0.9)]
    """
    if not 0.0 < threshold < 1.0:
        raise InvalidInput(f"threshold must be between 0 and 1, got {threshold}")
    low = threshold - 0.15 if neg_threshold is None else neg_threshold
    low = max(min(low, threshold), 0.0)
    hop = probs.hop_s
    min_silence = max(int(round(min_silence_s / hop)), 1)
    raw: list[tuple[int, int]] = []
    start: int | None = None
    quiet_since: int | None = None
    for i, p in enumerate(probs.values):
        if start is None:
            if p >= threshold:
                start, quiet_since = i, None
            continue
        if p < low:
            if quiet_since is None:
                quiet_since = i
            if i - quiet_since + 1 >= min_silence:
                raw.append((start, quiet_since))
                start, quiet_since = None, None
        else:
            quiet_since = None
    if start is not None:
        raw.append((start, quiet_since if quiet_since is not None else len(probs.values)))
    out: list[list[float]] = []
    for a, b in raw:
        s, e = a * hop, min(b * hop, probs.duration_s)
        if e - s < min_speech_s:
            continue
        s, e = max(s - pad_s, 0.0), min(e + pad_s, probs.duration_s)
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(round(s, 3), round(e, 3)) for s, e in out]


def speech_segments(
    x: np.ndarray, sample_rate: int, *, backend: str = "auto", threshold: float = 0.5,
    min_speech_s: float = 0.25, min_silence_s: float = 0.1, pad_s: float = 0.03,
    threshold_db: float = SLICER_THRESHOLD_DB,
) -> list[Segment]:
    """Where speech is in an array: ``[(start_s, end_s), …]`` in order.

    Defaults follow silero-vad's own (0.5, 250 ms, 100 ms, 30 ms pad).

    Example:
        >>> sr = 16000
        >>> beep = 0.3 * np.sin(np.arange(sr // 2) * 0.1).astype(np.float32)
        >>> gap = np.zeros(sr // 2, np.float32)
        >>> speech_segments(np.concatenate([beep, gap, beep]), sr, backend="rms", pad_s=0)
        [(0.0, 0.5), (1.0, 1.5)]
    """
    probs = speech_probabilities(x, sample_rate, backend=backend, threshold_db=threshold_db)
    return segments_from_probabilities(
        probs, threshold=threshold, min_speech_s=min_speech_s, min_silence_s=min_silence_s,
        pad_s=pad_s,
    )


def silences(segments: Sequence[Segment], duration_s: float) -> list[Segment]:
    """The gaps around and between speech segments, including leading and trailing silence.

    Example:
        >>> silences([(0.5, 1.0), (1.4, 2.0)], 3.0)
        [(0.0, 0.5), (1.0, 1.4), (2.0, 3.0)]
    """
    out: list[Segment] = []
    t = 0.0
    for s, e in segments:
        if s > t:
            out.append((round(t, 3), round(s, 3)))
        t = max(t, e)
    if duration_s > t:
        out.append((round(t, 3), round(duration_s, 3)))
    return out


# -- cut suggestions --------------------------------------------------------------------------


def suggest_pieces(
    x: np.ndarray, sample_rate: int, *, min_s: float = 3.0, max_s: float = 10.0,
    min_silence_s: float = SLICER_MIN_INTERVAL_S,
    keep_silence_s: float = SLICER_MAX_SIL_KEPT_S / 2, backend: str = "auto",
    threshold_db: float = SLICER_THRESHOLD_DB,
) -> list[Segment]:
    """Pieces of ``min_s``–``max_s`` seconds to cut a long clip into, cut inside silences.

    Cuts fall only in silences of at least ``min_silence_s``; each piece keeps at most
    ``keep_silence_s`` of silence at either end (half the slicer's ``max_sil_kept``), and the
    cut is in the middle of a silence shorter than twice that. Among all ways to cut, the one
    that covers the most speech wins (ties: longer silences at the cuts). A stretch of speech
    with no such silence that is longer than ``max_s`` cannot become a piece and is left out.

    Example:
        >>> sr = 16000
        >>> t = np.arange(int(2.5 * sr)) / sr
        >>> talk = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
        >>> pause = np.zeros(int(0.6 * sr), np.float32)
        >>> x = np.concatenate([talk, pause, talk, pause, talk, pause, talk])
        >>> suggest_pieces(x, sr, backend="rms")
        [(0.0, 5.85), (5.95, 11.8)]
    """
    if not 0 < min_s <= max_s:
        raise InvalidInput(f"need 0 < min_s <= max_s, got {min_s} and {max_s}")
    y = _mono16k(x, sample_rate)
    duration = len(y) / VAD_RATE
    probs = speech_probabilities(y, VAD_RATE, backend=backend, threshold_db=threshold_db)
    segs = segments_from_probabilities(
        probs, min_speech_s=0.1, min_silence_s=min_silence_s, pad_s=0.0
    )
    return plan_pieces(segs, duration, min_s=min_s, max_s=max_s, keep_silence_s=keep_silence_s)


def plan_pieces(
    segments: Sequence[Segment], duration_s: float, *, min_s: float = 3.0, max_s: float = 10.0,
    keep_silence_s: float = SLICER_MAX_SIL_KEPT_S / 2,
) -> list[Segment]:
    """Group speech segments into pieces of ``min_s``–``max_s`` seconds (the planning step of
    :func:`suggest_pieces`, on segments from any source).

    Example:
        >>> plan_pieces([(0.2, 2.0), (2.5, 4.0), (5.0, 9.0)], 10.0, keep_silence_s=0.2)
        [(0.0, 4.2), (4.8, 9.2)]
    """
    segs = [(float(s), float(e)) for s, e in segments if e > s]
    k = len(segs)
    if k == 0:
        return []
    # Silence that a piece may keep before segment i and after segment j.
    before = []
    after = []
    for i, (s, e) in enumerate(segs):
        gap_before = s if i == 0 else s - segs[i - 1][1]
        gap_after = (duration_s - e) if i == k - 1 else segs[i + 1][0] - e
        # The first and last silences belong to one piece only; inner ones are shared.
        share_b = gap_before if i == 0 else gap_before / 2
        share_a = gap_after if i == k - 1 else gap_after / 2
        before.append((min(keep_silence_s, share_b), gap_before))
        after.append((min(keep_silence_s, share_a), gap_after))
    speech = np.array([e - s for s, e in segs])
    prefix = np.concatenate([[0.0], np.cumsum(speech)])
    # best[i] = (covered speech, cut quality, pieces) for segments[:i]
    neg = (-1.0, 0.0, ())
    best: list[tuple[float, float, tuple[Segment, ...]]] = [neg] * (k + 1)
    best[0] = (0.0, 0.0, ())
    for i in range(k):
        if best[i] is neg:
            continue
        cov, qual, pieces = best[i]
        skip = (cov, qual, pieces)
        if _better(skip, best[i + 1]):
            best[i + 1] = skip
        start = segs[i][0] - before[i][0]
        for j in range(i, k):
            end = segs[j][1] + after[j][0]
            length = end - start
            if length > max_s + 1e-9:
                break
            if length < min_s - 1e-9:
                continue
            quality = min(before[i][1], 2.0) + min(after[j][1], 2.0)
            cand = (cov + prefix[j + 1] - prefix[i], qual + quality,
                    pieces + ((round(start, 3), round(end, 3)),))
            if _better(cand, best[j + 1]):
                best[j + 1] = cand
    return list(best[k][2])


def _better(a: tuple[float, float, tuple], b: tuple[float, float, tuple]) -> bool:
    if b[0] < 0:
        return True
    if abs(a[0] - b[0]) > 1e-6:
        return a[0] > b[0]
    return a[1] > b[1] + 1e-9


__all__ = [
    "SLICER_HOP_S",
    "SLICER_MAX_SIL_KEPT_S",
    "SLICER_MIN_INTERVAL_S",
    "SLICER_THRESHOLD_DB",
    "VAD_RATE",
    "SpeechProbabilities",
    "plan_pieces",
    "resolve_backend",
    "segments_from_probabilities",
    "silences",
    "silero_model_path",
    "speech_probabilities",
    "speech_segments",
    "suggest_pieces",
]
