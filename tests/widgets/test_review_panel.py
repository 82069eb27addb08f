"""The Review tab driven headlessly on a task rendered by FakeEngine."""

from __future__ import annotations

import pytest

from rasv.testing import FakeEngine
from widgets.review import CARD_TAGS, PAGE_SIZE, ReviewPanel, group_orders

pytestmark = pytest.mark.usefixtures("no_player_messages")

# -- Review ------------------------------------------------------------------------------


def test_review_lists_sorted_by_duration_within_text(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    assert panel.task.value == done_task.id and len(panel.df) == 24
    for _, group in panel.df.groupby("text", sort=False):
        assert group.duration_s.is_monotonic_increasing
    assert len(panel.list.items) == PAGE_SIZE and len(panel.list.spectra_meta) == PAGE_SIZE
    first = panel.list.items[0]
    assert first["groups"] and first["label"].startswith("k=")


def test_review_keyboard_plays_scores_and_advances(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    ids = panel.take_ids()
    panel.keys.press("space")
    assert panel.player.playing and panel.player.key == ids[0]
    assert panel.list.playing == ids[0]
    panel.keys.press("4")
    assert ws.scores.get(ids[0]).stars == 4
    assert panel.position == 1 and panel.player.key == ids[1]  # advanced and playing
    panel.keys.press("k")
    assert panel.current == ids[0]
    panel.keys.press("0")  # zero is a score ("bad"), not "unrated"
    assert ws.scores.get(ids[0]).stars == 0
    assert panel.list.items[0]["stars"] == 0


def test_review_cards_edit_tags_remark_and_clear(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    tid = panel.take_ids()[3]
    panel.list.emit("stars", tid, 5)
    panel.list.emit("tag", tid, "repetition", True)
    panel.list.emit("tag", tid, "breathing", True)
    panel.list.emit("tag", tid, "repetition", False)
    panel.list.emit("remark", tid, "a bit fast")
    s = ws.scores.get(tid)
    assert (s.stars, list(s.tags), s.remark) == (5, ["breathing"], "a bit fast")
    panel.list.emit("stars", tid, None)
    s = ws.scores.get(tid)
    assert s.stars is None and list(s.tags) == ["breathing"]
    assert panel.position == 0  # clicking stars does not move the cursor


def test_review_filters_and_orders(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    assert len(group_orders()) == 16
    panel.group_by.value = ("clip", "text")
    names = panel.df.clip_name.tolist()
    assert names == sorted(names, key=names.index)  # clips stay together
    ws.scores.set(panel.take_ids()[0], stars=3)
    panel.unscored.value = True
    assert len(panel.df) == 23
    panel.sort.value = "score"
    panel.descending.value = True
    assert len(panel.df) == 23


def test_review_blind_mode_hides_and_reveals(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    panel.blind.value = True
    assert panel.blind_session is not None
    assert all(item["label"].startswith("#") and item["groups"] == []
               for item in panel.list.items)
    assert panel.take_ids() == panel.blind_session.order
    panel.keys.press("3")
    assert ws.scores.get(panel.blind_session.order[0]).stars == 3
    panel.keys.press("r")
    assert panel.list.items[1]["label"].startswith("k=")


def test_review_pages_follow_the_cursor(ctx, ws, role, clips):
    task = ws.tasks.create(role, "many", ["你好。"], clips=clips[:3], repeats=9, engine="fake")
    ws.tasks.run(task, FakeEngine())
    panel = ReviewPanel(ctx)
    panel.autoplay.value = False
    assert panel.pages == 2 and len(panel.list.items) == PAGE_SIZE
    panel.focus(PAGE_SIZE - 1)
    panel.keys.press("j")
    assert panel.page == 1 and panel.list.offset == PAGE_SIZE and len(panel.list.items) == 7
    panel.goto_page(0)
    assert panel.position == 0


def test_review_conclusion_is_saved(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    panel.conclusion.value = "clip 2 wins"
    assert ws.tasks.get(done_task.id).conclusion == "clip 2 wins"


def test_review_detail_figure(ctx, done_task):
    panel = ReviewPanel(ctx)
    panel.detail_on.value = True
    assert panel.detail_box.children and panel.detail.figure.data


def test_review_keeps_a_take_as_a_product(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    panel.keep_name.value = "from review"
    panel.keep_button.click()
    assert ws.products.df(ctx.role).name.tolist() == ["from review"]
    assert ws.products.df(ctx.role).source_take_id.tolist() == [panel.current]


def test_analysis_sorts_listen_first_and_suggests_tags(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    report = panel.analyse(wait=True, metrics=["silence", "clipping", "ending", "pace"])
    assert report is not None and panel.sort.value == "suspicion"
    for _, group in panel.df.groupby("text", sort=False):  # listen-first inside each text
        assert group.listen_rank.is_monotonic_increasing
    flagged = [i for i in panel.list.items if i["suggested"]]
    assert flagged and all(i["hint"] for i in flagged)
    # suggestions are not scores
    assert all(ws.scores.get(i["id"]) is None for i in flagged)


def test_analysis_reasons_are_said_in_the_interface_language(ctx, done_task, ws, role):
    import re

    from widgets.context import Context

    ReviewPanel(ctx).analyse(wait=True, metrics=["silence", "clipping", "ending", "pace"])
    hints = {}
    for lang in ("zh", "en"):
        c = Context(ws, lang=lang, engines=[FakeEngine()])
        c.role = role
        panel = ReviewPanel(c)
        panel.sort.value = "suspicion"
        hints[lang] = [i["hint"] for i in panel.list.items if i["suggested"]]
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert hints["zh"] and hints["en"] and len(hints["zh"]) == len(hints["en"])
    for zh, en in zip(hints["zh"], hints["en"], strict=True):
        detail = zh.split(": ", 1)[1]
        assert cjk.search(detail) and not re.search(r"\b(samples|silence|pause|speech|per)\b", zh)
        assert not cjk.search(en), en
    # the English panel reads as the library's own sentence, without the Chinese label
    order = ws.analysis.suspicion(done_task)
    lib = {r.split(": ", 1)[1] for rs in order.reasons for r in rs}
    assert all(part.split(": ", 1)[1] in lib for h in hints["en"] for part in h.split("; "))


def test_cards_offer_chips_for_tags_beyond_the_usual_ones(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    tid = panel.take_ids()[0]
    ws.scores.set(tid, tags=["prompt_leak"])
    panel.load()
    keys = [o["key"] for o in panel.list.tag_options]
    assert keys == [*CARD_TAGS, "prompt_leak"]
    assert panel.list.tag_options[-1]["label"] == "prompt leak"


def test_a_take_goes_to_the_long_text_tab(ws, role, clips, done_task):
    from widgets.workbench import Workbench

    wb = Workbench(ws, lang="en", role=role)
    review = wb.select("review")
    assert review.longtext_button.layout.display != "none"
    assert review.to_longtext()
    assert wb.tab_names()[wb.tabs.selected_index] == "longtext"
    assert wb.panel("longtext").source == ("take", review.current)


def test_analysis_report_line_speaks_the_panel_language(role, done_task, ws):
    from widgets.context import Context
    ctx = Context(ws, lang="zh")
    ctx.role = role
    panel = ReviewPanel(ctx)
    panel.analyse(wait=True, metrics=["silence"])
    line = panel.analysis_status.value
    assert line.startswith(f"任务 #{done_task.id}：") and "analysed" not in line


def test_card_text_is_cut_with_an_ellipsis_only_when_longer(ctx, ws, role, clips):
    long = "今天天气很好，" * 10  # 70 characters
    task = ws.tasks.create(role, "long text", ["你好。", long], clips=clips[:1], engine="fake")
    ws.tasks.run(task, FakeEngine())
    panel = ReviewPanel(ctx)
    details = {i["detail"].split(" · ", 1)[1]: i for i in panel.list.items}
    assert "你好。" in details
    cut = next(d for d in details if d != "你好。")
    assert len(cut) == 48 and cut == long[:47] + "…"
    assert next(i for i in panel.list.items if i["groups"][0].endswith("…"))["groups"][0] == \
        long[:59] + "…"
