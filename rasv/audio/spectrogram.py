"""Mel spectrograms and waveform envelopes at display resolution, cached, drawn with Plotly.

A take's audio never changes (its id is a hash of everything that made it), so the arrays
for a take are computed once and kept in a small ``.npz`` under the workspace's
``cache/visuals`` folder, named by the take id and the display settings. The arrays are
sized for a screen, not for analysis: at most ``max_frames`` columns whatever the length,
dB quantised to ``uint8`` and times in ``float32``, so a figure of a 10 s take is a few
tens of kilobytes of JSON (``research/stack-check.md`` §3b).

The STFT is numpy framing with scipy's FFT; the mel filterbank is librosa's (Slaney mel), built once per
(sample rate, FFT size, bands).

Example:
    >>> import numpy as np
    >>> sr = 16000
    >>> x = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> spec = compute_spectrogram(x, sr)
    >>> spec.db.dtype, spec.db.shape[0], int(spec.mel_hz[spec.db.mean(axis=1).argmax()]) // 100
    (dtype('uint8'), 96, 4)
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rasv.errors import AudioError, InvalidInput

#: Bump when the arrays change meaning, so old cache files are not reused.
VISUALS_VERSION = 1
#: Folder (workspace-relative) holding cached display arrays.
VISUALS_DIR = "cache/visuals"
#: Default display settings.
N_MELS = 96
MAX_FRAMES = 600
TOP_DB = 80.0
ENVELOPE_POINTS = 1200

_NICE_HZ = (250, 500, 1000, 2000, 4000, 8000, 16000, 24000)


@dataclass(frozen=True)
class Spectrogram:
    """A mel spectrogram for display.

    ``db`` is ``uint8`` of shape (bands, frames): 255 is the loudest cell of the take and
    0 is ``top_db`` below it (or quieter). ``times`` are frame centres in seconds and
    ``mel_hz`` the band centres in Hz.

    Example:
        >>> s = Spectrogram(np.full((2, 3), 255, np.uint8), np.zeros(3, np.float32),
        ...                 np.array([100, 200], np.float32), 16000, 1.0, 80.0)
        >>> s.to_db()[0, 0]
        np.float32(0.0)
    """

    db: np.ndarray
    times: np.ndarray
    mel_hz: np.ndarray
    sample_rate: int
    duration_s: float
    top_db: float

    def to_db(self) -> np.ndarray:
        """The cells in dB relative to the take's loudest cell (``-top_db`` … 0)."""
        return (self.db.astype(np.float32) / 255.0 - 1.0) * np.float32(self.top_db)


@dataclass(frozen=True)
class Envelope:
    """A waveform reduced to per-pixel minimum and maximum (``float32``).

    Example:
        >>> e = compute_envelope(np.array([0, 1, -1, 0.5], np.float32), 4, points=2)
        >>> e.lo.tolist(), e.hi.tolist()
        ([0.0, -1.0], [1.0, 0.5])
    """

    times: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sample_rate: int
    duration_s: float


# -- computing -------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sr / 2)
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=0.0, fmax=sr / 2)[1:-1]
    return basis.astype(np.float32), centres.astype(np.float32)


def _mono(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1 if x.shape[1] < x.shape[0] else 0)
    if x.ndim != 1:
        raise AudioError(f"audio must be mono or (frames, channels), got shape {x.shape}")
    return x


