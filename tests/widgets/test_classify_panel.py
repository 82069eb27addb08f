"""The Classify tab driven headlessly: embedding in the background, seed similarity with its
histogram and threshold move, clustering with the map, and the hand-off to the Tasks tab."""

from __future__ import annotations

import threading

import pytest

from rasv.testing import FakeEmbeddingBackend, make_clip
from widgets.classify import ClassifyPanel, cluster_map_figure, histogram_figure
from widgets.context import Context
from widgets.player import Player
from widgets.workbench import Workbench

FAKE = "rasv.testing:FakeEmbeddingBackend"


@pytest.fixture(autouse=True)
def _no_browser(monkeypatch):
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: None)


@pytest.fixture
def tones(ws, role, tmp_path):
    """Eight clips of two "voices" (low and high pitch); two outside 3–10 s."""
    ids = []
    for i, (f0, dur) in enumerate([(110, 4.0), (115, 3.5), (112, 2.0), (108, 5.0),
                                   (260, 4.0), (270, 5.0), (265, 1.5), (262, 6.0)]):
        ids.append(ws.clips.add(role, make_clip(tmp_path / f"t{i}.wav", dur, f0=f0, seed=i),
                                text=f"句子{i}").id)
    return ids


@pytest.fixture
def panel(role_ctx, tones):
    p = ClassifyPanel(role_ctx)
    p.backend_name.value = FAKE
    return p


def test_the_panel_lists_the_roles_clips_and_categories(panel, ws, role, tones):
    assert [v for _, v in panel.seed.options] == sorted(tones, key=lambda i: f"t{i - 1}.wav")
    assert panel.seed.value == tones[0]
    assert panel.categories.options == ("default",)
    assert panel.mode.value == "seed" and panel.cluster_box.layout.display == "none"
    panel.mode.value = "cluster"
    assert panel.seed_box.layout.display == "none" and panel.cluster_box.layout.display == ""


def test_embed_runs_in_the_background_and_reports(panel, ws, role):
    gate = threading.Event()
    real = FakeEmbeddingBackend._embed

    def slow(self, wavs):
        gate.wait(120)  # held until the test has looked (set below), however long that takes
        return real(self, wavs)

    FakeEmbeddingBackend._embed = slow
    try:
        assert panel.embed() is True
        assert panel.job.busy and panel.embed_button.disabled
        # the panel still answers while the job runs; a second job is refused
        panel.mode.value = "cluster"
        assert panel.embed() is False and "still running" in panel.ctx.notice.value
        gate.set()
        panel.job.join(30)
    finally:
        FakeEmbeddingBackend._embed = real
    assert not panel.job.busy and not panel.embed_button.disabled
    assert "8 clips, 8 computed, 0 cached" in panel.ctx.notice.value
    # cached now: the second run computes nothing
    panel.embed(wait=True)
    assert "0 computed, 8 cached" in panel.ctx.notice.value


def test_compare_ranks_the_seed_voice_first_with_a_histogram(panel, tones):
    sim = panel.compare(tones[0], wait=True)
    assert sim is panel.sim and sim.clip_id.iloc[0] == tones[0]
    assert set(sim.clip_id[:4]) == set(tones[:4])
    hist = panel.histogram.figure.data[0]
    assert sum(hist.y) == 8 and hist.x[0] == "0.9–1.0"
    assert "Compared 8 clips" in panel.ctx.notice.value
    rows = panel.ranked.rows
    assert [r["id"] for r in rows] == sim.clip_id.tolist()
    assert rows[0]["rank"] == 1 and rows[0]["bin"] == "0.9–1.0"
    # every row's bin is the histogram bar that counts it
    counted = {}
    for r in rows:
        counted[r["bin"]] = counted.get(r["bin"], 0) + 1
    assert counted == {x: y for x, y in zip(hist.x, hist.y, strict=True) if y}
    assert {r["id"] for r in rows if r["_muted"]} == {tones[2], tones[6]}


def test_a_click_on_a_bar_jumps_the_list_to_that_bin(panel, tones):
    panel.ranked.page_size = 20
    panel.compare(tones[0], wait=True)
    panel.ranked.page_size = 2  # the observer repaints: four pages of two
    assert panel.ranked.pages == 4
    hist = panel.hist
    last = max(i for i, n in enumerate(hist["count"]) if n)
    panel.histogram.click(0, last)  # what a click on the lowest non-empty bar sends
    rank = int(hist["first_rank"].iloc[last])
    assert panel.ranked.page == (rank - 1) // 2 + 1
    assert any(r["rank"] == rank for r in panel.ranked.rows)
    assert "from rank" in panel.ctx.notice.value
    empty = next(i for i, n in enumerate(hist["count"]) if n == 0)
    panel.histogram.click(0, empty)
    assert "No clip scores" in panel.ctx.notice.value


