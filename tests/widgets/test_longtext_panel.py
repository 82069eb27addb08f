"""The Long text tab driven headlessly: choose a take or a product and a text, render in
the background, follow the playing chunk, re-roll, score, save as a product, cancel and
resume, reopen and delete runs."""

from __future__ import annotations

import pytest

import rasv
from rasv.errors import EngineRequestError
from rasv.testing import FakeEngine, make_clip
from widgets.context import Context
from widgets.longtext import LongTextPanel
from widgets.player import Player
from widgets.workbench import Workbench

LONG = ("夜深了，窗外的雨还在下。她合上书，听着雨点敲打玻璃的声音，想起了很多年前的那个夏天。"
        "那时候，院子里的葡萄架下总是很热闹，大人们聊天，孩子们追来追去。"
        "后来大家各奔东西，院子也拆了，只有这雨声，还和当年一模一样。\n"
        "第二天早上，雨停了，太阳从云层后面探出头来，街上的行人渐渐多了起来，"
        "早点铺子里飘出了豆浆和油条的香味。")  # three chunks by RefAudioSelectorV2's rule


@pytest.fixture(autouse=True)
def _no_browser(monkeypatch):
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: None)


@pytest.fixture
def setup(ws, role, tmp_path):
    clip = ws.clips.add(role, make_clip(tmp_path / "r.wav", 4.0), text="参考音频。")
    task = ws.tasks.create(role, "k", ["你好。", "再见。"], clips=[clip], engine="fake",
                           vary={"top_k": [5, 10]})
    ws.tasks.run(task, FakeEngine())
    takes = ws.takes.df(task)
    best = takes["id"].iloc[2]
    ws.scores.set(best, stars=5)
    product = ws.products.create(role, "温柔", clip=clip.id, params=rasv.Params(seed=7),
                                 engine_kind="fake")
    text = ws.texts.add(LONG, lang="zh", category="story", long=True)
    return {"clip": clip, "task": task, "best": best, "product": product, "text": text}


@pytest.fixture
def panel(ws, role, setup):
    ctx = Context(ws, lang="en", engines=[FakeEngine()])
    ctx.role = role
    p = LongTextPanel(ctx)
    p.text_pick.value = setup["text"].id
    return p


def test_takes_best_first_texts_and_chunk_preview(panel, setup):
    rows = panel.takes.rows
    assert len(rows) == 4 and rows[0]["id"] == setup["best"] and rows[0]["stars"] == 5
    assert panel.text_pick.value is not None  # the library's first long text
    panel.text_pick.value = setup["text"].id
    assert "Read in 3 chunks" in panel.chunk_preview.value
    panel.method.value = "cut5"
    assert len(panel.preview_chunks()) > 3
    panel.custom.value = "短的一句。"
    assert "Read in 1 chunk<" in panel.chunk_preview.value
    assert panel.task_pick.options[1][1] == setup["task"].id
    panel.task_pick.value = setup["task"].id
    assert len(panel.takes.rows) == 4
    assert "Choose a take or a product" in panel.source_info.value


def test_render_a_take_and_follow_the_playing_chunk(panel, ws, setup):
    panel.takes.action(setup["best"], "use")
    assert panel.source == ("take", setup["best"]) and "seed" in panel.source_info.value
    run = panel.render(wait=True)
    assert run.status == "done" and run.source_take_id == setup["best"]
    assert [r["text"] for r in panel.chunks.rows] == [c.text for c in run.chunks]
    assert len(run.chunks) == 3 and "Done: 3 chunks" in panel.ctx.notice.value
    assert panel.player.key == f"lt{run.id}" and panel.player.audio[:4] == b"RIFF"
    assert panel.player.duration == pytest.approx(run.duration_s, abs=1e-3)
    assert [r["id"] for r in panel.runs.rows] == [run.id]
    # what the browser reports while playing: the chunk under the play head lights up
    second = run.chunks[1]
    panel.player.playing = True
    panel.player.position = (second.start_s + second.end_s) / 2
    assert panel.chunks.playing == 1
    panel.chunks.action(2, "play")  # jump to the third chunk
    assert panel.player.position == pytest.approx(run.chunks[2].start_s)
    assert panel.chunks.playing == 2
    panel.player.playing = False
    assert panel.chunks.playing is None


