"""Display spectrograms and envelopes: content, caching, figures and their payload size."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rasv
from rasv.audio.spectrogram import (
    VisualCache,
    compute_envelope,
    compute_spectrogram,
    figure,
)


def tone(hz: float, seconds: float = 1.0, sr: int = 32000) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


@pytest.mark.parametrize("hz", [300.0, 1000.0, 6000.0])
def test_a_tone_lights_the_band_at_its_frequency(hz):
    spec = compute_spectrogram(tone(hz), 32000)
    loudest = spec.mel_hz[spec.db.astype(int).sum(axis=1).argmax()]
    assert loudest == pytest.approx(hz, rel=0.12)


def test_resolution_is_bounded_whatever_the_length():
    spec = compute_spectrogram(tone(440, 60.0, 16000), 16000, max_frames=500, n_mels=64)
    assert spec.db.shape == (64, 500)
    assert spec.times[-1] < 60.0 and spec.duration_s == pytest.approx(60.0)
    assert spec.db.dtype == np.uint8 and spec.times.dtype == np.float32


def test_a_short_burst_stays_visible_after_downsampling():
    sr = 32000
    x = np.zeros(sr * 20, np.float32)
    x[sr * 7: sr * 7 + 320] = np.random.default_rng(0).normal(0, 0.5, 320)  # a 10 ms click
    spec = compute_spectrogram(x, sr, max_frames=400)
    col = spec.db.max(axis=0)
    hot = spec.times[col > 200]
    assert hot.size and hot.min() == pytest.approx(7.0, abs=0.1)


def test_db_scale_and_silence():
    spec = compute_spectrogram(tone(1000), 32000, top_db=60.0)
    db = spec.to_db()
    assert db.max() == pytest.approx(0.0) and db.min() >= -60.0
    silent = compute_spectrogram(np.zeros(8000, np.float32), 16000)
    assert int(silent.db.max()) == 0


def test_envelope_keeps_peaks():
    x = np.zeros(10000, np.float32)
    x[1234] = 0.9
    x[5678] = -0.7
    env = compute_envelope(x, 10000, points=100)
    assert env.hi.max() == pytest.approx(0.9) and env.lo.min() == pytest.approx(-0.7)
    assert len(env.times) == 100


def test_cache_computes_once_and_survives_a_damaged_file(tmp_path):
    cache = VisualCache(tmp_path)
    calls = []

    def load():
        calls.append(1)
        return tone(500), 32000

    a, _ = cache.get("take1", load)
    b, _ = cache.get("take1", load)
    assert len(calls) == 1 and np.array_equal(a.db, b.db)
    # Other display settings are another cache entry.
    cache.get("take1", load, n_mels=40)
    assert len(calls) == 2
    p = cache.path("take1")
    p.write_bytes(b"garbage")
    c, _ = cache.get("take1", load)
    assert len(calls) == 3 and np.array_equal(a.db, c.db)
    assert cache.clear("take1") == 2 and not p.exists()


def test_figure_has_time_and_frequency_axes_and_a_small_payload():
    x = tone(800, 10.0)
    fig = figure(compute_spectrogram(x, 32000), compute_envelope(x, 32000), title="t")
    heat = fig.data[-1]
    assert heat.type == "heatmap"
    assert fig.layout.yaxis2.ticktext[:3] == ("250", "500", "1k")
    assert fig.layout.xaxis2.title.text == "s"
    payload = json.loads(fig.to_json())
    z = payload["data"][2]["z"]
    assert z["dtype"] == "u1"  # uint8 binary, not a list of floats
    assert len(fig.to_json()) < 200_000
    with pytest.raises(rasv.InvalidInput):
        figure()


def test_single_panel_figures():
    x = tone(300)
    assert [t.type for t in figure(compute_spectrogram(x, 32000)).data] == ["heatmap"]
    assert [t.type for t in figure(env=compute_envelope(x, 32000)).data] == ["scatter", "scatter"]


def test_reference_clips_are_drawn_and_cached_by_their_audio_hash(ws, role, tmp_path):
    from rasv.audio.spectrogram import clip_figure
    from rasv.testing import make_clip

    clip = ws.clips.add(role, make_clip(tmp_path / "ref.wav", 4.0), text="你好。")
    fig = clip_figure(ws, clip.id, "spectrogram", title=clip.name)
    assert [t.type for t in fig.data] == ["heatmap"] and fig.layout.title.text == "ref.wav"
    cached = list((ws.root / "cache" / "visuals").rglob(f"clip-{clip.sha256}-*.npz"))
    assert len(cached) == 1
    with pytest.raises(rasv.ClipNotFound):
        clip_figure(ws, 999)
