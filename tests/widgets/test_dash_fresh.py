"""Issue 13 in the panels, headless: pages follow other processes, one validation with buttons
that fix what Run would refuse, panel wording instead of Python advice, and the small fixes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import pytest

import rasv
from gsv_bridge.espeak_engine import EspeakEngine
from rasv.testing import FakeEngine, make_clip
from widgets.context import Context, panel_text
from widgets.i18n import Translator
from widgets.review import ReviewPanel
from widgets.run import RunPanel
from widgets.tasks import TasksPanel
from widgets.workbench import Workbench

pytestmark = pytest.mark.usefixtures("no_player_messages")


def _other_process(code: str) -> None:
    """Run ``code`` in a separate Python process (as the CLI or another page would)."""
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, timeout=120)


@pytest.fixture
def espeak_ctx(ws, role, clips):
    c = Context(ws, lang="en", engines=[EspeakEngine()])
    c.role = role
    return c


def test_builder_shows_what_run_would_refuse_and_drops_it(espeak_ctx, ws):
    panel = TasksPanel(espeak_ctx)
    assert panel.engine.value == "espeak"
    panel.categories.value = ("soft",)
    panel.extra_texts.value = "你好。"
    keep = panel._add_row()
    keep.dimension.value, keep.values.value = "speed_factor", "0.9 1.1"
    vr = panel._add_row()
    vr.dimension.value, vr.values.value = "top_k", "5 15"
    assert panel.create_button.disabled
    assert "ignores top_k" in panel.preview_line.value
    assert "force" not in panel.preview_line.value and "ws." not in panel.preview_line.value
    assert panel.fix_box.layout.display == ""
    assert panel.drop_button.description == "Drop top_k"
    panel.drop_button.click()
    assert [r.dimension.value for r in panel.vary_rows] == ["speed_factor"]
    assert not panel.create_button.disabled and panel.fix_box.layout.display == "none"
    assert "4 takes" in panel.preview_line.value


def test_builder_keep_anyway_forces_and_the_run_works(espeak_ctx, ws):
    panel = TasksPanel(espeak_ctx)
    panel.categories.value = ("soft",)
    panel.extra_texts.value = "你好。"
    vr = panel._add_row()
    vr.dimension.value, vr.values.value = "top_k", "5 15"
    panel.keep_button.click()
    assert panel.force.value and not panel.create_button.disabled
    assert "top_k" in panel.preview_line.value  # now a warning
    task = panel.create()
    assert ws.tasks.run(task, EspeakEngine()).progress.failed == 0


class NoTopK(FakeEngine):
    """A fake engine that ignores top_k (known only when it is reached, as a server is)."""

    def capabilities(self):
        caps = super().capabilities()
        return dataclasses.replace(caps, params=caps.params - {"top_k"})


def test_run_panel_refusal_offers_keep_anyway(ws, role, clips):
    # A task made before creation refused ignored dimensions: run refuses it, the panel offers
    # the way out in buttons and says nothing about Python.
    task = ws.tasks.create(role, "old", ["你好。"], clips=clips[:1], engine="fake",
                           vary={"top_k": [5, 15]})
    ctx = Context(ws, lang="zh", engines=[NoTopK()])
    ctx.role = role
    panel = RunPanel(ctx)
    panel.task.value = task.id
    assert panel.review_button.disabled  # nothing to review yet
    assert panel.start() is None
    assert panel.fix_box.layout.display == ""
    assert "ws." not in ctx.notice.value and "force" not in ctx.notice.value
    assert "top_k" in ctx.notice.value and "引擎会忽略" in ctx.notice.value
    run = panel.keep_button.click() or panel.run
    run.wait(timeout=60)
    assert run.progress.done == 2 and panel.fix_box.layout.display == "none"


def test_review_button_on_a_task_without_takes_says_so(ctx, ws, role, clips):
    empty = ws.tasks.create(role, "empty", ["没有做过的一句。"], clips=clips[:1], engine="fake")
    navigated = []
    ctx.navigator = lambda tab, **kw: navigated.append(tab) or True
    panel = RunPanel(ctx)
    panel.task.value = empty.id
    panel._to_review()
    assert navigated == [] and f"#{empty.id} has no takes" in ctx.notice.value


def test_review_show_of_a_task_without_takes_does_not_open_another(ctx, ws, role, clips,
                                                                   done_task):
    empty = ws.tasks.create(role, "empty", ["没有做过的一句。"], clips=clips[:1], engine="fake")
    panel = ReviewPanel(ctx)
    panel.show(task=empty.id)
    assert "has no takes" in ctx.notice.value


def test_listen_first_sort_reads_from_the_top(ctx, done_task):
    panel = ReviewPanel(ctx)
    panel.descending.value = True  # the duration sort, longest first
    assert panel.analyse(wait=True, metrics=["silence", "clipping", "ending", "pace"])
    assert panel.sort.value == "suspicion" and panel.descending.value is False
    for _, group in panel.df.groupby("text", sort=False):  # flagged takes first, not last
        assert group.listen_rank.is_monotonic_increasing


def test_panel_text_has_no_python_or_cli_advice():
    t = Translator("en")
    e = rasv.CapabilityError("fake ignores top_k, which this task varies; to run it anyway, "
                             "ws.tasks.edit(3, force=True) (or rasv task create --force)")
    assert panel_text(e, t) == "fake ignores top_k, which this task varies"
    locked = rasv.WorkspaceLocked("/ws", 30.0, "held", pid=4242, command="rasv import-list a")
    assert panel_text(locked, t) == ("Process 4242 (rasv import-list a) held the workspace for "
                                     "over 30 s; try again when it is done.")
    assert "4242" in panel_text(locked, Translator("zh"))


def test_locked_workspace_names_the_writer(tmp_path):
    path = tmp_path / "ws"
    rasv.open(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import rasv, time; ws = rasv.open({str(path)!r}, shared=False);"
                               " print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(rasv.WorkspaceLocked) as err:
            rasv.open(path, lock_timeout=0.5).roles.list()
        assert err.value.pid == holder.pid
        assert "-c" in err.value.command and str(holder.pid) in str(err.value)
    finally:
        holder.kill()
        holder.wait()


def test_workbench_follows_another_process_header_counts_included(ws, role, clips, tmp_path):
    wb = Workbench(ws, lang="en", watch=False)
    assert wb.follow() is False
    summary = wb.picker.summary.value
    assert "4 clips" in summary or "4" in summary
    wav = make_clip(tmp_path / "new.wav", 5.0)
    _other_process(f"""
        import rasv
        with rasv.open({str(ws.root)!r}) as ws:
            ws.clips.add({role.label!r}, {str(wav)!r}, text="新的。")
            ws.roles.create("女性-李四")
    """)
    assert wb.follow() is True
    assert wb.picker.summary.value != summary and "5" in wb.picker.summary.value
    assert "女性-李四" in wb.picker.combo.options
    assert wb.panel("clips").table.total == 5
    # our own writes are not "other processes": no re-read
    ws.roles.create("女性-王五")
    assert wb.follow() is False
    wb.close()


def test_a_write_while_the_workbench_is_built_is_followed(ws, role, clips, tmp_path,
                                                          monkeypatch):
    # A preheating kernel builds its widgets while the CLI may be importing: a write that lands
    # after the clips were read but before the build ends must still reach the page.
    wav = make_clip(tmp_path / "late.wav", 5.0)

    def write_meanwhile(self):
        _other_process(f"""
            import rasv
            with rasv.open({str(ws.root)!r}) as ws:
                ws.clips.add({role.label!r}, {str(wav)!r}, text="晚到的。")
        """)

    monkeypatch.setattr(Workbench, "_warm_up", write_meanwhile)
    wb = Workbench(ws, lang="en", watch=False)
    assert wb.panel("clips").table.total == 4  # built before the write
    assert wb.follow() is True
    assert wb.panel("clips").table.total == 5
    wb.close()


def test_notices_belong_to_their_tab(ws, role, clips):
    wb = Workbench(ws, lang="en", watch=False)
    wb.ctx.say("said in Clips")
    wb.select("tasks")
    assert wb.ctx.notice.value == ""
    wb.ctx.say("created, off to Run")
    wb.ctx.navigate("run")
    assert "off to Run" in wb.ctx.notice.value  # a panel sending the user on keeps its word
    wb.close()


def test_analysis_reasons_name_tags_in_the_interface_language(ctx, done_task):
    # The flags' message keys are said in the panel's language; a rule the panel does not know
    # falls back to the library's sentence.
    messages = [{"tag": "clipping", "message": "clipped", "params": {"pct": 0.2}}]
    english = ReviewPanel(ctx)
    assert english._reason(messages, "lib") == "clipping: 0.20 % of samples clipped"
    assert english._reason([{"tag": "clipping", "message": "no-such-rule"}], "lib") == "lib"
    ctx.t = Translator("zh")
    ctx.lang = ctx.t.lang
    chinese = ReviewPanel(ctx)
    assert chinese._reason(messages, "lib").startswith("爆音: 0.20%")


def test_a_one_page_review_has_no_pager(ctx, done_task):
    panel = ReviewPanel(ctx)
    assert panel.pages == 2 and panel.pager.layout.display == ""  # 24 takes
    panel.unscored.value = True
    for take_id in panel.take_ids()[:20]:
        panel.ws.scores.set(take_id, stars=3)
    panel.load()
    assert panel.pages == 1 and panel.pager.layout.display == "none"


def test_chunking_rules_say_what_they_do_and_one_chunk_is_singular():
    t = Translator("en")
    assert t("longtext.method.ras").startswith("ras: ")
    assert t("longtext.rendered_one", seconds="1.0") == "Done: 1 chunk, 1.0 s"


def test_card_play_state_follows_the_player(ctx, done_task):
    panel = ReviewPanel(ctx)
    a, b = panel.take_ids()[:2]
    panel.player.key, panel.player.playing = a, True
    assert panel.list.playing == a
    panel.player.key = b  # the browser switched takes without a pause in between
    assert panel.list.playing == b
    panel.player.playing = False  # ended, or paused from the player's own button
    assert panel.list.playing == ""


def test_zh_panel_says_what_went_wrong_in_chinese():
    import rasv.errors as errors
    from widgets.i18n import MESSAGES

    zh = Translator("zh")
    # Every error class the library raises has a Chinese name for its kind (or a parent's)...
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, rasv.RasvError)]
    for key in MESSAGES:
        if key.startswith("err.kind."):
            assert key.removeprefix("err.kind.") in vars(errors), key
    # ...and every kind of missing object is named in Chinese, not as the English word.
    for cls in classes:
        if issubclass(cls, rasv.NotFound) and cls is not rasv.NotFound:
            said = panel_text(cls("x"), zh)
            assert said.startswith("找不到") and cls.kind not in said, said
    assert panel_text(rasv.ClipNotFound(3, "it was deleted"), zh) == "找不到参考音频 3：it was deleted"
    said = panel_text(rasv.TaskError("task 3 is busy; to run it anyway, ws.tasks.edit(3)"), zh)
    assert said == "任务有误：task 3 is busy"
    # The English panel keeps the library's own sentence.
    assert panel_text(rasv.ClipNotFound(3), Translator("en")) == (
        "clip 3 does not exist in this workspace")
