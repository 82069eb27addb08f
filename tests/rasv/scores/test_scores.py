"""Scores: events with history, tags, roll-ups to clips and parameter values, conclusions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import rasv
from rasv.scores.namespace import TAGS, clip_rollup_sql, mean_interval, normalize_tag, tags_df
from tests.rasv.review_task import add_model, make_task


@pytest.fixture
def task(ws, role, tmp_path):
    return make_task(ws, role, tmp_path / "src", n_clips=2, texts=[("你好世界。", "zh")],
                     vary={"top_k": [5, 15]}, seeds=(1, 2, 3))


def test_set_keeps_history_and_carries_unchanged_fields(ws, task):
    tid = task.take_ids[0]
    first = ws.scores.set(tid, 3, tags=["电音"], remark="buzz", rater="ann")
    second = ws.scores.set(tid, tags=["electric noise", "复读", "电音"])
    assert second.stars == 3 and second.remark == "buzz"
    assert second.tags == ("electric_noise", "repetition")
    third = ws.scores.set(tid, 5, remark="")
    assert (third.stars, third.tags, third.remark) == (5, ("electric_noise", "repetition"), "")
    hist = ws.scores.history(tid)
    assert hist.stars.tolist() == [3, 3, 5] and hist.id.is_monotonic_increasing
    assert ws.scores.get(tid).id == third.id and first.rater == "ann"
    cleared = ws.scores.clear(tid)
    assert cleared.stars is None and cleared.tags == () and len(ws.scores.history(tid)) == 4


def test_stars_and_tags_are_validated(ws, task):
    tid = task.take_ids[0]
    for bad in (6, -1, 2.5, "4", True):
        with pytest.raises(rasv.InvalidInput, match="whole number"):
            ws.scores.set(tid, bad)
    with pytest.raises(rasv.InvalidInput, match="empty"):
        ws.scores.set(tid, 3, tags=["  "])
    with pytest.raises(rasv.TakeNotFound):
        ws.scores.set("nope", 3)
    assert ws.scores.history(tid).empty  # nothing half-written
    assert ws.scores.set(tid, 0).stars == 0  # zero is a score, not "unrated"


def test_tag_vocabulary_has_chinese_and_english_labels():
    assert normalize_tag("吞字") == "swallowed" and normalize_tag("BREATHING") == "breathing"
    assert normalize_tag("语气不对") == "wrong_tone" and normalize_tag("自定义 标签") == "自定义 标签"
    assert tags_df().key.tolist() == list(TAGS)
    assert {"电音", "复读", "吞字", "换气", "语气不对"} <= set(tags_df().zh)


def test_by_clip_uses_the_latest_score_per_take(ws, role, task):
    a, b = task.clips
    takes = ws.takes.df(task.id, sort="plan")
    ta = takes[takes.clip_id == a.id].id.tolist()
    tb = takes[takes.clip_id == b.id].id.tolist()
    ws.scores.set(ta[0], 5)
    ws.scores.set(ta[0], 2)  # the latest counts, not the best ever
    ws.scores.set(ta[1], 4)
    ws.scores.set(tb[0], 1)
    roll = ws.scores.by_clip(role).set_index("clip_id")
    assert roll.loc[a.id, "stars_max"] == 4 and roll.loc[a.id, "stars_mean"] == 3.0
    assert roll.loc[a.id, "n_scores"] == 2 and roll.loc[a.id, "n_takes"] == 6
    assert roll.loc[b.id, "stars_max"] == 1 and roll.loc[b.id, "n_scores"] == 1
    assert roll.index[0] == a.id  # best clip first
    # The clip catalogue shows the same numbers.
    clips = ws.clips.df(role).set_index("id")
    assert clips.loc[a.id, "score_max"] == 4 and clips.loc[a.id, "n_scores"] == 2
    assert clips.loc[a.id, "score_mean"] == roll.loc[a.id, "stars_mean"]


def test_clip_rollup_sql_joins_onto_clips(ws, role, task):
    ws.scores.set(task.take_ids[0], 3)
    df = ws.sql(f"SELECT c.id, r.stars_max FROM clips c LEFT JOIN ({clip_rollup_sql()}) r "
                "ON r.clip_id = c.id ORDER BY c.id")
    assert df.stars_max.tolist()[0] == 3 and pd.isna(df.stars_max.tolist()[1])


def test_by_param_shows_which_value_wins_with_an_interval(ws, task):
    takes = ws.takes.df(task.id, sort="plan")
    for row in takes.itertuples():
        ws.scores.set(row.id, 4 + (row.seed % 2) if row.top_k == 15 else 1 + (row.seed % 2))
    table = ws.scores.by_param(task.id)
    assert table.dimension.unique().tolist() == ["clip", "top_k"]
    k = table[table.dimension == "top_k"].set_index("value")
    assert k.loc[15, "best"] and not k.loc[5, "best"]
    assert k.loc[15, "n_scored"] == 6 and k.loc[15, "n_takes"] == 6
    assert k.loc[15, "mean"] == pytest.approx(4 + 4 / 6)
    assert k.loc[15, "ci_low"] < k.loc[15, "mean"] < k.loc[15, "ci_high"]
    assert k.loc[5, "ci_high"] < k.loc[15, "ci_low"]  # clearly separated
    only_k = ws.scores.by_param(task.id, dims=["top_k"])
    assert only_k.dimension.unique().tolist() == ["top_k"]
    with pytest.raises(rasv.InvalidInput, match="not a dimension"):
        ws.scores.by_param(task.id, dims=["temperature_x"])


def test_by_param_adds_combos_when_several_parameters_vary(ws, role, tmp_path):
    t = make_task(ws, role, tmp_path / "s2", n_clips=1, texts=[("好的。", "zh")],
                  vary={"top_k": [5, 15], "top_p": [0.8, 1.0]})
    table = ws.scores.by_param(t.id)
    assert table.dimension.unique().tolist() == ["top_k", "top_p", "combo"]
    assert table.n_scored.sum() == 0 and table["mean"].isna().all() and not table.best.any()


def test_mean_interval_edge_cases():
    assert all(math.isnan(v) for v in mean_interval([]))
    m, lo, hi = mean_interval([3])
    assert m == 3 and math.isnan(lo) and math.isnan(hi)
    assert mean_interval([2, 2, 2]) == (2.0, 2.0, 2.0)


def test_conclusion_is_saved_on_the_task(ws, task):
    assert ws.scores.conclusion(task.id) == ""
    ws.scores.conclude(task.id, "  k=15 wins; keep clip 1  ")
    assert ws.scores.conclusion(task.id) == "k=15 wins; keep clip 1"
    assert ws.sql("SELECT conclusion FROM tasks").conclusion.tolist() == ["k=15 wins; keep clip 1"]


def test_scores_export_latest_or_history(ws, task, tmp_path):
    tid = task.take_ids[0]
    ws.scores.set(tid, 2, tags=["电音"])
    ws.scores.set(tid, 4)
    latest = ws.scores.df(task=task.id)
    assert latest.stars.tolist() == [4] and latest.task_ids.tolist()[0].tolist() == [task.id]
    hist = ws.scores.export(tmp_path / "s.csv", history=True)
    back = pd.read_csv(hist, encoding="utf-8-sig")
    assert back.stars.tolist() == [2, 4] and back.tags.fillna("").tolist()[0] == "electric_noise"
    assert ws.scores.df(role="男性-张三").stars.tolist() == [4]


def test_checkpoints_roll_up_by_id_with_their_labels(ws, role, tmp_path):
    g1 = add_model(ws, tmp_path, "gpt", "voice-e5.ckpt", epoch=5)
    g2 = add_model(ws, tmp_path, "gpt", "voice-e10.ckpt", epoch=10)
    t = make_task(ws, role, tmp_path / "s3", n_clips=1, texts=[("好的。", "zh")],
                  vary={"gpt": [g1, g2]}, seeds=(1, 2))
    for row in ws.takes.df(t.id).itertuples():
        ws.scores.set(row.id, 5 if row.gpt_id == g2 else 2)
    table = ws.scores.by_param(t.id).set_index("value")
    assert table.loc[g2, "label"] == "voice e10" and table.loc[g2, "best"]
    assert table.loc[g1, "mean"] == 2.0
    p = ws.scores.pairs(t.id, by="gpt")
    for _ in range(len(p)):
        item = p.current
        p.vote("a" if ws.takes.get(item.take_a).gpt_id == g2 else "b")
    ranked = ws.scores.rank(t.id, by="gpt")
    assert ranked.item.tolist() == [g2, g1] and ranked.label.tolist()[0] == "voice e10"


def test_by_param_keeps_each_value_in_its_own_type(ws, role, tmp_path):
    t = make_task(ws, role, tmp_path / "s3", n_clips=2, texts=[("好的。", "zh")],
                  vary={"speed_factor": [0.8, 1.25]})
    table = ws.scores.by_param(t.id)
    clips = table[table.dimension == "clip"].value.tolist()
    assert clips == [c.id for c in t.clips] and all(type(v) is int for v in clips)
    assert table[table.dimension == "speed_factor"].value.tolist() == [0.8, 1.25]
    assert "1.0" not in table.to_csv(index=False).split("\n")[1]  # clip 1, not 1.0


def test_stars_need_a_made_take_but_a_remark_does_not(ws, role):
    from rasv.testing import FakeEngine, make_clip

    c = ws.clips.add(role, make_clip(ws.root / "r.wav", 4.0), text="参考。")
    t = ws.tasks.create(role, "pending", ["你好。"], clips=[c.id], engine="fake",
                        seeds=[1, 2])
    ws.tasks.run(t, FakeEngine(fail=lambda r: r.seed == 2))
    done, failed = ws.takes.df(t, sort="plan").id
    assert ws.scores.set(done, 3).stars == 3
    with pytest.raises(rasv.InvalidInput, match="is failed: there is no audio"):
        ws.scores.set(failed, 4)
    assert ws.scores.set(failed, remark="服务器报错").remark == "服务器报错"


def test_mean_interval_stays_on_the_star_scale_for_tiny_samples():
    # Two scores, 0 and 5: Student-t with one degree of freedom reaches -25…30.
    m, lo, hi = mean_interval([0, 5])
    assert m == 2.5 and (lo, hi) == (0.0, 5.0)
    m, lo, hi = mean_interval([4, 5, 5])
    assert 0.0 <= lo < m < hi == 5.0
    assert mean_interval([1, 2], bounds=None)[1] < 0  # raw Student-t when asked


def test_by_param_intervals_lie_within_0_to_5(ws, task):
    takes = ws.takes.df(task.id, sort="plan")
    first_clip = takes.clip_id.min()
    for row in takes[takes.seed == takes.seed.min()].itertuples():  # two scores per top_k value
        ws.scores.set(row.id, 0 if row.clip_id == first_clip else 5)
    table = ws.scores.by_param(task.id).dropna(subset=["ci_low"])
    assert len(table) and table.ci_low.ge(0).all() and table.ci_high.le(5).all()


def test_by_param_over_texts_counts_every_take_once(ws, role, tmp_path):
    t = make_task(ws, role, tmp_path / "s4", n_clips=2, texts=[("好的。", "zh"), ("再见。", "zh")],
                  vary={"top_k": [5, 15]}, seeds=(1, 2))
    takes = ws.takes.df(t.id)
    for row in takes.itertuples():
        ws.scores.set(row.id, 5 if row.text == "好的。" else 1)
    table = ws.scores.by_param(t.id, dims=["text", "top_k"]).set_index(["dimension", "value"])
    assert table.loc[("text", "好的。"), "n_takes"] == len(takes) // 2
    assert table.loc[("text", "好的。"), "mean"] == 5 and table.loc[("text", "再见。"), "mean"] == 1
    assert table.loc[("top_k", 5), "n_scored"] == len(takes) // 2
    assert table.loc[("top_k", 5), "mean"] == 3
