"""EspeakEngine: real offline speech whose length tracks text and speed, pitch from the reference."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from gsv_helpers import request

import rasv
from gsv_bridge import EspeakEngine
from gsv_bridge import espeak_engine as ee
from rasv.testing import make_clip

ZH = "今天天气很好，我们一起去公园散步吧。"
EN = "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    d = tmp_path_factory.mktemp("refs")
    return {"low": make_clip(d / "low.wav", 4.0, f0=110.0),
            "high": make_clip(d / "high.wav", 4.0, f0=230.0)}


@pytest.fixture(scope="module")
def eng():
    return EspeakEngine()


def _f0(audio):
    x = librosa.resample(audio.samples, orig_sr=audio.sample_rate, target_sr=16000)
    f0 = librosa.yin(x, fmin=60, fmax=400, sr=16000, frame_length=1024)
    rms = librosa.feature.rms(y=x, frame_length=1024, hop_length=256)[0][: len(f0)]
    return float(np.median(f0[: len(rms)][rms > 0.3 * rms.max()]))


def _speech_fraction(audio):
    rms = librosa.feature.rms(y=audio.samples, frame_length=2048, hop_length=512)[0]
    return float((rms > 0.05 * rms.max()).mean())


@pytest.mark.parametrize(("text", "lang"), [(ZH, "zh"), (EN, "en")])
def test_duration_tracks_text_and_speed(eng, refs, text, lang):
    one = eng.synthesize(request(refs["low"], text=text, text_lang=lang))
    two = eng.synthesize(request(refs["low"], text=text + text, text_lang=lang))
    fast = eng.synthesize(request(refs["low"], text=text, text_lang=lang, speed_factor=1.5))
    assert one.sample_rate == 32000
    assert 1.7 < two.duration_s / one.duration_s < 2.3
    assert 1.25 < one.duration_s / fast.duration_s < 1.8
    assert 0.4 < _speech_fraction(one) < 1.0  # speech with pauses, not silence or noise


def test_pitch_follows_the_reference(eng, refs):
    low = eng.synthesize(request(refs["low"], text=EN, text_lang="en"))
    high = eng.synthesize(request(refs["high"], text=EN, text_lang="en"))
    assert low.meta["ref_f0"] == pytest.approx(110, rel=0.1)
    assert high.meta["ref_f0"] == pytest.approx(230, rel=0.1)
    assert _f0(high) > _f0(low) * 1.3
    assert not np.array_equal(low.samples[:1000], high.samples[:1000])


def test_mixed_chinese_english_uses_both_voices(eng, refs, monkeypatch):
    voices = []
    real = ee.synth
    monkeypatch.setattr(ee, "synth", lambda t, voice, **kw: voices.append((t, voice)) or real(
        t, voice=voice, **kw))
    a = eng.synthesize(request(refs["low"], text="我最喜欢的语言是 Python 和 Rust。", text_lang="zh"))
    assert [v.split("+")[0] for _, v in voices] == ["cmn", "en-us", "cmn", "en-us"]
    assert a.duration_s > 1.5


def test_languages_and_auto(eng, refs):
    ja = eng.synthesize(request(refs["low"], text="こんにちは、元気ですか。", text_lang="ja"))
    auto = eng.synthesize(request(refs["low"], text="Hello there, how are you?", text_lang="auto"))
    assert ja.meta["voice"].startswith("ja") and auto.meta["voice"].startswith("en-us")


def test_ignored_parameters_are_declared_and_really_ignored(eng, refs):
    caps = eng.capabilities()
    assert caps.kind == "espeak" and caps.voice_cloning is False and "not a voice cloner" in caps.notes
    assert caps.ignored({"seed", "top_k", "temperature", "speed_factor"}) == {
        "seed", "top_k", "temperature"}
    a = eng.synthesize(request(refs["low"], text=EN, text_lang="en", seed=1, top_k=3))
    b = eng.synthesize(request(refs["low"], text=EN, text_lang="en", seed=2, top_k=30))
    # espeak-ng carries a little state (the phase of its pitch flutter) from call to call,
    # so takes match to within milliseconds rather than sample for sample.
    assert abs(a.duration_s - b.duration_s) < 0.01
    assert {k: v for k, v in a.meta.items() if k != "seed_ignored"} == {
        k: v for k, v in b.meta.items() if k != "seed_ignored"}


def test_bad_input(eng, refs, tmp_path):
    with pytest.raises(rasv.EngineRequestError, match="nothing to speak") as ei:
        eng.synthesize(request(refs["low"], text=" 。！… "))
    assert not ei.value.transient
    with pytest.raises(rasv.AudioError, match="not found"):
        eng.synthesize(request(str(tmp_path / "missing.wav")))


def test_reference_pitch_is_cached_per_file(refs, monkeypatch):
    eng = EspeakEngine()
    calls = []
    real = ee._median_f0
    monkeypatch.setattr(ee, "_median_f0", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        eng.synthesize(request(refs["high"], text="hello", text_lang="en"))
    assert len(calls) == 1
