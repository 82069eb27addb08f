"""Long-text runs: chunks as cached takes, joined WAV and SRT, scores, re-rolls, resume."""

from __future__ import annotations

import zipfile

import pytest
import soundfile as sf

import rasv
from rasv.errors import EngineRequestError
from rasv.longtext.subtitles import parse_srt
from rasv.testing import FakeEngine
from tests.rasv.review_task import make_task

LONG = ("清晨的雾气还没有散去，小镇的石板路上已经响起了自行车的铃声。卖豆浆的老人把炉火烧得很旺，"
        "锅里的热气一阵一阵地往上冒。\n学生们背着书包从巷子里跑出来，一边走一边讨论昨天的作业。"
        "街角的书店刚刚开门，店主把新到的杂志摆上架子。好的。")


@pytest.fixture
def task(ws, role, tmp_path):
    return make_task(ws, role, tmp_path / "src", n_clips=1, texts=[("你好世界。", "zh")],
                     fixed=rasv.Params(top_k=10, temperature=0.8), seeds=(7,))


def test_render_from_a_take_uses_its_exact_configuration(ws, task):
    eng = FakeEngine()
    source = ws.takes.get(task.take_ids[0])
    lt = ws.longtext.render(source.id, LONG, eng)
    assert lt.status == "done" and lt.source_take_id == source.id and lt.text_lang == "zh"
    assert len(lt.chunks) == len(rasv.longtext.chunking.chunk(LONG, "ras")) >= 2
    assert len(eng.calls) == len(lt.chunks)
    for req, ch in zip(eng.calls, lt.chunks, strict=True):
        assert req.text == ch.text
        assert (req.top_k, req.temperature, req.seed) == (10, 0.8, 7)
        assert req.prompt_text == source.prompt_text
        assert req.ref_audio_path == str(ws.clips.abspath(source.clip_id))
    # Every chunk is a take; the run's role is the clip's.
    for ch in lt.chunks:
        take = ws.takes.get(ch.take_id)
        assert take.status == "done" and take.text == ch.text and take.params.top_k == 10
    assert lt.role_id == ws.roles.get("男性-张三").id


def test_joined_audio_and_srt_timings_match_the_chunks(ws, task):
    lt = ws.longtext.render(task.take_ids[0], LONG, FakeEngine(), gap_s=0.25)
    wav = ws.abspath(lt.audio_path)
    info = sf.info(wav)
    cues = parse_srt(ws.abspath(lt.srt_path).read_text(encoding="utf-8"))
    assert [c.text for c in cues] == [ch.text for ch in lt.chunks]
    assert cues[-1].end_s == pytest.approx(info.frames / info.samplerate, abs=0.001)
    assert lt.duration_s == pytest.approx(info.duration, abs=1e-6)
    for cue, ch in zip(cues, lt.chunks, strict=True):
        chunk_dur = ws.takes.get(ch.take_id).duration_s
        assert cue.end_s - cue.start_s == pytest.approx(chunk_dur, abs=0.002)
        assert ch.start_s == pytest.approx(cue.start_s, abs=0.001)
    for a, b in zip(cues, cues[1:], strict=False):
        assert b.start_s - a.end_s == pytest.approx(0.25, abs=0.002)
    # The audio really is the chunks back to back: energy where cues are, silence in gaps.
    x, sr = sf.read(wav, dtype="float32")
    gap = x[int((cues[0].end_s + 0.05) * sr): int((cues[1].start_s - 0.05) * sr)]
    assert gap.size and abs(gap).max() == 0.0
    assert abs(x[int(cues[1].start_s * sr): int(cues[1].end_s * sr)]).max() > 0.05


def test_rendering_again_costs_nothing(ws, task):
    eng = FakeEngine()
    first = ws.longtext.render(task.take_ids[0], LONG, eng)
    calls = len(eng.calls)
    again = ws.longtext.render(task.take_ids[0], LONG, eng)
    assert len(eng.calls) == calls and again.id != first.id
    assert [c.take_id for c in again.chunks] == [c.take_id for c in first.chunks]


