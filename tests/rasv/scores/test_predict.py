"""The "listen less" model: predicted stars, the ask order, the recommendation; and the
simulation that holds it to the figures of issue 16 (docs/predict.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rasv.scores.predict import (
    Priors,
    ask_order,
    build_design,
    fit_stars,
    rank_values,
    recommend_table,
    with_predictions,
)
from rasv.testing import FakeEngine, make_clip
from rasv.testing.listening import duration_needs, evaluate, simulate_role


def _table(stars: list[float | None], clips: list[int], **cols) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"t{i}" for i in range(len(stars))], "status": "done",
                         "clip_id": clips, "stars": stars, **cols})


# -- the simulation: the three figures -----------------------------------------------------


#: Seeds never used to tune the priors or the rules (those were tuned on seeds 0-39): a test on
#: the tuning seeds would only say the tuning was remembered.
FRESH_SEEDS = range(100, 120)


def test_simulation_on_fresh_seeds():
    f = evaluate(FRESH_SEEDS)
    # The figures (measured here: 100 %, 0.18, 98 %; docs/predict.md).
    assert f.accuracy >= 0.9, f"recommended the true best clip in {f.accuracy:.0%} of seeds"
    assert f.coverage >= 0.8, f"intervals covered {f.coverage:.0%} of the unheard takes"
    assert f.ratio <= 1 / 3, (f"heard {f.heard} takes where duration order needs "
                              f"{f.duration_needs} ({f.ratio:.2f})")
    # The sessions stop on their own (confident) more often than at the budget.
    assert f.confident >= 0.5


def test_duration_needs_counts_until_the_leader_settles():
    role = simulate_role(1)
    n = duration_needs(role)
    order = np.lexsort((role.takes["ord"].to_numpy(), role.takes["duration_s"].to_numpy()))
    heard = role.takes.iloc[order[:n]].assign(stars=role.listener[order[:n]])
    means = heard.groupby("clip_id")["stars"].mean()
    assert means.idxmax() == role.best_clip or means.max() == means[role.best_clip]
    if n > 1:  # one take earlier the leader was not (yet for good) the best clip
        before = role.takes.iloc[order[:n - 1]].assign(stars=role.listener[order[:n - 1]])
        m = before.groupby("clip_id")["stars"].mean()
        counts = before.groupby("clip_id").size()
        lead = sorted(m.index, key=lambda c: (-m[c], -counts[c], c))[0]
        assert lead != role.best_clip


# -- predictions ---------------------------------------------------------------------------


def test_a_clip_scored_well_twice_lifts_its_other_takes():
    clips = [1] * 4 + [2] * 4 + [3] * 4
    base = fit_stars(_table([None] * 12, clips)).predict()
    scored = fit_stars(_table([5, 5] + [None] * 10, clips)).predict()
    assert base.stars_pred.nunique() == 1  # nothing heard: every take at the prior mean
    assert (scored.stars_pred[2:4] > scored.stars_pred[4:].max()).all()
    assert (scored.stars_pred[2:4] > base.stars_pred[2:4]).all()
    assert scored.drivers[2].startswith("clip 1 +")


def test_a_long_name_in_the_drivers_is_cut_with_an_ellipsis_not_silently():
    t = pd.DataFrame({"id": range(8), "clip_id": [1, 2] * 4, "stars": [5, 1, 5, 1] + [None] * 4,
                      "clip_name": ["zh_m_spring_long.wav", "b.wav"] * 4})
    drivers = fit_stars(t).predict().drivers
    assert drivers[4].startswith("clip zh_m_spring… +")  # not "clip zh_m_spring." (a full stop?)
    assert drivers[5].startswith("clip b.wav -")  # short names whole


def test_predictions_are_deterministic_and_intervals_hold_the_prediction():
    role = simulate_role(5)
    t = role.takes.copy()
    t.loc[t.index[:40], "stars"] = role.listener[:40]
    a, b = fit_stars(t).predict(), fit_stars(t).predict()
    pd.testing.assert_frame_equal(a, b)
    assert ((a.low <= a.stars_pred) & (a.stars_pred <= a.high)).all()
    assert a.low.min() >= 0 and a.high.max() <= 5
    assert (a.sd[a.scored].mean() < a.sd[~a.scored].mean())


def test_missing_metrics_become_one_indicator_and_a_finite_prediction():
    t = _table([4, 2, None, None], [1, 2, 1, 2], dnsmos_ovrl=[3.2, 2.1, None, 2.9],
               sim_ref=[0.8, 0.7, None, 0.75])
    t.attrs["metrics"] = ["dnsmos_ovrl", "sim_ref"]
    d = build_design(t)
    assert d.names.count("not analysed") == 1
    p = fit_stars(t, design=d).predict()
    assert np.isfinite(p.stars_pred).all()


def test_suspicion_pulls_a_take_down():
    t = _table([4, 4, 4, None, None], [1, 1, 1, 1, 1], suspicion=[0, 0, 0, 0.0, 0.9])
    p = fit_stars(t).predict()
    assert p.stars_pred[4] < p.stars_pred[3] - 1
    assert p.drivers[4].startswith("suspicion -")


# -- ask order and recommendation ---------------------------------------------------------


def test_ask_order_goes_to_the_contenders_not_to_clips_already_out():
    # Clips 1 and 2 are close at the top; clip 3 is clearly out; clip 4 is unheard.
    clips = [1] * 6 + [2] * 6 + [3] * 6 + [4] * 3
    stars = [5, 4, None, None, None, None, 4, 4, None, None, None, None,
             0, 1, 0, 1, None, None, None, None, None]
    order = ask_order(fit_stars(_table(stars, clips)))
    first = order.take_id.head(4).map(lambda t: clips[int(t[1:])]).tolist()
    assert set(first) <= {1, 2, 4} and 3 not in first
    last = clips[int(order.take_id.iloc[-1][1:])]
    assert last == 3
    assert order.ask_rank.tolist() == list(range(1, len(order) + 1))


def test_recommend_is_confident_only_when_the_leader_clears_the_runner_up():
    clips = [1, 2] * 8
    sure = rank_values(fit_stars(_table([5, 1] * 8, clips)))
    assert sure.attrs["confident"] and sure.low[0] > sure.high[1]
    assert sure.value.tolist() == [1, 2] and sure.p_best[0] > 0.95
    unsure = rank_values(fit_stars(_table([4, 4] + [None] * 14, clips)))
    assert not unsure.attrs["confident"] and unsure.low[0] <= unsure.high[1]
    assert unsure.n_heard.tolist() == [1, 1] and unsure.n_takes.tolist() == [8, 8]


def test_a_leader_within_the_indifference_zone_is_confident():
    # Two clips a tenth of a star apart, each heard often: which one wins is a coin toss,
    # but neither can be worse than the other by a difference a listener would hear.
    one, two = [3, 4, 5] * 20, [3, 4, 5] * 19 + [3, 4, 4]
    clips = [1, 2] * 60
    stars = [s for pair in zip(one, two, strict=True) for s in pair]
    strict = rank_values(fit_stars(_table(stars, clips), Priors(indifference=0.0)))
    assert not strict.attrs["confident"] and strict.p_best[0] < 0.95
    zone = rank_values(fit_stars(_table(stars, clips)))
    assert zone.attrs["p_near"] >= 0.95 and zone.attrs["confident"]
    assert zone.value[0] == 1  # the higher mean still leads


def test_clip_metrics_rank_unheard_clips_once_a_few_scores_agree_with_them():
    # Clip quality follows its takes' similarity; scoring four clips is enough to rank the
    # unheard ones by what their takes measure.
    rng = np.random.default_rng(0)
    clips = np.repeat(np.arange(1, 9), 12)
    sim = 0.7 + 0.02 * clips + rng.normal(0.0, 0.01, clips.size)
    stars = [None] * clips.size
    for c in (1, 3, 5, 6):
        first = int(np.flatnonzero(clips == c)[0])
        stars[first] = float(c) * 0.5 + 1.0
    t = _table(stars, clips.tolist(), sim_ref=sim)
    t.attrs["metrics"] = ["sim_ref"]
    r = rank_values(fit_stars(t))
    assert r.value[0] == 8 and r.value.tolist()[:3] == [8, 7, 6]
    assert "clip metrics" in build_design(t).names


def test_recommend_ranks_clips_model_pairs_and_parameter_values():
    role = simulate_role(2)
    t = role.takes.copy()
    t["stars"] = role.listener
    r = recommend_table(fit_stars(t))
    assert r.dimension.unique().tolist() == ["clip", "models", "top_k"]
    assert r.attrs["best"] == role.best_clip and r.attrs["heard"] == len(t)
    assert r.groupby("dimension")["rank"].min().eq(1).all()


def test_refit_uses_the_same_design_as_a_fresh_fit():
    role = simulate_role(3)
    t = role.takes.copy()
    t.loc[t.index[:10], "stars"] = role.listener[:10]
    d = build_design(t, Priors())
    pd.testing.assert_frame_equal(fit_stars(t, design=d).predict(), fit_stars(t).predict())


def test_with_predictions_ranks_only_unscored_finished_takes():
    t = _table([5, None, None, None], [1, 1, 2, 2])
    t.loc[3, "status"] = "failed"
    out = with_predictions(t)
    assert out.ask_rank.isna().tolist() == [True, False, False, True]
    assert np.isnan(out.stars_pred[3]) and not np.isnan(out.stars_pred[1])


# -- through the workspace -----------------------------------------------------------------


@pytest.fixture
def scored_task(ws, role, tmp_path):
    clips = [ws.clips.add(role, make_clip(tmp_path / f"c{i}.wav", 4 + i, seed=i), text="参考。")
             for i in range(3)]
    task = ws.tasks.create(role, "k", ["你好。", "今天天气很好。"], clips=clips,
                           vary={"top_k": [5, 15]}, engine="fake")
    ws.tasks.run(task, FakeEngine())
    takes = ws.takes.df(task, sort="plan")
    first = takes[takes.clip_id == clips[0].id].id.tolist()
    last = takes[takes.clip_id == clips[2].id].id.tolist()
    for t in first[:3]:
        ws.scores.set(t, 5)
    for t in last[:3]:
        ws.scores.set(t, 1)
    return task, clips


def test_workspace_predict_recommend_and_ask_sort(ws, role, scored_task):
    task, clips = scored_task
    p = ws.scores.predict(task)
    assert list(p.columns[:5]) == ["take_id", "stars_pred", "low", "high", "sd"]
    assert len(p) == 12 and p.scored.sum() == 6
    r = ws.scores.recommend(task)
    assert r.attrs["best"] == clips[0].id and r.label[0] == clips[0].name
    assert r.attrs["heard"] == 6
    by_role = ws.scores.recommend(role)
    assert by_role.attrs["best"] == clips[0].id
    ask = ws.takes.df(task, sort="ask")
    assert ask.stars.isna().head(6).all() and ask.ask_rank.head(6).tolist() == [1, 2, 3, 4, 5, 6]
    assert ask.stars.notna().tail(6).all()
    assert {"stars_pred", "stars_low", "stars_high", "drivers"} <= set(ask.columns)


def test_workspace_predict_of_an_unknown_task_or_role(ws):
    import rasv

    with pytest.raises(rasv.TaskNotFound):
        ws.scores.predict(99)
    with pytest.raises(rasv.RoleNotFound):
        ws.scores.recommend(role="nobody")


def test_cli_recommend_prints_the_best_clip(ws, scored_task, tmp_path):
    from click.testing import CliRunner

    from rasv.cli import main

    task, clips = scored_task
    root = str(ws.root)
    ws.close()
    out = CliRunner().invoke(main, ["recommend", "-w", root, str(task.id)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"best clip: {clips[0].name} (") and "6 of 12 takes" in out.output
    asked = CliRunner().invoke(main, ["takes", "-w", root, str(task.id), "--sort", "ask"])
    assert asked.exit_code == 0, asked.output


def test_cli_recommend_gives_no_verdict_for_a_task_of_one_clip(ws, role, tmp_path):
    from click.testing import CliRunner

    from rasv.cli import main

    clip = ws.clips.add(role, make_clip(tmp_path / "one.wav", 4, seed=1), text="参考。")
    task = ws.tasks.create(role, "one", ["你好。", "再见。"], clips=[clip], engine="fake")
    ws.tasks.run(task, FakeEngine())
    ws.scores.set(ws.takes.df(task).id[0], 4)
    root = str(ws.root)
    ws.close()
    out = CliRunner().invoke(main, ["recommend", "-w", root, str(task.id)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("best clip: one.wav (the only clip of the task; 1 of 2 takes")


def test_cli_recommend_says_when_the_leader_is_a_clip_nobody_heard(ws, scored_task):
    from click.testing import CliRunner

    from rasv.cli import main

    task, clips = scored_task
    takes = ws.takes.df(task, sort="plan")
    for t in takes[takes.clip_id != clips[1].id].id:  # every clip heard is bad
        ws.scores.set(t, 0)
    root = str(ws.root)
    ws.close()
    out = CliRunner().invoke(main, ["recommend", "-w", root, str(task.id)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"best clip: {clips[1].name} (not sure yet; none of its takes "
                                 "heard yet; 8 of 12 takes heard)")


def test_a_task_not_run_yet_predicts_nothing_and_recommends_nothing():
    from rasv.testing import example

    ex = example(clips=2, texts=["你好。"], run=False)
    assert ex.ws.scores.predict(ex.task).empty
    r = ex.ws.scores.recommend(ex.task)
    assert r.empty and r.attrs["best"] is None and not r.attrs["confident"]
    assert ex.ws.takes.df(ex.task, sort="ask").ask_rank.isna().all()