def compute_spectrogram(samples: np.ndarray, sample_rate: int, *, n_mels: int = N_MELS,
                        max_frames: int = MAX_FRAMES, top_db: float = TOP_DB) -> Spectrogram:
    """Mel power spectrogram in dB, at most ``max_frames`` columns wide.

    The analysis window is about 32 ms (a power of two at this rate) and grows with the hop
    for long audio, so every sample lands in some window and short clicks stay visible.

    Example:
        >>> s = compute_spectrogram(np.zeros(32000, np.float32), 32000, max_frames=100)
        >>> s.db.shape, int(s.db.max())
        ((96, 100), 0)
    """
    if sample_rate <= 0:
        raise InvalidInput(f"sample rate must be positive, got {sample_rate}")
    if n_mels < 1 or max_frames < 1 or top_db <= 0:
        raise InvalidInput("n_mels, max_frames and top_db must be positive")
    x = _mono(samples)
    n = len(x)
    hop = max(1, math.ceil(n / max_frames))
    win = 2 ** math.ceil(math.log2(max(sample_rate * 0.032, 2.0)))
    n_fft = max(win, 2 ** math.ceil(math.log2(hop)))
    frames = max(1, math.ceil(n / hop))
    # Centre frames on k*hop (like librosa's center=True) and pad so every frame is whole.
    pad = n_fft // 2
    xp = np.zeros(n + 2 * pad + hop, dtype=np.float32)
    xp[pad:pad + n] = x
    view = np.lib.stride_tricks.as_strided(
        xp, shape=(frames, n_fft), strides=(xp.strides[0] * hop, xp.strides[0]), writeable=False
    )
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    # scipy's FFT stays in single precision: 4x faster than numpy's here, same picture.
    from scipy import fft

    power = np.abs(fft.rfft(view * window, axis=1)) ** 2
    basis, centres = _mel_basis(int(sample_rate), int(n_fft), int(n_mels))
    mel = basis @ power.T.astype(np.float32)
    peak = float(mel.max())
    if peak <= 1e-20:  # digital silence: everything at the floor
        q = np.zeros(mel.shape, dtype=np.uint8)
    else:
        db = 10.0 * np.log10(np.maximum(mel, peak * 1e-12) / peak)
        q = np.round((np.clip(db, -top_db, 0.0) + top_db) * (255.0 / top_db)).astype(np.uint8)
    times = (np.arange(frames, dtype=np.float64) * hop / sample_rate).astype(np.float32)
    return Spectrogram(q, times, centres, int(sample_rate), n / sample_rate, float(top_db))


def compute_envelope(samples: np.ndarray, sample_rate: int, *,
                     points: int = ENVELOPE_POINTS) -> Envelope:
    """Per-column minimum and maximum of the waveform, ``points`` columns at most.

    Example:
        >>> compute_envelope(np.zeros(10, np.float32), 10, points=100).times.size
        10
    """
    x = _mono(samples)
    n = len(x)
    if n == 0:
        z = np.zeros(0, np.float32)
        return Envelope(z, z, z, int(sample_rate), 0.0)
    step = max(1, math.ceil(n / max(points, 1)))
    cols = math.ceil(n / step)
    padded = np.empty(cols * step, dtype=np.float32)
    padded[:n] = x
    padded[n:] = x[-1]
    blocks = padded.reshape(cols, step)
    times = (np.arange(cols) * step / sample_rate).astype(np.float32)
    return Envelope(times, blocks.min(axis=1), blocks.max(axis=1), int(sample_rate),
                    n / sample_rate)


# -- caching ---------------------------------------------------------------------------------


def _settings(n_mels: int, max_frames: int, top_db: float, points: int) -> str:
    blob = json.dumps([VISUALS_VERSION, n_mels, max_frames, top_db, points])
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