def test_gsv_cut_methods_and_library_texts(ws, task):
    text = ws.texts.add("One sentence here. Another one follows. And a third.", lang="en")
    lt = ws.longtext.render(task.take_ids[0], text.id, FakeEngine(), method="cut4")
    assert lt.text_id == text.id and lt.text_lang == "en" and lt.chunk_method == "cut4"
    assert [c.text for c in lt.chunks] == ["One sentence here.", "Another one follows.",
                                           "And a third."]
    with pytest.raises(rasv.InvalidInput, match="unknown chunking"):
        ws.longtext.render(task.take_ids[0], "x", FakeEngine(), method="words")


def test_reroll_changes_one_chunk_and_rejoins(ws, task):
    eng = FakeEngine()
    lt = ws.longtext.render(task.take_ids[0], LONG, eng)
    old_audio = lt.audio_path
    rolled = ws.longtext.reroll(lt.id, 1, eng)
    assert rolled.chunks[1].seed == 8 and rolled.chunks[1].take_id != lt.chunks[1].take_id
    assert [c.take_id for i, c in enumerate(rolled.chunks) if i != 1] == \
        [c.take_id for i, c in enumerate(lt.chunks) if i != 1]
    assert rolled.audio_path != old_audio and not ws.abspath(old_audio).exists()
    assert ws.takes.exists(lt.chunks[1].take_id)  # the old variant is kept
    cues = parse_srt(ws.abspath(rolled.srt_path).read_text(encoding="utf-8"))
    assert cues[-1].end_s == pytest.approx(sf.info(ws.abspath(rolled.audio_path)).duration,
                                           abs=0.001)
    again = ws.longtext.reroll(lt.id, 1, eng, seed=123)
    assert again.chunks[1].seed == 123
    with pytest.raises(rasv.InvalidInput, match="chunks"):
        ws.longtext.reroll(lt.id, 99, eng)


def test_a_failed_chunk_leaves_a_resumable_run(ws, task):
    flaky = FakeEngine(fail=lambda r: "书店" in r.text)
    with pytest.raises(EngineRequestError):
        ws.longtext.render(task.take_ids[0], LONG, flaky)
    run = ws.longtext.df().iloc[0]
    assert run.status == "failed" and run.audio_path is None
    failed = ws.sql("SELECT count(*) AS n FROM takes WHERE status = 'failed'").n[0]
    assert failed == 1
    ok = FakeEngine()
    done = ws.longtext.resume(int(run.id), ok)
    assert done.status == "done" and len(ok.calls) == 1  # only the missing chunk


def test_scores_history_and_roll_up_to_the_clip(ws, role, task):
    lt = ws.longtext.render(task.take_ids[0], LONG, FakeEngine())
    ws.longtext.score(lt.id, 3, remark="一处吞字")
    s = ws.longtext.score(lt.id, 4)
    assert s.stars == 4 and s.remark == "一处吞字" and s.long_text
    run = ws.longtext.get(lt.id)
    assert run.stars == 4 and run.remark == "一处吞字"
    assert ws.longtext.df(role).stars.tolist() == [4]
    roll = ws.scores.by_clip(role).set_index("clip_id")
    assert roll.loc[task.clips[0].id, "longtext_stars_max"] == 4
    assert roll.loc[task.clips[0].id, "n_scores"] == 0  # long-text stars stay apart
    assert ws.scores.get(task.take_ids[0]) is None


def test_render_from_a_product_and_engine_kind_checks(ws, role, task):
    p = ws.products.create_from_take(task.take_ids[0], "温柔")
    lt = ws.longtext.render(p.id, "第一句话。第二句话。", FakeEngine())
    assert lt.product_id == p.id and lt.source_take_id == task.take_ids[0]
    assert [c.take_id for c in lt.chunks][0]

    class OtherKind(FakeEngine):
        def capabilities(self):
            caps = super().capabilities()
            return rasv.Capabilities(kind="gpt-sovits", params=caps.params)

    with pytest.raises(rasv.CapabilityError, match="'fake'"):
        ws.longtext.render(p.id, "全新的一句话。", OtherKind())
    with pytest.raises(rasv.InvalidInput, match="take id"):
        ws.longtext.render(3.5, "x", FakeEngine())
    with pytest.raises(rasv.ProductNotFound):
        ws.longtext.render(99, "x", FakeEngine())