def test_threshold_from_a_row_then_move_into_a_new_category(panel, ws, role, tones):
    sim = panel.compare(tones[4], wait=True)
    fourth = int(sim.clip_id.iloc[3])
    panel.ranked.action(fourth, "threshold")
    assert panel.threshold.value == pytest.approx(float(sim.score.iloc[3]), abs=1e-4)
    assert panel.would_move_ids() == sim.clip_id.iloc[:4].tolist()
    assert "4 clips score" in panel.would_move.value
    panel.target.value = "高音"
    moved = panel.move_similar()
    assert sorted(moved) == sorted(tones[4:])
    assert {ws.clips.get(i).category for i in tones[4:]} == {"高音"}
    assert {ws.clips.get(i).category for i in tones[:4]} == {"default"}
    assert "高音" in panel.categories.options and "高音" in panel.target.options
    assert {r["category"] for r in panel.ranked.rows[:4]} == {"高音"}
    assert "Moved 4 clips into 高音" in panel.ctx.notice.value
    assert panel.move_similar() == []  # nothing left to change


def test_move_needs_a_ranking_and_a_target(panel, tones, ws):
    panel.target.value = "x"
    panel.move_button.click()
    assert "Compare with a seed first" in panel.ctx.notice.value
    panel.compare(tones[0], wait=True)
    panel.target.value = "  "
    panel.move_button.click()
    assert "Give the category" in panel.ctx.notice.value
    assert {ws.clips.get(i).category for i in tones} == {"default"}


def test_compared_categories_limit_the_ranking(panel, ws, tones):
    ws.classify.assign(tones[4:], "high")
    panel.refresh()
    panel.categories.value = ("high",)
    sim = panel.compare(tones[0], wait=True)
    assert set(sim.clip_id) == set(tones[4:])


def test_use_as_seed_from_a_row(panel, tones):
    panel.compare(tones[0], wait=True)
    panel.job.join()
    panel.ranked.action(tones[5], "seed")
    panel.job.join(30)
    assert panel.seed.value == tones[5] and panel.sim.seed_id == tones[5]


def test_a_bad_backend_is_one_sentence(panel, tones):
    panel.backend_name.value = "no-such-model"
    panel.compare(tones[0], wait=True)
    assert "unknown embedding backend" in panel.ctx.notice.value
    assert panel.sim is None and not panel.compare_button.disabled
    panel.backend_name.value = "gsv"
    assert panel.folder.layout.display == "" and "GPT-SoVITS" in panel.folder.placeholder
    panel.folder.value = "/nowhere/GPT-SoVITS"
    panel.embed(wait=True)
    assert "Error:" in panel.ctx.notice.value


def test_cluster_map_click_plays_and_shows_the_row(panel, ws, tones):
    panel.mode.value = "cluster"
    frame = panel.cluster(wait=True)
    groups = {frozenset(g.clip_id) for _, g in frame.groupby("cluster")}
    assert groups == {frozenset(tones[:4]), frozenset(tones[4:])}
    fig = panel.map.figure
    assert [t.name for t in fig.data][-1] == "Outliers"
    assert sum(len(t.customdata) for t in fig.data[:-1]) == 8
    assert len(panel.summary.rows) == 2 and panel.summary.rows[0]["size"] == 4
    assert panel.focus_cluster == 0 and len(panel.members.rows) == 4
    # a click on a point of the second cluster
    point = list(fig.data[1].customdata).index(tones[5])
    panel.map.click(1, point)
    assert panel.player.key == str(tones[5]) and panel.player.playing
    assert panel.focus_cluster == 1 and panel.members.playing == tones[5]
    assert tones[5] in [r["id"] for r in panel.members.rows]
    assert "t5.wav" in panel.detail.value and "#1" in panel.detail.value


def test_assign_a_cluster_and_send_representatives_to_tasks(panel, ws, tones):
    frame = panel.cluster(wait=True)
    high = int(frame.loc[frame.clip_id == tones[4], "cluster"].iloc[0])
    panel.c_target.value = "高音"
    panel.summary.action(high, "assign")
    assert {ws.clips.get(i).category for i in tones[4:]} == {"高音"}
    assert next(r for r in panel.summary.rows if r["id"] == high)["top_category"] == "高音"
    reps = panel.use_representatives()
    assert reps == frame.representatives() and len(reps) == 2
    assert all(ws.clips.get(i).valid for i in reps)
    # a lone panel has no Tasks tab: the ids wait in the copy box
    assert panel.reps_ids.value == ", ".join(map(str, reps))
    assert "to copy" in panel.ctx.notice.value


