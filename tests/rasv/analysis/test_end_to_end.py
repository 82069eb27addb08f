"""A real task made by the runner with the offline espeak engine, then analysed and ordered."""

from __future__ import annotations

import pytest

from gsv_bridge import EspeakEngine
from rasv.testing import FakeEmbeddingBackend, make_clip


@pytest.mark.slow
def test_runner_takes_are_analysed_and_ordered(ws, tmp_path):
    role = ws.roles.create("女声-测试")
    clips = [ws.clips.add(role, make_clip(tmp_path / f"c{i}.wav", 4.0, f0=f0, seed=i),
                          text="这是参考音频。", lang="zh")
             for i, f0 in enumerate((120.0, 220.0))]
    task = ws.tasks.create(role, "clip sweep", ["今天天气很好，我们去散步吧。", ("Good morning to you.", "en")],
                           clips=clips, vary={"speed_factor": [0.9, 1.1]}, engine="espeak")
    ws.tasks.run(task, EspeakEngine()).wait()
    n = len(task.plan())
    seen = []
    report = ws.analyze(task, metrics=["silence", "clipping", "noise", "ending", "repetition",
                                       "pace", "speaker"],
                        speaker=FakeEmbeddingBackend(), progress=lambda d, t: seen.append(d))
    assert report.takes == n == 8 and report.computed == n and not report.failed
    assert seen == list(range(1, n + 1))
    wide = ws.analysis.df(task)
    assert wide.sim_ref.notna().all() and wide.sec_per_unit.notna().all()
    order = ws.analysis.suspicion(task)
    assert sorted(order.take_id) == sorted(wide.take_id)
    assert order.suspicion.is_monotonic_decreasing
    assert ws.analyze(task.id, metrics=["silence"]).cached == n


def test_review_table_sorts_by_suspicion(ws, eval_set, add_task):
    takes = [t for t in eval_set if t.text == eval_set[0].text]
    task = add_task(ws, takes)
    before = ws.takes.df(task, sort="suspicion")
    assert before["suspicion"].isna().all() and before["flags"].map(len).sum() == 0
    ws.analyze(task, metrics=["noise", "silence", "pace"], vad="energy")
    df = ws.takes.df(task, sort="suspicion")
    assert df["listen_rank"].tolist() == list(range(1, len(takes) + 1))
    defect = next(t for t in takes if t.defect)
    assert df["id"][0] == f"analysis_test-{defect.id}"
    assert "electric_noise" in df["flags"][0] and df["reason"][0].startswith("电音")
    calm = ws.takes.df(task, sort="suspicion", descending=True)
    assert calm["id"].iloc[-1] == df["id"][0]
