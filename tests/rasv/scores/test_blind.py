"""Blind review sessions and pairwise A/B votes ranked with Bradley–Terry."""

from __future__ import annotations

import pandas as pd
import pytest

import rasv
from rasv.scores.blind import VISIBLE_COLUMNS, BlindSession, PairSession
from tests.rasv.review_task import make_task


@pytest.fixture
def task(ws, role, tmp_path):
    return make_task(ws, role, tmp_path / "src", n_clips=3,
                     texts=[("你好世界。", "zh"), ("Hello there.", "en")],
                     vary={"top_k": [5, 15]}, seeds=(1, 2))


def test_a_blind_pass_is_shuffled_deterministically_and_covers_every_take(ws, task):
    a = ws.scores.blind(task.id, seed=11)
    b = ws.scores.blind(task.id, seed=11)
    c = ws.scores.blind(task.id, seed=12)
    assert a.order == b.order != c.order
    assert sorted(a.order) == sorted(task.take_ids)
    assert a.order != ws.takes.df(task.id, sort="plan").id.tolist()


def test_takes_of_one_text_stay_together_unless_asked(ws, task):
    s = ws.scores.blind(task.id, seed=3)
    texts = [s._rows[t]["text"] for t in s.order]
    assert texts == sorted(texts, key=texts.index)  # one run per text
    mixed = ws.scores.blind(task.id, seed=3, group_text=False)
    assert sorted(mixed.order) == sorted(s.order)


def test_parameters_stay_hidden_until_revealed(ws, task):
    s = ws.scores.blind(task.id, seed=5)
    item = s.current
    assert item.details == {} and not item.revealed and item.label == f"1/{len(task.take_ids)}"
    assert item.text in ("你好世界。", "Hello there.") and item.audio_path.endswith(".wav")
    hidden = [f for f in ("top_k", "clip_name", "seed", "params_label") if hasattr(item, f)]
    assert hidden == []
    details = s.reveal()
    assert {"top_k", "clip_name", "seed", "params_label"} <= set(details)
    assert not set(details) & set(VISIBLE_COLUMNS)
    s.next()
    assert s.current.details == {}
    s.previous()
    assert s.current.revealed  # stays revealed when coming back


def test_navigation_stays_in_bounds(ws, task):
    s = ws.scores.blind(task.id, seed=1)
    assert not s.has_previous and s.previous().position == 0
    s.goto(len(s) - 1)
    assert not s.has_next and s.next().position == len(s) - 1
    with pytest.raises(rasv.InvalidInput):
        s.goto(len(s))


def test_blind_scores_are_saved_with_the_rater(ws, task):
    s = ws.scores.blind(task.id, seed=2, rater="bob")
    first = s.current.take_id
    s.score(4, tags=["换气"])
    s.next()
    s.score(1)
    assert s.n_scored == 2 and s.current.stars == 1
    saved = ws.scores.get(first)
    assert saved.stars == 4 and saved.rater == "bob" and saved.tags == ("breathing",)
    summary = s.summary()
    assert summary.session_stars.notna().sum() == 2 and "top_k" in summary.columns


def test_blind_session_respects_filters_and_reports_emptiness(ws, task):
    s = ws.scores.blind(task.id, seed=0, top_k=5)
    assert len(s) == len(task.take_ids) // 2
    empty = ws.scores.blind(task.id, seed=0, top_k=99)
    with pytest.raises(rasv.InvalidInput, match="no takes"):
        _ = empty.current


def test_pairs_compare_one_dimension_inside_one_text(ws, task):
    p = ws.scores.pairs(task.id, by="top_k", seed=4)
    takes = ws.takes.df(task.id).set_index("id")
    # 2 texts × 3 clips are not compared here: pairs are per text, one per pair of values.
    assert len(p) == 2
    for a, b in p.pairs:
        ra, rb = takes.loc[a], takes.loc[b]
        assert ra.text == rb.text and ra.top_k != rb.top_k
        assert ra.seed == rb.seed  # same seed on both sides when possible
    by_clip = ws.scores.pairs(task.id, by="clip", seed=4)
    assert len(by_clip) == 2 * 3  # 3 clip pairs per text
    assert ws.scores.pairs(task.id, by="clip", seed=4, n=2).pairs == by_clip.pairs[:2]


def test_votes_are_recorded_and_ranked(ws, task):
    p = ws.scores.pairs(task.id, by="clip", seed=8, rater="ann")
    takes = ws.takes.df(task.id).set_index("id")
    best, worst = task.clips[2].id, task.clips[0].id
    for _ in range(len(p)):
        item = p.current
        ca, cb = takes.loc[item.take_a, "clip_id"], takes.loc[item.take_b, "clip_id"]
        if best in (ca, cb):
            choice = "a" if ca == best else "b"
        elif worst in (ca, cb):
            choice = "b" if ca == worst else "a"
        else:
            choice = "tie"
        p.vote(choice)
    votes = ws.scores.votes(task.id)
    assert len(votes) == len(p) and set(votes.rater) == {"ann"}
    ranked = ws.scores.rank(task.id, by="clip")
    assert ranked.item.tolist() == [best, task.clips[1].id, worst]
    assert ranked.label.tolist()[0] == task.clips[2].name
    assert ws.scores.rank(task.id, by="clip", rater="nobody").strength.tolist() == [1.0] * 3
    assert p.comparisons()[0][2] in (best, "tie") or p.comparisons()[0][2] != worst


def test_vote_validation(ws, task):
    a, b = task.take_ids[:2]
    with pytest.raises(rasv.InvalidInput, match="two different"):
        ws.scores.vote(a, a, a)
    with pytest.raises(rasv.InvalidInput, match="winner"):
        ws.scores.vote(a, b, "c")
    with pytest.raises(rasv.TakeNotFound):
        ws.scores.vote(a, "zz", a)
    assert ws.scores.vote(a, b, "tie", task=task.id) == 1
    p = ws.scores.pairs(task.id, by="top_k")
    with pytest.raises(rasv.InvalidInput):
        p.vote("c")
    with pytest.raises(rasv.InvalidInput, match="not a dimension"):
        ws.scores.pairs(task.id, by="temperature_x")


def test_sessions_work_on_plain_dataframes():
    df = pd.DataFrame({"id": ["x", "y"], "text": ["t", "t"], "audio_path": ["1", "2"],
                       "params_label": ["k=5", "k=15"], "seed": [pd.NA, pd.NA]})
    s = BlindSession(df, seed=1)
    assert len(s) == 2
    p = PairSession(df, by="params_label", seed=1)
    assert len(p) == 1 and p.reveal()[0]["params_label"] in ("k=5", "k=15")
    with pytest.raises(rasv.InvalidInput, match="columns"):
        BlindSession(df.drop(columns=["audio_path"]))
