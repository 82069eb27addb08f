"""Splitting clips: exact samples, order, lineage, atomicity; cut suggestions."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from gsv_bridge.espeak import synth
from rasv.audio.files import write_wav
from rasv.cli import main
from rasv.clips.split import normalize_segments, region_samples
from rasv.errors import AlreadyExists, ClipNotFound, InvalidInput


def _noise_file(path, seconds, sr, channels=1, subtype="PCM_16", seed=0):
    rng = np.random.default_rng(seed)
    data = rng.uniform(-0.5, 0.5, (int(seconds * sr), channels)).astype(np.float32)
    sf.write(str(path), data if channels > 1 else data[:, 0], sr, subtype=subtype)
    return path


def _blob_files(ws):
    return sorted(p for p in (ws.root / "audio" / "clips").rglob("*") if p.is_file())


@pytest.mark.parametrize("sr,channels,subtype,src_suffix,suffix", [
    (44100, 2, "PCM_16", ".wav", ".wav"),
    (32000, 1, "PCM_24", ".flac", ".flac"),
    (22050, 1, "FLOAT", ".wav", ".wav"),
    (48000, 2, "PCM_24", ".aiff", ".wav"),
])
def test_split_is_sample_exact_in_order(ws, role, tmp_path, sr, channels, subtype, src_suffix,
                                        suffix):
    src = _noise_file(tmp_path / f"long{src_suffix}", 12.0, sr, channels, subtype)
    parent = ws.clips.add(role, src, text="原文", lang="ja", category="calm", remark="r")
    before = ws.clips.get(parent.id)
    segments = [[(0.0, 3.2)], [(7.2, 9.9), (4.1, 6.0)]]  # the second one out of time order
    ids = ws.clips.split(parent.id, segments)
    assert len(ids) == 2
    original, _ = sf.read(str(ws.clips.abspath(parent.id)), dtype="float64", always_2d=True)
    for cid, regions in zip(ids, segments, strict=True):
        child = ws.clips.get(cid)
        data, rate = sf.read(str(ws.clips.abspath(cid)), dtype="float64", always_2d=True)
        expected = np.concatenate([original[round(s * sr):round(e * sr)] for s, e in regions])
        assert rate == sr and data.shape == expected.shape
        assert np.array_equal(data, expected)  # bit-exact, joined in the given order
        assert sf.info(str(ws.clips.abspath(cid))).subtype == subtype
        assert child.path.endswith(suffix)
        assert child.parent_id == parent.id and child.segments == (tuple(regions),)
        assert child.source_path is None
        assert (child.lang, child.category, child.text) == ("ja", "calm", "")
        assert child.channels == channels and child.sample_rate == sr
        assert child.valid == (3.0 <= child.duration_s <= 10.0)
    names = [ws.clips.get(i).name for i in ids]
    assert names == ["long-1", "long-2"]
    assert ws.clips.get(parent.id) == before  # the parent is untouched
    assert ws.clips.df(role, parent_id=parent.id, sort="id").id.tolist() == sorted(ids)


def test_split_counts_samples_exactly(ws, role, tmp_path):
    sr = 16000
    parent = ws.clips.add(role, _noise_file(tmp_path / "p.wav", 5.0, sr))
    ids = ws.clips.split(parent.id, [[(0.00003, 1.00003), (2.5, 2.50006)], (4.0, 5.0)])
    first = sf.info(str(ws.clips.abspath(ids[0])))
    # round(t * rate): 0.00003 s -> sample 0, 1.00003 s -> 16000; 2.5 -> 40000, 2.50006 -> 40001
    assert first.frames == 16000 + 1
    assert sf.info(str(ws.clips.abspath(ids[1]))).frames == 16000
    assert ws.clips.get(ids[1]).valid is False  # 1 s: outside 3–10 s


def test_lossy_source_becomes_wav_with_the_decoded_samples(ws, role, tmp_path):
    src = tmp_path / "a.ogg"
    sr = 22050
    _noise_file(src, 6.0, sr, subtype="VORBIS")
    parent = ws.clips.add(role, src)
    (cid,) = ws.clips.split(parent.id, [[(1.0, 4.5)]])
    child = ws.clips.get(cid)
    assert child.path.endswith(".wav") and child.sample_rate == sr
    assert sf.info(str(ws.clips.abspath(cid))).frames == round(4.5 * sr) - round(1.0 * sr)


@pytest.mark.parametrize("segments,message", [
    ([[(4.0, 6.0)]], "lies outside the clip"),
    ([[(-0.5, 1.0)]], "lies outside the clip"),
    ([[(2.0, 2.0)]], "is empty"),
    ([[(3.0, 2.0)]], "is empty"),
    ([[(0.0, 2.0), (1.5, 3.0)]], "regions 1 and 2 overlap"),
    ([[(1.5, 3.0), (0.0, 2.0)]], "regions 1 and 2 overlap"),
    ([[]], "has no regions"),
    ([], "at least one segment"),
    ([[(0.0, "x")]], "must be a (start, end) pair"),
    ("0-3", "must be a list"),
])
def test_bad_regions_fail_before_writing_anything(ws, role, tmp_path, segments, message):
    parent = ws.clips.add(role, _noise_file(tmp_path / "p.wav", 5.0, 16000))
    blobs = _blob_files(ws)
    with pytest.raises(InvalidInput) as e:
        ws.clips.split(parent.id, [[(0.0, 1.0)], *segments] if segments and
                       not isinstance(segments, str) else segments)
    assert message in str(e.value)
    assert ws.clips.count(role) == 1 and _blob_files(ws) == blobs
    assert not list(ws.root.glob(".split-*"))


def test_a_failing_segment_rolls_back_the_whole_split(ws, role, tmp_path):
    parent = ws.clips.add(role, _noise_file(tmp_path / "p.wav", 8.0, 16000))
    blobs = _blob_files(ws)
    # the third segment has the same audio as the first: nothing may be added
    with pytest.raises(AlreadyExists, match="segment 3"):
        ws.clips.split(parent.id, [[(0, 3.5)], [(4, 7.5)], [(0, 3.5)]])
    assert ws.clips.count(role) == 1
    assert _blob_files(ws) == blobs
    with pytest.raises(ClipNotFound):
        ws.clips.split(999, [[(0, 1)]])


def test_names_continue_and_stay_unique(ws, role, tmp_path):
    parent = ws.clips.add(role, _noise_file(tmp_path / "take.wav", 9.0, 16000), name="take.wav")
    first = ws.clips.split(parent.id, [[(0, 3)], [(3, 6)]])
    second = ws.clips.split(parent.id, [[(6, 9)]])
    assert [ws.clips.get(i).name for i in first + second] == ["take-1", "take-2", "take-3"]
    grandchild = ws.clips.split(second[0], [[(0, 1.5)]])
    assert ws.clips.get(grandchild[0]).name == "take-3-1"


def test_segment_helpers():
    assert normalize_segments([(1, 2)]) == [[(1.0, 2.0)]]
    with pytest.raises(InvalidInput):
        normalize_segments([[(0, float("nan"))]])
    with pytest.raises(InvalidInput):
        normalize_segments([[(True, 2)]])
    assert region_samples([[(0.0, 1.0)]], 10, 10) == [[(0, 10)]]


@pytest.fixture
def long_speech(ws, role, tmp_path):
    """A 20-odd second recording: six sentences with known pauses between them."""
    parts, spans, t = [], [], 0.0
    texts = ["今天天气很好。", "我们一起去公园散步吧。", "明天可能会下雨，记得带伞。",
             "这是一个测试句子。", "火车马上就要开了。", "请把桌子上的书递给我。"]
    sr = 22050
    for i, text in enumerate(texts):
        x, sr = synth(text, voice="cmn+f3")
        spans.append((t, t + len(x) / sr))
        parts.append(x)
        t += len(x) / sr
        gap = [0.6, 1.0, 0.5, 1.2, 0.7][i] if i < 5 else 0.0
        parts.append(np.zeros(int(gap * sr), np.float32))
        t += gap
    write_wav(tmp_path / "speech.wav", np.concatenate(parts), sr)
    return ws.clips.add(role, tmp_path / "speech.wav", lang="zh", category="long"), spans


def test_suggest_cuts_then_split(ws, role, long_speech):
    clip, spans = long_speech
    for backend in ("silero", "rms"):
        pieces = ws.clips.suggest_cuts(clip.id, backend=backend)
        assert len(pieces) >= 2
        for s, e in pieces:
            assert 3.0 <= e - s <= 10.0
            for a, b in spans:  # no sentence is cut
                assert not (a + 0.1 < s < b - 0.1) and not (a + 0.1 < e < b - 0.1)
    ids = ws.clips.split(clip.id, [[p] for p in pieces])
    kids = [ws.clips.get(i) for i in ids]
    assert all(k.valid and k.category == "long" and k.parent_id == clip.id for k in kids)
    with pytest.raises(ClipNotFound):
        ws.clips.suggest_cuts(4242)


def test_cli_split_and_suggest_cuts(ws, role, long_speech):
    clip, _ = long_speech
    ws.close()
    runner = CliRunner()
    res = runner.invoke(main, ["suggest-cuts", "-w", str(ws.root), str(clip.id), "--vad", "rms"])
    assert res.exit_code == 0, res.output
    assert res.output.count("-") >= 2 and " s)" in res.output
    res = runner.invoke(main, ["split", "-w", str(ws.root), str(clip.id),
                               "--segment", "0-3.2", "--segment", "4.1-6.0,7.2-9.9"])
    assert res.exit_code == 0, res.output
    assert "speech-1 (3.20 s, valid)" in res.output and "speech-2 (4.60 s, valid)" in res.output
    res = runner.invoke(main, ["split", "-w", str(ws.root), str(clip.id), "--segment", "3-x"])
    assert res.exit_code != 0 and "START-END" in res.output
    res = runner.invoke(main, ["split", "-w", str(ws.root), str(clip.id), "--segment", "0-99"])
    assert res.exit_code == 1 and "lies outside the clip" in res.output
    res = runner.invoke(main, ["suggest-cuts", "-w", str(ws.root), str(clip.id), "--vad", "rms",
                               "--split"])
    assert res.exit_code == 0 and "split into clips" in res.output


def test_cli_says_when_pieces_leave_speech_out(ws, role, tmp_path):
    sr = 16000
    t = np.arange(int(12 * sr)) / sr  # 12 s of speech with no pause: no piece fits in 10 s
    talk = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    x = np.concatenate([talk, np.zeros(sr, np.float32), talk[: 4 * sr]])
    sf.write(tmp_path / "run_on.wav", x, sr)
    clip = ws.clips.add(role, tmp_path / "run_on.wav")
    ws.close()
    res = CliRunner().invoke(main, ["suggest-cuts", "-w", str(ws.root), str(clip.id),
                                    "--vad", "rms"])
    assert res.exit_code == 0, res.output
    assert "cover 4.2 of 17.0 s" in res.output and "--min-silence 0.15" in res.output
