"""Tasks and Run tabs driven headlessly, with FakeEngine."""

from __future__ import annotations

import threading

import pytest

from rasv.testing import FakeEngine
from widgets.run import RunPanel
from widgets.tasks import TasksPanel, parse_values

pytestmark = pytest.mark.usefixtures("no_player_messages")

# -- Tasks -------------------------------------------------------------------------------


def test_parse_values_kinds_and_errors():
    from rasv.errors import InvalidInput

    assert parse_values("text_split_method", "cut1 cut5") == ["cut1", "cut5"]
    assert parse_values("gpt", "3, 4") == [3, 4]
    for dim, text in (("top_k", "five"), ("super_sampling", "maybe"), ("top_p", ""),
                      ("text_split_method", "cut9"), ("colour", "red")):
        with pytest.raises(InvalidInput):
            parse_values(dim, text)


def test_builder_previews_count_and_creates(ctx, ws):
    navigated = []
    ctx.navigator = lambda tab, **kw: navigated.append((tab, kw)) or True
    panel = TasksPanel(ctx)
    assert panel.engine.value == "fake"
    panel.categories.value = ("soft",)
    panel.texts.value = tuple(v for _, v in panel.texts.options[:2])
    panel.extra_texts.value = "Hello there.\n\n再来一句。"
    vr = panel._add_row()
    vr.values.value = "5 10 15"
    assert "24 takes" in panel.preview_line.value  # 2 clips × 4 texts × 3 top_k
    vr.dimension.value = "speed_factor"
    vr.values.value = "0.9, x"
    assert "speed_factor" in panel.preview_line.value and panel.create_button.disabled
    vr.values.value = "0.9 1.1"
    panel.name.value = "speed test"
    task = panel.create()
    assert len(task.plan()) == 16
    assert navigated[-1] == ("run", {"task": task.id})
    assert [r["name"] for r in panel.table.rows] == ["speed test"]


def test_builder_by_clip_and_gpt_sovits_needs_models(ctx, clips):
    panel = TasksPanel(ctx)
    panel.engine.value = "gpt-sovits"
    assert panel.models_box.layout.display == ""
    panel.clip_mode.value = "clips"
    panel.clips.value = (clips[0].id,)
    panel.extra_texts.value = "你好。"
    assert "checkpoint" in panel.preview_line.value and panel.create_button.disabled


def test_builder_warns_instead_of_refusing_when_forced(ctx, clips, tmp_path, ws):
    from rasv.testing.checkpoints import make_checkpoint

    gpt = ws.models.add(make_checkpoint(tmp_path / "m" / "x-e5.ckpt", version="v2"))
    sovits = ws.models.add(make_checkpoint(tmp_path / "m" / "x_e5_s10.pth", version="v2"))
    panel = TasksPanel(ctx)
    panel.engine.value = "gpt-sovits"
    panel.clip_mode.value = "clips"
    panel.clips.value = (clips[0].id, clips[3].id)  # the second is 12 s long
    panel.extra_texts.value = "你好。"
    panel._reload_choices()
    panel.gpt.value, panel.sovits.value = gpt.id, sovits.id
    assert "3–10" in panel.preview_line.value and panel.create_button.disabled
    panel.force.value = True
    assert "2 takes" in panel.preview_line.value and not panel.create_button.disabled
    assert "3–10" in panel.preview_line.value  # the warning stays visible


def test_task_list_actions(ctx, done_task, ws):
    navigated = []
    ctx.navigator = lambda tab, **kw: navigated.append((tab, kw)) or True
    panel = TasksPanel(ctx)
    row = panel.table.rows[0]
    assert row["progress"] == "24/24" and row["status"] == "done"
    panel.table.action(done_task.id, "review")
    assert navigated == [("review", {"task": done_task.id})]
    panel.table.edit(done_task.id, "conclusion", "k=15 is calmer")
    assert ws.tasks.get(done_task.id).conclusion == "k=15 is calmer"
    panel.table.action(done_task.id, "delete")
    assert len(ws.tasks.list()) == 0


# -- Run ---------------------------------------------------------------------------------


def test_run_panel_runs_resumes_and_reports_failures(ctx, ws, role, clips):
    task = ws.tasks.create(role, "t", ["你好。", "boom 炸了。"], clips=clips[:2],
                           repeats=2, engine="fake")
    flaky = FakeEngine(name="flaky", fail=lambda r: "boom" in r.text)
    ctx.engines = [flaky]
    panel = RunPanel(ctx)
    panel.task.value = task.id
    run = panel.start()
    run.wait()
    # the run's own "finished" event repainted the panel (no manual repaint here)
    assert run.progress.done == 4 and run.progress.failed == 4
    assert "4 failed" in panel.errors.value and "refused" in panel.errors.value
    assert panel.engines_table.value.count("<tr>") == 2  # header + one engine
    assert not panel.start_button.disabled and panel.cancel_button.disabled
    ctx.engines = [FakeEngine(name="good")]
    panel.retry_failed.value = True
    panel.start().wait()
    assert ws.tasks.counts(task).done == 8 and panel.errors.value == ""
    assert panel.bar.bar_style == "success" and "idle" in panel.engines_table.value


class Held(FakeEngine):
    """A FakeEngine whose takes wait until it is released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def synthesize(self, req):
        self.release.wait(60)
        return super().synthesize(req)


def test_run_panel_cancel_keeps_what_was_made(ctx, ws, role, clips):
    task = ws.tasks.create(role, "slow", ["你好。"], clips=clips[:1], repeats=30, engine="fake")
    # Cancel is pressed while the run is busy, however slow the machine: with a fixed latency
    # per take, a run that finished before cancel() came left nothing to cancel.
    held = Held()
    ctx.engines = [held]
    panel = RunPanel(ctx)
    panel.task.value = task.id
    run = panel.start()
    panel.cancel()
    held.release.set()
    run.wait()
    c = ws.tasks.counts(task)
    assert c.done + c.cancelled == 30 and c.done < 30
    assert panel.start().wait().done + c.done == 30  # resume makes the rest


def test_run_panel_without_engine_says_so(ctx, done_task):
    ctx.engines = []
    panel = RunPanel(ctx)
    assert panel.start() is None and "No engine" in ctx.notice.value


def test_status_words_are_chinese_in_the_zh_panels(ws, role, done_task):
    from widgets.context import Context
    ctx = Context(ws, lang="zh", engines=[FakeEngine()])
    ctx.role = role
    assert TasksPanel(ctx).table.rows[0]["status"] == "已完成"
    run = RunPanel(ctx)
    run.task.value = done_task.id
    assert "已完成" in run.status.value and "done" not in run.status.value
    assert all("· done ·" not in label for label, _ in run.task.options)