class VisualCache:
    """Spectrogram and envelope arrays kept as ``<root>/<key[:2]>/<key>-<settings>.npz``.

    ``key`` must name audio that never changes (a take id, a clip's sha256). A missing or
    unreadable cache file is recomputed; writes are atomic, so two processes rendering the
    same take at once both end with a whole file.

    Example:
        >>> import tempfile
        >>> cache = VisualCache(tempfile.mkdtemp())
        >>> calls = []
        >>> def load():
        ...     calls.append(1)
        ...     return np.zeros(1600, np.float32), 16000
        >>> s1, _ = cache.get("abc", load); s2, _ = cache.get("abc", load)
        >>> len(calls), s1.db.shape == s2.db.shape
        (1, True)
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str, *, n_mels: int = N_MELS, max_frames: int = MAX_FRAMES,
             top_db: float = TOP_DB, points: int = ENVELOPE_POINTS) -> Path:
        """Where the arrays for ``key`` and these settings live."""
        safe = "".join(c for c in key if c.isalnum() or c in "-_") or "x"
        return self.root / safe[:2] / f"{safe}-{_settings(n_mels, max_frames, top_db, points)}.npz"

    def get(self, key: str, load: Callable[[], tuple[np.ndarray, int]], *,
            n_mels: int = N_MELS, max_frames: int = MAX_FRAMES, top_db: float = TOP_DB,
            points: int = ENVELOPE_POINTS) -> tuple[Spectrogram, Envelope]:
        """The cached arrays for ``key``, computing them from ``load()`` on a miss."""
        p = self.path(key, n_mels=n_mels, max_frames=max_frames, top_db=top_db, points=points)
        if p.exists():
            try:
                return _read_npz(p)
            except Exception:  # a damaged cache file is only a cache miss
                pass
        samples, sr = load()
        spec = compute_spectrogram(samples, sr, n_mels=n_mels, max_frames=max_frames,
                                   top_db=top_db)
        env = compute_envelope(samples, sr, points=points)
        buf = io.BytesIO()
        np.savez(buf, db=spec.db, times=spec.times, mel_hz=spec.mel_hz, env_t=env.times,
                 env_lo=env.lo, env_hi=env.hi,
                 meta=np.array([spec.sample_rate, spec.duration_s, spec.top_db], np.float64))
        _write_quick(p, buf.getvalue())
        return spec, env

    def clear(self, key: str | None = None) -> int:
        """Delete cached files (of one key, or all); returns how many were removed."""
        if not self.root.exists():
            return 0
        if key is None:
            found = self.root.rglob("*.npz")
        else:  # one key lives in one shard: no walk over the whole cache
            one = self.path(key)
            found = one.parent.glob(f"{one.name.rsplit('-', 1)[0]}-*.npz")
        n = 0
        for f in found:
            f.unlink(missing_ok=True)
            n += 1
        return n


def _write_quick(p: Path, data: bytes) -> None:
    """Write a cache file atomically (temporary name, rename) but without fsync: after a
    power cut a cache file may be lost or damaged, which only costs a recomputation."""
    import tempfile

    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_npz(p: Path) -> tuple[Spectrogram, Envelope]:
    with np.load(p) as z:
        sr, dur, top_db = (float(v) for v in z["meta"])
        spec = Spectrogram(z["db"], z["times"], z["mel_hz"], int(sr), dur, top_db)
        env = Envelope(z["env_t"], z["env_lo"], z["env_hi"], int(sr), dur)
    return spec, env


# -- drawing ---------------------------------------------------------------------------------


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:.0f}"


def _band_labels(mel_hz: np.ndarray) -> list[str]:
    labels: list[str] = []
    seen: set[str] = set()
    for hz in mel_hz:
        label = f"{hz:.0f} Hz"
        while label in seen:  # category axes need unique labels
            label += "\u200b"
        seen.add(label)
        labels.append(label)
    return labels


def figure(spec: Spectrogram | None = None, env: Envelope | None = None, *,
           title: str | None = None, height: int | None = None,
           colorscale: str = "Magma") -> Any:
    """A Plotly figure: spectrogram, waveform, or both stacked on one time axis.

    The spectrogram's frequency axis is in mel bands labelled in Hz; the colour bar is in dB
    below the take's loudest cell. Arrays go out as ``uint8``/``float32`` binary payloads.

    Example:
        >>> x = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
        >>> fig = figure(compute_spectrogram(x, 16000), compute_envelope(x, 16000))
        >>> [t.type for t in fig.data]
        ['scatter', 'scatter', 'heatmap']
    """
    import plotly.graph_objects as go

    if spec is None and env is None:
        raise InvalidInput("nothing to draw: give a spectrogram, an envelope or both")
    both = spec is not None and env is not None
    duration = max((spec or env).duration_s, 1e-3)  # type: ignore[union-attr]
    # One layout dict and one Figure call: plotly's make_subplots/update_* helpers cost
    # ~15 ms a figure, which a review page of 20 takes would feel.
    layout: dict[str, Any] = {
        "height": height or (300 if both else 220),
        "margin": {"l": 48, "r": 8, "t": 28 if title else 8, "b": 32},
        "plot_bgcolor": "white",
        "showlegend": False,
        "xaxis": {"range": [0, duration], "anchor": "y", "domain": [0, 1]},
    }
    if title:
        layout["title"] = {"text": title, "font": {"size": 13}}
    traces = []
    # With both panels: waveform on top (x/y), spectrogram below (x2/y2), one time axis.
    wave_axes, spec_axes = ("x", "y"), ("x2", "y2") if both else ("x", "y")
    if both:
        layout["xaxis"].update(matches="x2", showticklabels=False)
        layout["yaxis"] = {"anchor": "x", "domain": [0.7284, 1.0]}
        layout["xaxis2"] = {"range": [0, duration], "anchor": "y2", "domain": [0, 1],
                            "title": {"text": "s"}}
        layout["yaxis2"] = {"anchor": "x2", "domain": [0.0, 0.6984]}
    else:
        layout["xaxis"]["title"] = {"text": "s"}
        layout["yaxis"] = {"anchor": "x", "domain": [0, 1]}
    if env is not None:
        line = {"width": 0.6, "color": "#3b6ea5"}
        xa, ya = wave_axes
        traces.append(go.Scatter(x=env.times, y=env.lo, mode="lines", line=line,
                                 hoverinfo="skip", xaxis=xa, yaxis=ya))
        traces.append(go.Scatter(x=env.times, y=env.hi, mode="lines", line=line, fill="tonexty",
                                 fillcolor="rgba(59,110,165,0.55)", xaxis=xa, yaxis=ya,
                                 hovertemplate="%{x:.2f} s<extra></extra>"))
        layout["yaxis"].update(range=[-1, 1], showticklabels=False, zeroline=False)
    if spec is not None:
        labels = _band_labels(spec.mel_hz)
        tickvals, ticktext = [], []
        for hz in _NICE_HZ:
            if hz <= spec.sample_rate / 2 and len(spec.mel_hz):
                k = int(np.abs(spec.mel_hz - hz).argmin())
                if labels[k] not in tickvals:
                    tickvals.append(labels[k])
                    ticktext.append(_hz_label(hz))
        db_ticks = [0, 255 * 0.25, 255 * 0.5, 255 * 0.75, 255]
        xa, ya = spec_axes
        traces.append(go.Heatmap(
            z=spec.db, x=spec.times, y=labels, zmin=0, zmax=255, colorscale=colorscale,
            xaxis=xa, yaxis=ya,
            colorbar={"tickvals": db_ticks, "thickness": 10, "len": 0.7 if both else 1.0,
                      "y": 0.35 if both else 0.5,
                      "ticktext": [f"{-spec.top_db * (1 - v / 255):.0f} dB" for v in db_ticks]},
            hovertemplate="%{x:.2f} s · %{y}<extra></extra>",
        ))
        layout["yaxis2" if both else "yaxis"].update(
            type="category", tickvals=tickvals, ticktext=ticktext, title={"text": "Hz"})
    return go.Figure(data=traces, layout=layout)


def show(spec: Spectrogram, env: Envelope, what: str = "both", *,
         title: str | None = None) -> Any:
    """:func:`figure` of ``"spectrogram"``, ``"waveform"`` or ``"both"``.

    Example:
        >>> x = np.zeros(1600, np.float32)
        >>> len(show(compute_spectrogram(x, 16000), compute_envelope(x, 16000), "waveform").data)
        2
    """
    if what not in ("spectrogram", "waveform", "both"):
        raise InvalidInput(f"show spectrogram, waveform or both, not {what!r}")
    return figure(spec if what != "waveform" else None, env if what != "spectrogram" else None,
                  title=title)


def clip_visuals(ws: Any, clip_id: int, **opts: Any) -> tuple[Spectrogram, Envelope]:
    """Cached arrays of a reference clip (keyed by its audio hash, like takes by id).

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import make_clip
        >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
        >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "c.wav"), 3.5))
        >>> clip_visuals(ws, c.id)[0].duration_s
        3.5
    """
    from rasv.audio import files as audio_io

    clip = ws.clips.get(int(clip_id))
    path = ws.abspath(clip.path)
    cache = VisualCache(Path(ws.root) / VISUALS_DIR)
    return cache.get(f"clip-{clip.sha256}", lambda: audio_io.read(path), **opts)


def clip_figure(ws: Any, clip_id: int, what: str = "both", *, title: str | None = None,
                **opts: Any) -> Any:
    """A Plotly figure of a reference clip (see :func:`show`)."""
    return show(*clip_visuals(ws, clip_id, **opts), what, title=title)


__all__ = [
    "ENVELOPE_POINTS",
    "MAX_FRAMES",
    "N_MELS",
    "TOP_DB",
    "VISUALS_DIR",
    "VISUALS_VERSION",
    "clip_figure",
    "clip_visuals",
    "compute_envelope",
    "compute_spectrogram",
    "Envelope",
    "figure",
    "show",
    "Spectrogram",
    "VisualCache",
]
