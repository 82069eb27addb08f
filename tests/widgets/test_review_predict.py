"""The Review tab's "listen less" parts: Ask me next, predicted stars, Best so far (issue 16)."""

from __future__ import annotations

import pytest

from widgets.context import Context
from widgets.i18n import Translator
from widgets.review import ReviewPanel

pytestmark = pytest.mark.usefixtures("no_player_messages")


def _score_clip(ws, task, clip_id, stars, n):
    takes = ws.takes.df(task, sort="plan")
    for t in takes[takes.clip_id == clip_id].id.tolist()[:n]:
        ws.scores.set(t, stars)


def test_best_so_far_appears_after_scores_and_keeps_a_product(ctx, done_task, ws, clips):
    panel = ReviewPanel(ctx)
    assert "Score a few takes" in panel.best.value and panel.best_keep.disabled
    _score_clip(ws, done_task, clips[1].id, 5, 3)
    _score_clip(ws, done_task, clips[0].id, 1, 3)
    panel.load()
    assert clips[1].name in panel.best.value and "takes heard" in panel.best.value
    assert not panel.best_keep.disabled
    product = panel.keep_best()
    assert product.name == "r1" and clips[1].name == "r1.wav"  # no extension in the name
    assert ws.products.get(product.id).clip_id == clips[1].id


def test_unscored_cards_show_predicted_stars_dimmed_and_scored_ones_do_not(ctx, done_task, ws,
                                                                           clips):
    _score_clip(ws, done_task, clips[2].id, 5, 2)
    panel = ReviewPanel(ctx)
    items = {i["id"]: i for i in panel.list.items}
    scored = set(panel.df[panel.df.stars.notna()].id)
    assert scored and all(items[t]["predicted"] is None for t in scored if t in items)
    unscored = [i for i in panel.list.items if i["id"] not in scored]
    assert all(isinstance(i["predicted"], float) for i in unscored)
    assert all(i["predicted_hint"].startswith("Predicted ") for i in unscored)
    # A new score moves the predictions of that clip's other takes up.
    other = [i for i in unscored if panel.df.set_index("id").clip_id[i["id"]] == clips[0].id]
    before = other[0]["predicted"]
    _score_clip(ws, done_task, clips[0].id, 5, 4)
    panel.score(5, take_id=other[0]["id"], advance=False)
    after = {i["id"]: i for i in panel.list.items}
    assert after[other[1]["id"]]["predicted"] > before


def test_ask_me_next_puts_unscored_takes_first_and_reranks_after_a_score(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    panel.sort.value = "ask"
    ids = panel.take_ids()
    assert panel.df.ask_rank.tolist()[:3] == [1, 2, 3]
    panel.keys.press("4")  # score the first and go on to the new first unscored take
    assert ws.scores.get(ids[0]).stars == 4
    assert panel.position == 0 and panel.current != ids[0]
    assert panel.df.id.iloc[-1] == ids[0]  # the scored take moved to the end
    assert panel.df.ask_rank.iloc[0] == 1


def test_blind_mode_shows_no_predictions_and_no_best_box(ctx, done_task, ws, clips):
    _score_clip(ws, done_task, clips[0].id, 5, 2)
    panel = ReviewPanel(ctx)
    panel.blind.value = True
    assert all(i["predicted"] is None for i in panel.list.items)
    assert panel.best_box.layout.display == "none"


def test_listen_less_text_exists_in_chinese(ws, role, clips, done_task):
    c = Context(ws, lang="zh")
    c.role = role
    panel = ReviewPanel(c)
    assert Translator("zh")("review.best.title") in panel.best.value
    labels = dict((v, k) for k, v in panel.sort.options)
    assert labels["ask"] == Translator("zh")("review.sort.ask")


def test_best_so_far_never_keeps_an_unheard_clip(ctx, done_task, ws, clips):
    # Two 1-star takes of one clip: another clip, none of its takes heard, leads on the prior.
    _score_clip(ws, done_task, clips[0].id, 1, 2)
    panel = ReviewPanel(ctx)
    lead = panel.recommendation[panel.recommendation.dimension == "clip"].iloc[0]
    assert lead["value"] != clips[0].id and lead["n_heard"] == 0
    assert "none of its takes heard yet" in panel.best.value and "Ask me next" in panel.best.value
    assert panel.best_keep.disabled
    assert panel.keep_best() is None and ws.products.df().empty
    zh = Context(ws, lang="zh")
    zh.role = ctx.role
    assert "一条都还没听过" in ReviewPanel(zh).best.value


def test_keeping_the_best_twice_says_so_and_a_better_take_gets_a_new_name(ctx, done_task, ws,
                                                                          clips):
    _score_clip(ws, done_task, clips[1].id, 4, 3)
    _score_clip(ws, done_task, clips[0].id, 1, 3)
    panel = ReviewPanel(ctx)
    first = panel.keep_best()
    again = panel.keep_best()  # nothing new heard: the same take, already a product
    assert again.id == first.id and len(ws.products.df()) == 1
    assert "Already kept" in ctx.notice.value and first.name in ctx.notice.value
    takes = ws.takes.df(done_task, sort="plan")
    better = takes[(takes.clip_id == clips[1].id) & takes.stars.isna()].id.iloc[0]
    panel.score(5, take_id=better, advance=False)
    third = panel.keep_best()
    assert third.name == "r1-2" and third.source_take_id == better


def test_with_every_take_heard_a_close_race_is_called_too_close_not_keep_listening(
        ctx, done_task, ws, clips):
    takes = ws.takes.df(done_task, sort="plan")
    for i, t in enumerate(takes.itertuples()):  # every clip averages 2.5 stars, widely spread
        ws.scores.set(t.id, 5 * ((i + int(t.clip_id)) % 2))
    panel = ReviewPanel(ctx)
    assert not panel.recommendation.attrs["confident"]
    assert "Too close to call" in panel.best.value and "keep listening" not in panel.best.value


def test_group_by_is_disabled_with_a_tooltip_under_ask_me_next(ws, role, clips, done_task):
    for lang in ("en", "zh"):
        c = Context(ws, lang=lang)
        c.role = role
        panel = ReviewPanel(c)
        assert not panel.group_by.disabled and not panel.group_by.tooltip
        panel.sort.value = "ask"
        assert panel.group_by.disabled
        assert panel.group_by.tooltip == Translator(lang)("review.group_by_ask")
        panel.sort.value = "duration"
        assert not panel.group_by.disabled


def test_the_predicted_stars_tooltip_says_its_drivers_in_chinese(ws, role, clips, done_task):
    _score_clip(ws, done_task, clips[2].id, 5, 2)
    _score_clip(ws, done_task, clips[0].id, 1, 2)
    hints = {}
    for lang in ("en", "zh"):
        c = Context(ws, lang=lang)
        c.role = role
        hints[lang] = " ".join(i["predicted_hint"] or "" for i in ReviewPanel(c).list.items)
    assert "clip r" in hints["en"] and "参考音频 r" in hints["zh"]
    assert "clip " not in hints["zh"] and "text=" not in hints["zh"]
