"""Each DSP detector on the espeak evaluation set: it finds its defect and leaves clean takes."""

from __future__ import annotations

import numpy as np
import pytest

from rasv.analysis.clipping import clipped_runs, clipping
from rasv.analysis.ending import ending
from rasv.analysis.noise import hum_prominence, noise
from rasv.analysis.pace import pace
from rasv.analysis.repetition import repetition
from rasv.analysis.silence import silence
from rasv.analysis.speech import speech_segments
from rasv.analysis.take_signal import TakeSignal
from rasv.errors import AudioError, InvalidInput


def by_defect(eval_set, defect):
    return [t for t in eval_set if t.defect == defect]


def clean(eval_set):
    return [t for t in eval_set if t.defect is None]


def test_eval_set_has_every_defect(eval_set):
    kinds = {t.defect for t in eval_set}
    assert kinds == {None, "bursts", "hum", "repeat", "cutoff", "pause", "clipping"}
    assert sum(t.defect is not None for t in eval_set) / len(eval_set) < 0.2


def test_speech_segments_find_words_and_gaps():
    sr = 16000
    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(sr // 2) / sr)
    x = np.concatenate([np.zeros(sr // 4), tone, np.zeros(sr), tone, np.zeros(sr // 4)])
    segs = speech_segments(x.astype(np.float32), sr, vad="energy")
    assert len(segs) == 2
    assert segs[0][0] == pytest.approx(0.25, abs=0.02)
    assert segs[1][0] - segs[0][1] == pytest.approx(1.0, abs=0.03)


def test_default_vad_finds_the_injected_pause_in_speech(eval_set):
    t = next(x for x in eval_set if x.defect == "pause")
    segs = speech_segments(t.samples, t.sample_rate)
    gaps = [(a[1], b[0]) for a, b in zip(segs, segs[1:], strict=False)]
    longest = max(gaps, key=lambda g: g[1] - g[0])
    assert longest[1] - longest[0] == pytest.approx(t.truth["pause_s"], abs=0.2)
    assert abs(longest[0] - t.truth["at_s"]) < 0.3


def test_unknown_vad_is_refused():
    with pytest.raises(InvalidInput):
        speech_segments(np.zeros(100, np.float32), 16000, vad="webrtc")


def test_take_signal_refuses_empty_and_nan():
    with pytest.raises(AudioError):
        TakeSignal(np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError):
        TakeSignal(np.array([0.0, np.nan], dtype=np.float32), 16000)


def test_long_pause_found_where_injected(eval_set, eval_measured):
    for t in by_defect(eval_set, "pause"):
        values, details = eval_measured[t.id]
        assert values["long_pauses"] >= 1
        assert values["max_pause_s"] == pytest.approx(t.truth["pause_s"], abs=0.25)
        starts = [p[0] for p in details["long_pauses"]["pauses"]]
        assert min(abs(s - t.truth["at_s"]) for s in starts) < 0.3
    for t in clean(eval_set):
        assert eval_measured[t.id][0]["long_pauses"] == 0, t.id


def test_silence_of_silence():
    m = silence(np.zeros(8000, dtype=np.float32), 16000)
    assert m["speech_s"] == 0.0 and m["lead_silence_s"] == 0.5 and m["max_pause_s"] is None


def test_lead_and_trail_silence(eval_set, eval_measured):
    for t in clean(eval_set):
        v = eval_measured[t.id][0]
        assert 0.05 < v["lead_silence_s"] < 0.45, t.id
        assert 0.1 < v["trail_silence_s"] < 0.7, t.id


def test_clipping_found_and_clean_takes_pass(eval_set, eval_measured):
    for t in by_defect(eval_set, "clipping"):
        v, d = eval_measured[t.id]
        assert v["clipped_fraction"] > 1e-3
        assert d["clipped_fraction"]["places"]
        assert d["clipped_fraction"]["ceiling"] == pytest.approx(t.truth["ceiling"], abs=0.01)
    for t in clean(eval_set):
        assert eval_measured[t.id][0]["clipped_fraction"] < 1e-4, t.id


def test_clipped_runs_need_a_flat_top():
    sr = 16000
    sine = 0.9 * np.sin(2 * np.pi * 100 * np.arange(sr) / sr).astype(np.float32)
    assert clipped_runs(sine) == []
    assert len(clipped_runs(np.clip(sine * 2, -0.9, 0.9))) >= 100
    assert clipping(sine * 0.1, sr)["clipped_fraction"] == 0.0


def test_bursts_found_at_their_times(eval_set, eval_measured):
    for t in by_defect(eval_set, "bursts"):
        v, d = eval_measured[t.id]
        events = d["hf_bursts"]["events"]
        assert v["hf_bursts"] >= 1
        found = [min(abs(e[0] - s) for e in events) < 0.12 for s in t.truth["times"]]
        assert sum(found) >= len(t.truth["times"]) - 1, (t.id, events, t.truth)
    false = [t.id for t in clean(eval_set) if eval_measured[t.id][0]["hf_bursts"] > 0]
    assert not false


def test_hum_found_with_its_mains_frequency(eval_set, eval_measured):
    for t in by_defect(eval_set, "hum"):
        v, d = eval_measured[t.id]
        assert v["hum_db"] >= 12, t.id
        assert d["hum_db"]["mains_hz"] == t.truth["mains_hz"]
    assert max(eval_measured[t.id][0]["hum_db"] for t in clean(eval_set)) < 12


def test_hum_prominence_on_pure_tones():
    sr = 16000
    t = np.arange(2 * sr) / sr
    assert hum_prominence(0.1 * np.sin(2 * np.pi * 50 * t), sr)[1] == 50.0
    rng = np.random.default_rng(0)
    assert hum_prominence(rng.normal(0, 0.1, 2 * sr), sr)[0] < 8


def test_noise_floor_between_words():
    sr = 16000
    rng = np.random.default_rng(1)
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(sr // 2) / sr)
    x = np.concatenate([np.zeros(sr // 2), tone, np.zeros(sr // 2)])
    quiet = noise((x + rng.normal(0, 1e-4, len(x))).astype(np.float32), sr)
    hissy = noise((x + rng.normal(0, 3e-3, len(x))).astype(np.float32), sr)
    assert quiet["pause_noise_db"] < -70 < -50 < hissy["pause_noise_db"]
    assert hissy["pause_flatness"] > 0.5


def test_cutoff_endings(eval_set, eval_measured):
    for t in by_defect(eval_set, "cutoff"):
        v, d = eval_measured[t.id]
        assert v["end_level_db"] > -12, t.id
        assert d["end_level_db"]["tail_s"] < 0.05
    assert max(eval_measured[t.id][0]["end_level_db"] for t in clean(eval_set)) < -30


def test_hum_alone_is_not_a_cutoff(eval_set, eval_measured):
    for t in by_defect(eval_set, "hum"):
        assert eval_measured[t.id][0]["end_level_db"] < -20, t.id


def test_repetition_found_where_injected(eval_set, eval_measured):
    for t in by_defect(eval_set, "repeat"):
        v, d = eval_measured[t.id]
        assert v["repetition"] > 0.95, t.id
        lag = d["repetition"]["second_s"] - d["repetition"]["first_s"]
        assert lag == pytest.approx(t.truth["length_s"], abs=0.1)
    scores = [eval_measured[t.id][0]["repetition"] for t in clean(eval_set)]
    assert max(scores) < 0.9 and np.median(scores) < 0.75


def test_repetition_of_short_audio_is_none_or_zero():
    assert repetition(np.zeros(1600, dtype=np.float32), 16000)["repetition"] is None


def test_pace_per_text_unit(eval_set, eval_measured):
    for t in clean(eval_set):
        spu = eval_measured[t.id][0]["sec_per_unit"]
        assert 0.05 < spu < 0.5, t.id
    # a repeated stretch makes the take slower than its own clean source
    rep = by_defect(eval_set, "repeat")[0]
    assert eval_measured[rep.id][0]["sec_per_unit"] > np.median(
        [eval_measured[t.id][0]["sec_per_unit"] for t in clean(eval_set) if t.text == rep.text])
    assert pace(np.zeros(100, dtype=np.float32), 16000, text="")["sec_per_unit"] is None


def test_ending_of_silence_is_none():
    assert ending(np.zeros(1600, dtype=np.float32), 16000)["end_level_db"] is None


def test_clipping_found_after_resampling_smeared_the_flat_tops(eval_set):
    from rasv.audio.files import resample

    for t in eval_set:
        m = clipping(resample(t.samples, t.sample_rate, 32000), 32000)
        if t.defect == "clipping":
            assert m["plateau_fraction"] > 0.02, t.id
        else:
            assert m["plateau_fraction"] < 0.006, t.id