def test_export_and_delete(ws, task, tmp_path):
    eng = FakeEngine()
    lt = ws.longtext.render(task.take_ids[0], LONG, eng)
    with pytest.raises(rasv.InvalidInput, match="is a folder"):
        ws.longtext.export(lt.id, tmp_path)
    with pytest.raises(rasv.InvalidInput, match="must end in .zip"):
        ws.longtext.export(lt.id, tmp_path / "lt.wav")
    z = ws.longtext.export(lt.id, tmp_path / "lt.zip", chunks=True)
    with zipfile.ZipFile(z) as f:
        names = f.namelist()
        assert sum(n.endswith(".srt") for n in names) == 1
        assert len([n for n in names if n.startswith("chunks/")]) == len(lt.chunks)
        txt = next(n for n in names if n.endswith(".txt"))
        assert f.read(txt).decode() == LONG
    other = ws.longtext.render(task.take_ids[0], LONG, eng)  # shares the chunk takes
    ws.longtext.score(lt.id, 2)
    ws.longtext.delete(lt.id)
    with pytest.raises(rasv.LongTextNotFound):
        ws.longtext.get(lt.id)
    assert not ws.abspath(lt.audio_path).exists()
    assert all(ws.takes.exists(c.take_id) for c in other.chunks)  # still used by `other`
    ws.longtext.delete(other.id)
    assert not any(ws.takes.exists(c.take_id) for c in other.chunks)
    assert ws.takes.exists(task.take_ids[0])  # a task's take is never removed
    assert ws.sql("SELECT count(*) AS n FROM scores WHERE long_text").n[0] == 0


def test_real_speech_with_espeak_lines_up_with_its_subtitles(ws, role, tmp_path):
    import numpy as np

    from gsv_bridge import EspeakEngine
    from rasv.testing import make_clip

    clip = ws.clips.add(role, make_clip(tmp_path / "ref.wav", 4.0, f0=150.0), text="参考。")
    p = ws.products.create(role, "espeak", clip=clip.id, params=rasv.Params(seed=1),
                           engine_kind="espeak")
    text = "Good morning, everyone. The lighthouse keeper climbed ninety-two steps! Then he rested."
    lt = ws.longtext.render(p.id, text, EspeakEngine(), method="cut5", gap_s=0.4)
    assert len(lt.chunks) == 4 and lt.text_lang == "en"
    x, sr = sf.read(ws.abspath(lt.audio_path), dtype="float32")
    cues = parse_srt(ws.abspath(lt.srt_path).read_text(encoding="utf-8"))
    assert cues[-1].end_s == pytest.approx(len(x) / sr, abs=0.001)
    for cue in cues:
        inside = x[int(cue.start_s * sr): int(cue.end_s * sr)]
        assert np.sqrt(np.mean(inside ** 2)) > 0.01  # speech inside every cue
    ms = sr // 1000  # SRT times are rounded to the millisecond
    for a, b in zip(cues, cues[1:], strict=False):
        gap = x[int(a.end_s * sr) + ms: int(b.start_s * sr) - ms]
        assert gap.size and np.abs(gap).max() == 0.0  # silence between cues


def test_progress_reports_each_chunk_and_can_cancel(ws, task):
    seen = []

    def stop_after_one(done, total):
        seen.append((done, total))
        if done == 1:
            raise rasv.Cancelled("stopped by the user")

    with pytest.raises(rasv.Cancelled):
        ws.longtext.render(task.take_ids[0], LONG, FakeEngine(), progress=stop_after_one)
    assert seen == [(1, seen[0][1])] and seen[0][1] >= 2
    run_id = int(ws.longtext.df().id.iloc[0])
    assert ws.longtext.get(run_id).status == "failed"
    eng = FakeEngine()
    done = ws.longtext.resume(run_id, eng, progress=lambda d, t: seen.append((d, t)))
    assert done.status == "done" and len(eng.calls) == seen[0][1] - 1
    assert seen[-1] == (seen[0][1], seen[0][1])


def test_a_chunk_equal_to_a_task_text_is_the_task_take(ws, task):
    eng = FakeEngine()
    lt = ws.longtext.render(task.take_ids[0], "你好世界。", eng)
    assert [c.take_id for c in lt.chunks] == [task.take_ids[0]]
    assert eng.calls == []  # the runner already made it
