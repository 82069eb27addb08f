"""One take id = one audio, on every engine, against the real GPT-SoVITS pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from realkit import make_task, take_audio

import rasv

pytestmark = pytest.mark.gsv


@pytest.fixture(scope="module")
def reference(gsv, refs, gsv_server, tmp_path_factory):
    """The grid made by GsvServer: every other engine must give the same samples."""
    ws = rasv.open(tmp_path_factory.mktemp("ws_server"))
    task = make_task(ws, gsv, refs)
    before = dict(gsv_server.engine.switches)
    run = ws.tasks.run(task, gsv_server, retries=0)
    assert (run.progress.done, run.progress.failed) == (4, 0), task.plan().error.tolist()
    # Each pair loads once (the v2 pair the server started with comes after v1, so again).
    after = gsv_server.engine.switches
    assert after["sovits"] - before["sovits"] == 4 and after["gpt"] - before["gpt"] == 4
    audio = take_audio(ws)
    rates = set(ws.sql("SELECT DISTINCT sample_rate FROM takes").sample_rate)
    ws.close()
    assert len(audio) == 4 and rates == {32000}
    return audio


def _same(a, b):
    assert a.keys() == b.keys()
    for take_id in a:
        assert np.array_equal(a[take_id], b[take_id]), f"take {take_id} differs"


def test_versions_of_the_takes_follow_the_models(reference, gsv_server):
    # The last pair loaded was v2ProPlus: its header says so, and so does the engine.
    assert gsv_server.engine.version == "v2ProPlus"


def test_same_take_after_switching_away_and_back(reference, gsv, refs, gsv_server, tmp_path):
    ws = rasv.open(tmp_path / "again")
    ws.tasks.run(make_task(ws, gsv, refs), gsv_server, retries=0)
    _same(reference, take_audio(ws))


def test_api_v2_started_by_hand(reference, gsv, refs, hand_server, tmp_path):
    ws = rasv.open(tmp_path / "hand")
    task = make_task(ws, gsv, refs, gsv.checkout)
    assert ws.tasks.run(task, hand_server, retries=0).progress.done == 4
    _same(reference, take_audio(ws))
    assert hand_server.cache.counts["warm"] == 1 and hand_server.cache.counts["set_ref"] == 4


def test_pool_of_two(reference, gsv, refs, pool, tmp_path):
    ws = rasv.open(tmp_path / "pool")
    task = make_task(ws, gsv, refs, gsv.checkout)
    assert ws.tasks.run(task, pool, retries=0).progress.done == 4
    _same(reference, take_audio(ws))
    assert set(task.plan().engine) == {s.url for s in pool}  # both servers worked


@pytest.mark.parametrize("layout", ["pip", "checkout"])
def test_in_process(reference, gsv, refs, layout, request, tmp_path):
    eng = request.getfixturevalue(f"inproc_{layout}")
    root = gsv.root if layout == "pip" else gsv.checkout
    ws = rasv.open(tmp_path / layout)
    assert ws.tasks.run(make_task(ws, gsv, refs, root), eng, retries=0).progress.done == 4
    _same(reference, take_audio(ws))
    assert eng.version == "v2ProPlus" and eng.switches["sovits"] >= 3


def test_prompt_language_change_does_not_leak(gsv, refs, gsv_server):
    # GPT-SoVITS caches the prompt's phonemes by its text alone: "天气很好。" read as Chinese
    # after the same text read as Japanese would reuse the Japanese phonemes. rasv pushes
    # the cached prompt out first, so the take is the same as it was before.
    eng = gsv_server.engine
    g, s = gsv.weights["v2"]
    eng.load(g, s)

    def take(lang):
        return eng.synthesize(rasv.SynthesisRequest(
            text="你好世界。", text_lang="zh", ref_audio_path=refs["b"], prompt_text="天气很好。",
            prompt_lang=lang, seed=3)).samples

    first = take("zh")
    japanese = take("ja")
    resets = eng.cache.counts.get("reset_prompt", 0)
    again = take("zh")
    assert eng.cache.counts.get("reset_prompt", 0) == resets + 1
    assert np.array_equal(first, again) and not np.array_equal(first, japanese)