def test_cluster_options(panel, tones):
    # automatic by default: a cluster count, no distance
    assert panel.method.value == "auto" and panel.distance.layout.display == "none"
    panel.n_clusters.value = 1
    assert panel.cluster(wait=True).cluster.nunique() == 1
    panel.n_clusters.value = 0
    panel.method.value = "agglomerative"
    assert panel.distance.layout.display == "" and panel.n_clusters.layout.display == ""
    panel.distance.value = "abc"
    panel.cluster_button.click()
    assert "distance threshold must be a number" in panel.ctx.notice.value
    panel.method.value = "hdbscan"
    assert panel.distance.layout.display == "none" and panel.n_clusters.layout.display == "none"
    assert len(panel.cluster(wait=True)) == 8


def test_role_switch_clears_the_results(panel, ws, tones):
    panel.compare(tones[0], wait=True)
    panel.cluster(wait=True)
    panel.ctx.role = ws.roles.create("女-小红")
    assert panel.sim is None and panel.clusters is None
    assert panel.ranked.rows == [] and panel.seed.options == ()
    assert "no clips yet" in panel.ctx.notice.value


def test_in_the_workbench_representatives_open_the_tasks_tab(ws, role, tones, monkeypatch):
    wb = Workbench(ws, lang="en", role=role)
    panel = wb.select("classify")
    panel.backend_name.value = FAKE
    panel.cluster(wait=True)
    seen = []
    monkeypatch.setattr(wb.ctx, "navigator",
                        lambda tab, **kw: seen.append((tab, kw)) or tab in wb.tab_names())
    ids = panel.use_representatives()
    assert seen == [("tasks", {"clips": ids})]
    wb.ctx.navigate("classify", seed=tones[3])


def test_representatives_prefill_the_task_builder(ws, role, tones):
    wb = Workbench(ws, lang="en", role=role)
    panel = wb.select("classify")
    panel.backend_name.value = FAKE
    panel.cluster(wait=True)
    ids = panel.use_representatives()
    tasks = wb.select("tasks")
    assert wb.tab_names()[wb.tabs.selected_index] == "tasks"
    assert tasks.clip_mode.value == "clips" and list(tasks.clips.value) == ids


def test_navigation_opens_with_a_seed(ws, role, tones):
    wb = Workbench(ws, lang="en", role=role)
    assert wb.ctx.navigate("classify", seed=tones[3])
    panel = wb.panel("classify")
    assert wb.tabs.selected_index == wb.tab_names().index("classify")
    assert panel.seed.value == tones[3] and panel.mode.value == "seed"
    panel.mode.value = "cluster"
    assert wb.ctx.navigate("classify", clip=tones[5])  # the Clips tab's row button
    assert panel.seed.value == tones[5] and panel.mode.value == "seed"


def test_figures_alone():
    import numpy as np
    import pandas as pd

    from rasv.classify.namespace import score_histogram

    fig = histogram_figure(score_histogram(np.array([1.0, 0.95, -0.5])))
    assert fig.data[0].y[0] == 2 and fig.data[0].x[-1] == "-0.5–-0.4"
    frame = pd.DataFrame({"clip_id": [5], "name": ["a"], "category": ["c"], "text": [None],
                          "cluster": [0], "size": [1], "x": [0.0], "y": [0.0],
                          "outlier": [False], "representative": [True]})
    m = cluster_map_figure(frame)
    assert list(m.data[0].marker.symbol) == ["star"] and len(m.data[1].customdata) == 0


def test_static_figures_offer_a_bin_picker(ws, role, tones, monkeypatch):
    monkeypatch.setenv("RASV_FIGURES", "static")
    ctx = Context(ws, lang="en")
    ctx.role = role
    panel = ClassifyPanel(ctx)
    panel.backend_name.value = FAKE
    assert not panel.histogram.interactive and panel.bin_pick.layout.display == ""
    panel.ranked.page_size = 20
    panel.compare(tones[0], wait=True)
    panel.ranked.page_size = 2
    last = max(i for i, n in enumerate(panel.hist["count"]) if n)
    panel.bin_pick.value = last
    rank = int(panel.hist["first_rank"].iloc[last])
    assert panel.ranked.page == (rank - 1) // 2 + 1
    frame = panel.cluster(wait=True)
    panel.summary.action(1, "play")  # no clicks on a static map: the tables still play
    assert panel.player.key == str(frame[frame.representative & (frame.cluster == 1)]
                                   .clip_id.iloc[0])
