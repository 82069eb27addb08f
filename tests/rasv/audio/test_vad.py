"""Voice activity and cut suggestions on espeak speech with known pauses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsv_bridge.espeak import synth
from rasv.audio import vad
from rasv.errors import BackendUnavailable, InvalidInput

REPO = Path(__file__).resolve().parents[3]

SENTENCES = ["今天天气很好。", "我们一起去公园散步吧。", "明天可能会下雨，记得带伞。",
             "这是一个测试句子。", "火车马上就要开了。", "请把桌子上的书递给我。"]
GAPS = [0.4, 0.8, 1.2, 0.5, 1.0]


@pytest.fixture(scope="module")
def speech():
    """~20 s of Mandarin with pauses of known length: (samples, rate, true speech spans)."""
    parts, spans, t = [], [], 0.0
    sr = 22050
    for i, text in enumerate(SENTENCES):
        x, sr = synth(text, voice="cmn")
        nz = np.flatnonzero(np.abs(x) > 1e-3)  # espeak pads a little silence itself
        spans.append((t + nz[0] / sr, t + nz[-1] / sr))
        parts.append(x)
        t += len(x) / sr
        if i < len(GAPS):
            parts.append(np.zeros(int(GAPS[i] * sr), np.float32))
            t += GAPS[i]
    return np.concatenate(parts), sr, spans


@pytest.mark.parametrize("backend", ["silero", "rms"])
def test_segments_find_every_sentence(speech, backend):
    x, sr, truth = speech
    segs = vad.speech_segments(x, sr, backend=backend, min_silence_s=0.3)
    assert len(segs) == len(truth)
    for (s, e), (ts, te) in zip(segs, truth, strict=True):
        assert abs(s - ts) < 0.15 and abs(e - te) < 0.15


@pytest.mark.parametrize("backend", ["silero", "rms"])
def test_suggested_pieces_cut_inside_pauses(speech, backend):
    x, sr, truth = speech
    pieces = vad.suggest_pieces(x, sr, backend=backend)
    assert pieces, "a 20 s recording with pauses must give pieces"
    covered = 0.0
    for s, e in pieces:
        assert 3.0 - 1e-6 <= e - s <= 10.0 + 1e-6
        for ts, te in truth:  # no sentence is cut in two
            assert not (ts + 0.05 < s < te - 0.05) and not (ts + 0.05 < e < te - 0.05)
        covered += sum(min(e, te) - max(s, ts) for ts, te in truth if min(e, te) > max(s, ts))
    speech_total = sum(te - ts for ts, te in truth)
    assert covered / speech_total > 0.9
    assert pieces == sorted(pieces)
    assert all(a[1] <= b[0] for a, b in zip(pieces, pieces[1:], strict=False))


def test_silero_path_never_imports_torch(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from rasv.audio import vad\n"
        "x = np.sin(np.arange(32000) * 0.05).astype(np.float32) * 0.3\n"
        "vad.speech_segments(x, 16000, backend='silero')\n"
        "print('torch' in sys.modules, 'silero_vad' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_auto_falls_back_to_rms_without_silero(monkeypatch):
    monkeypatch.setattr(vad, "silero_model_path", lambda: None)
    assert vad.resolve_backend("auto") == "rms"
    with pytest.raises(BackendUnavailable, match="pip install silero-vad"):
        vad.resolve_backend("silero")
    with pytest.raises(InvalidInput):
        vad.resolve_backend("webrtc")


def test_rates_channels_and_empty_input():
    sr = 44100
    t = np.arange(sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    mono = np.concatenate([np.zeros(sr // 2, np.float32), tone])
    stereo = np.stack([mono, mono * 0.5])
    a = vad.speech_segments(mono, sr, backend="rms", pad_s=0)
    b = vad.speech_segments(stereo, sr, backend="rms", pad_s=0)
    assert a == b == [(0.5, 1.5)]
    assert vad.speech_segments(np.zeros(0, np.float32), 16000, backend="rms") == []
    assert vad.speech_probabilities(np.zeros(0, np.float32), 16000, backend="silero").values.size == 0
    with pytest.raises(InvalidInput):
        vad.speech_segments(np.zeros((2, 2, 2)), 16000)


def test_hysteresis_rules():
    p = vad.SpeechProbabilities(np.array([0, .9, .9, .5, .45, .9, 0, 0, 0, .9, 0]), 0.1, 1.1, "x")
    # 0.45 stays above the 0.35 exit threshold: one segment from 0.1 to 0.6
    assert vad.segments_from_probabilities(p, min_speech_s=0.0, min_silence_s=0.2,
                                           pad_s=0.0) == [(0.1, 0.6), (0.9, 1.0)]
    # short segments are dropped, padding merges neighbours and stays inside the audio
    assert vad.segments_from_probabilities(p, min_speech_s=0.2, min_silence_s=0.2,
                                           pad_s=0.0) == [(0.1, 0.6)]
    assert vad.segments_from_probabilities(p, min_speech_s=0.0, min_silence_s=0.2,
                                           pad_s=0.2) == [(0.0, 1.1)]
    with pytest.raises(InvalidInput):
        vad.segments_from_probabilities(p, threshold=1.5)


def test_silences_are_the_complement():
    assert vad.silences([], 2.0) == [(0.0, 2.0)]
    assert vad.silences([(0.0, 2.0)], 2.0) == []
    assert vad.silences([(0.2, 0.5), (0.4, 0.9)], 1.0) == [(0.0, 0.2), (0.9, 1.0)]


def test_plan_pieces_leaves_out_what_cannot_fit():
    # a 12 s stretch with no pause cannot be a piece; the rest can
    segs = [(0.0, 12.0), (12.6, 15.0), (15.5, 17.5)]
    pieces = vad.plan_pieces(segs, 18.0)
    assert pieces == [(12.35, 17.75)]
    assert vad.plan_pieces([], 5.0) == []
    with pytest.raises(InvalidInput):
        vad.suggest_pieces(np.zeros(16000, np.float32), 16000, min_s=5, max_s=3)


@st.composite
def _segment_lists(draw):
    n = draw(st.integers(1, 12))
    t = draw(st.floats(0, 2))
    segs = []
    for _ in range(n):
        length = draw(st.floats(0.2, 6))
        segs.append((round(t, 3), round(t + length, 3)))
        t += length + draw(st.floats(0.3, 3))
    return segs, round(t, 3)


@settings(max_examples=150, deadline=None)
@given(_segment_lists(), st.floats(0, 0.6))
def test_plan_pieces_invariants(case, keep):
    segs, duration = case
    pieces = vad.plan_pieces(segs, duration, keep_silence_s=keep)
    for s, e in pieces:
        assert 3.0 - 1e-6 <= e - s <= 10.0 + 1e-6
        assert s >= 0 and e <= duration + 1e-6
        for a, b in segs:  # never inside speech
            assert not (a + 1e-6 < s < b - 1e-6) and not (a + 1e-6 < e < b - 1e-6)
    assert all(p[1] <= q[0] + 1e-6 for p, q in zip(pieces, pieces[1:], strict=False))