def test_reroll_score_and_save_as_product(panel, ws, setup):
    panel.use_product(setup["product"].id)
    assert panel.product_pick.value == setup["product"].id
    run = panel.render(wait=True)
    assert run.product_id == setup["product"].id and {c.seed for c in run.chunks} == {7}
    before = run.chunks[1].take_id
    panel.chunks.action(1, "reroll")
    panel.job.join(30)
    new = panel.run
    assert new.chunks[1].seed == 8 and new.chunks[1].take_id != before
    assert new.chunks[0].take_id == run.chunks[0].take_id
    assert "re-rolled with seed 8" in panel.ctx.notice.value
    assert panel.chunks.rows[1]["seed"] == 8
    panel.stars.value = 4
    panel.remark.value = "第二段更自然"
    panel.score_button.click()
    got = ws.longtext.get(new.id)
    assert got.stars == 4 and got.remark == "第二段更自然"
    assert panel.runs.rows[0]["stars"] == 4
    panel.product_name.value = "雨夜"
    panel.product_button.click()
    df = ws.products.df()
    kept = df[df["name"] == "雨夜"].iloc[0]
    assert kept["score"] == 4 and kept["source_longtext_id"] == new.id
    assert "雨夜" in [label.split(" · ")[0] for label, _ in panel.product_pick.options]
    panel.product_name.value = "雨夜"
    panel.product_button.click()  # the same name twice
    assert "already has a product named" in panel.ctx.notice.value


def test_clear_errors(panel, ws, setup):
    panel.render_button.click()
    assert "Choose a take or a product first" in panel.ctx.notice.value
    panel.use_take(setup["best"])
    panel.ctx.engines = []
    panel.render_button.click()
    assert "No engine" in panel.ctx.notice.value
    panel.ctx.engines = [FakeEngine()]
    panel.text_pick.value = 0
    panel.render_button.click()
    assert "Choose a long text" in panel.ctx.notice.value
    panel.score_button.click()
    assert "Render or open a long-text run first" in panel.ctx.notice.value

    class Espeakish(FakeEngine):
        def capabilities(self):  # another engine kind than the take was made with
            from dataclasses import replace

            return replace(super().capabilities(), kind="espeak")

    panel.ctx.engines = [Espeakish()]
    panel.custom.value = "另一段文字。"
    panel.render(wait=True)
    assert "made with a &#x27;fake&#x27; engine" in panel.ctx.notice.value


def test_cancel_then_resume(panel, ws, setup):
    panel.use_take(setup["best"])

    class Cancelling(FakeEngine):
        def synthesize(self, req):
            panel._cancel.set()  # the user presses Cancel while the first chunk renders
            return super().synthesize(req)

    panel.ctx.engines = [Cancelling()]
    panel.render(wait=True)
    assert "cancelled after 1 of 3 chunks" in panel.ctx.notice.value
    run = panel.run
    assert run is not None and run.status == "failed"
    assert panel.resume_button.layout.display == ""
    panel.ctx.engines = [FakeEngine()]
    done = panel.resume(wait=True)
    assert done.id == run.id and done.status == "done"
    assert panel.resume_button.layout.display == "none"


def test_a_failing_engine_leaves_a_resumable_run(panel, ws, setup):
    panel.use_product(setup["product"].id)
    panel.ctx.engines = [FakeEngine(fail=lambda r: EngineRequestError("server said 500")
                                    if "葡萄" in r.text else None)]
    panel.render(wait=True)
    assert "server said 500" in panel.ctx.notice.value
    assert panel.run.status == "failed" and panel.runs.rows[0]["status"] == "failed"


def test_open_and_delete_runs(panel, ws, setup):
    panel.use_product(setup["product"].id)
    first = panel.render(wait=True)
    panel.custom.value = "另一段。" * 20
    second = panel.render(wait=True)
    assert [r["id"] for r in panel.runs.rows] == [second.id, first.id]
    panel.runs.action(first.id, "open")
    assert panel.run.id == first.id and panel.player.key == f"lt{first.id}"
    panel.runs.action(first.id, "delete")
    assert panel.run is None and panel.run_box.layout.display == "none"
    assert [r["id"] for r in panel.runs.rows] == [second.id]
    with pytest.raises(rasv.LongTextNotFound):
        ws.longtext.get(first.id)


def test_navigation_from_other_tabs(ws, role, setup):
    wb = Workbench(ws, lang="en", role=role, engines=[FakeEngine()])
    assert wb.ctx.navigate("longtext", take=setup["best"])
    panel = wb.panel("longtext")
    assert panel.source == ("take", setup["best"])
    wb.ctx.navigate("longtext", product=setup["product"].id)
    assert panel.source == ("product", setup["product"].id)
    assert panel.source_kind.value == "product"
    wb.ctx.role = ws.roles.create("女-小红")
    assert panel.source is None and panel.takes.rows == [] and panel.runs.rows == []
