"""The review table: grouping in any order, sorting, filtering, duration statistics, export."""

from __future__ import annotations

import itertools
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

import rasv
from rasv.takes.namespace import GROUP_KEYS
from tests.rasv.review_task import add_model, make_task

VARY = {"top_k": [5, 15], "temperature": [0.7, 1.0]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A workspace with one task (3 clips × 2 texts × 4 combos × 2 seeds = 48 takes)."""
    root = tmp_path_factory.mktemp("review")
    ws = rasv.open(root / "ws", shared=False)  # one writer, no re-attach per statement
    role = ws.roles.create("男-张三")
    task = make_task(ws, role, root / "src", vary=VARY, seeds=(1, 2))
    ws.close()
    return root / "ws", task


@pytest.fixture
def ws_task(built, tmp_path):
    """A private copy of the built workspace (tests may score and filter freely)."""
    src, task = built
    dst = tmp_path / "ws"
    shutil.copytree(src, dst)
    return rasv.open(dst), task


def contiguous(values) -> bool:
    """Each distinct value occupies one run of rows."""
    seen, last = set(), object()
    for v in values:
        if v != last:
            if v in seen:
                return False
            seen.add(v)
            last = v
    return True


GROUP_ORDERS = [list(p) for n in (1, 2, 3) for p in itertools.permutations(GROUP_KEYS, n)]


@pytest.mark.parametrize("group_by", GROUP_ORDERS, ids=lambda g: ">".join(g))
def test_every_grouping_order_nests_rows_and_sorts_the_leaves(ws_task, group_by):
    ws, task = ws_task
    df = ws.takes.df(task.id, group_by=group_by, sort="duration")
    assert len(df) == 48
    cols = [GROUP_KEYS[g] for g in group_by]
    assert df.attrs["group_by"] == cols
    for level in range(1, len(cols) + 1):
        keys = df[cols[:level]].astype(str).agg("|".join, axis=1)
        assert contiguous(keys.tolist()), f"level {level} groups are split"
    # Groups come in plan order at every level.
    first_ord = df.groupby(cols[0], sort=False)["ord"].min().tolist()
    assert first_ord == sorted(first_ord)
    # Inside the innermost groups, durations ascend.
    for _, leaf in df.groupby(cols, sort=False):
        assert leaf.duration_s.is_monotonic_increasing


def test_no_grouping_sorts_the_whole_task(ws_task):
    ws, task = ws_task
    df = ws.takes.df(task.id)
    assert df.duration_s.is_monotonic_increasing
    desc = ws.takes.df(task.id, sort="duration", descending=True)
    assert desc.duration_s.is_monotonic_decreasing
    assert ws.takes.df(task.id, sort="plan").ord.tolist() == list(range(48))


def test_varied_parameters_become_a_compact_label(ws_task):
    ws, task = ws_task
    df = ws.takes.df(task.id, sort="plan")
    assert df.attrs["varied"] == ["top_k", "temperature"]
    assert ws.takes.varied(task.id) == ["top_k", "temperature"]
    assert set(df.params_label) == {"k=5 t=0.7", "k=5 t=1", "k=15 t=0.7", "k=15 t=1"}
    assert (df.top_k.astype(str).radd("k=") == df.params_label.str.split().str[0]).all()


def test_sort_by_param_orders_by_varied_values(ws_task):
    ws, task = ws_task
    df = ws.takes.df(task.id, sort="param")
    pairs = list(zip(df.top_k, df.temperature, strict=True))
    assert pairs == sorted(pairs)
    desc = ws.takes.df(task.id, sort="top_k", descending=True)
    assert desc.top_k.is_monotonic_decreasing


def test_sort_by_score_and_metric_put_missing_values_last(ws_task):
    ws, task = ws_task
    ids = ws.takes.df(task.id, sort="plan").id.tolist()
    for tid, stars in zip(ids[:4], [2, 5, 0, 4], strict=True):
        ws.scores.set(tid, stars)
    df = ws.takes.df(task.id, sort="score", descending=True)
    assert df.stars.head(4).tolist() == [5, 4, 2, 0]
    assert df.stars.iloc[4:].isna().all()
    with ws.store.transaction() as cur:
        for k, tid in enumerate(ids[:3]):
            cur.execute("INSERT INTO metrics(take_id, name, value) VALUES (?, 'dnsmos_ovrl', ?)",
                        [tid, 3.0 - k])
    by_metric = ws.takes.df(task.id, sort="dnsmos_ovrl")
    assert by_metric.dnsmos_ovrl.head(3).tolist() == [1.0, 2.0, 3.0]
    assert by_metric.dnsmos_ovrl.iloc[3:].isna().all()
    assert by_metric.attrs["metrics"] == ["dnsmos_ovrl"]
    with pytest.raises(rasv.InvalidInput, match="cannot sort"):
        ws.takes.df(task.id, sort="loudness")


def test_filters_on_values_lists_ranges_text_category_remark(ws_task):
    ws, task = ws_task
    base = ws.takes.df(task.id, sort="plan")
    assert set(ws.takes.df(task.id, top_k=5).top_k) == {5}
    assert len(ws.takes.df(task.id, top_k=[5, 15], temperature=0.7)) == 24
    assert set(ws.takes.df(task.id, category="happy").clip_category) == {"happy"}
    assert len(ws.takes.df(task.id, clip=task.clips[1].id)) == 16
    assert len(ws.takes.df(task.id, clip=task.clips[1].name)) == 16
    text = task.texts[1][0]
    assert set(ws.takes.df(task.id, text=text).text) == {text}
    lo, hi = base.duration_s.quantile([0.25, 0.75])
    ranged = ws.takes.df(task.id, duration=(lo, hi))
    assert ranged.duration_s.between(lo, hi).all() and 0 < len(ranged) < 48
    assert (ws.takes.df(task.id, duration=(None, lo)).duration_s <= lo).all()
    ws.scores.set(base.id[0], 4, remark="Heavy BREATHING at the end", tags=["换气"])
    ws.scores.set(base.id[1], 2, tags=["电音"])
    assert ws.takes.df(task.id, remark="breathing").id.tolist() == [base.id[0]]
    assert ws.takes.df(task.id, stars=(3, None)).id.tolist() == [base.id[0]]
    assert ws.takes.df(task.id, tags="electric_noise").id.tolist() == [base.id[1]]
    assert len(ws.takes.df(task.id, scored=False)) == 46
    assert ws.takes.df(task.id, seed=2).seed.unique().tolist() == [2]
    with pytest.raises(rasv.InvalidInput, match="cannot filter"):
        ws.takes.df(task.id, loudness=3)


def test_duration_per_unit_and_its_z_score_within_each_text(ws_task):
    ws, task = ws_task
    df = ws.takes.df(task.id)
    assert (df.dur_per_unit == df.duration_s / df.units).all()
    for _, g in df.groupby("text"):
        assert g.dur_z.mean() == pytest.approx(0.0, abs=1e-9)
        assert g.dur_z.std(ddof=0) == pytest.approx(1.0)
    # A repeated take is twice as long: it is the outlier of its text.
    zh = task.texts[0][0]
    target = df[df.text == zh].id.iloc[0]
    with ws.store.transaction() as cur:
        cur.execute("UPDATE takes SET duration_s = duration_s * 2 WHERE id = ?", [target])
    again = ws.takes.df(task.id, text=zh, sort="dur_z", descending=True)
    assert again.id.iloc[0] == target and again.dur_z.iloc[0] > 3


def test_latest_score_per_take_and_event_count(ws_task):
    ws, task = ws_task
    tid = task.take_ids[0]
    ws.scores.set(tid, 2, tags=["复读"])
    ws.scores.set(tid, 4)
    row = ws.takes.df(task.id, sort="plan").set_index("id").loc[tid]
    assert row.stars == 4 and list(row.tags) == ["repetition"] and row.n_score_events == 2


def test_takes_of_a_role_and_of_the_whole_workspace(ws_task):
    ws, task = ws_task
    role = ws.roles.get("男-张三")
    assert len(ws.takes.df(role=role)) == 48
    assert len(ws.takes.df()) == 48
    other = ws.roles.create("女-小红")
    assert ws.takes.df(role=other).empty
    with pytest.raises(rasv.TaskNotFound):
        ws.takes.df(999)


def test_get_audio_and_paths(ws_task):
    ws, task = ws_task
    take = ws.takes.get(task.take_ids[3])
    assert take.status == "done" and take.seed in (1, 2) and take.params.top_k in (5, 15)
    assert take.prompt_text.startswith("参考音频")
    audio = ws.takes.audio(take.id)
    assert audio.sample_rate == 32000
    assert audio.duration_s == pytest.approx(take.duration_s, abs=1e-3)
    assert ws.takes.abspath(take.id) == ws.root / take.audio_path
    ws.takes.abspath(take.id).unlink()
    with pytest.raises(rasv.AudioError, match="missing"):
        ws.takes.audio(take.id)


def test_pending_and_failed_takes_have_no_audio(ws_task):
    ws, task = ws_task
    with ws.store.transaction() as cur:
        cur.execute("UPDATE takes SET status = 'failed', error = 'boom' WHERE id = ?",
                    [task.take_ids[0]])
    with pytest.raises(rasv.AudioError, match="no audio"):
        ws.takes.audio(task.take_ids[0])
    df = ws.takes.df(task.id, status="failed")
    assert df.error.tolist() == ["boom"] and np.isnan(df.dur_per_unit.iloc[0])


def test_spectrogram_and_figure_are_cached_per_take(ws_task):
    ws, task = ws_task
    tid = task.take_ids[0]
    fig = ws.takes.figure(tid)
    assert [t.type for t in fig.data] == ["scatter", "scatter", "heatmap"]
    cached = list((ws.root / "cache" / "visuals").rglob(f"{tid}-*.npz"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    ws.takes.figure(tid, show="spectrogram")
    assert cached[0].stat().st_mtime_ns == mtime
    spec = ws.takes.spectrogram(tid)
    assert spec.duration_s == pytest.approx(ws.takes.get(tid).duration_s, abs=1e-3)
    with pytest.raises(rasv.InvalidInput):
        ws.takes.figure(tid, show="3d")


def test_export_csv_and_parquet(ws_task, tmp_path):
    ws, task = ws_task
    ws.scores.set(task.take_ids[0], 3, tags=["电音", "吞字"], remark='say "hi",\nthen')
    csv = ws.takes.export(task.id, tmp_path / "out" / "takes.csv", group_by=["text"])
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert len(back) == 48 and "params_label" in back.columns
    row = back.set_index("id").loc[task.take_ids[0]]
    assert row.tags == "electric_noise;swallowed" and row.remark == 'say "hi",\nthen'
    pq = ws.takes.export(task.id, tmp_path / "takes.parquet")
    con = duckdb.connect()
    got = con.execute(f"SELECT id, tags, stars FROM read_parquet('{pq}') "
                      "WHERE stars IS NOT NULL").fetchall()
    con.close()
    assert got == [(task.take_ids[0], ["electric_noise", "swallowed"], 3)]
    with pytest.raises(rasv.InvalidInput, match="csv or parquet"):
        ws.takes.export(task.id, tmp_path / "x.xlsx")


def test_model_and_aux_dimensions_in_labels(tmp_path):
    ws = rasv.open(tmp_path / "ws")
    role = ws.roles.create("a")
    g1 = add_model(ws, tmp_path, "gpt", "voice-e5.ckpt", epoch=5)
    g2 = add_model(ws, tmp_path, "gpt", "voice-e10.ckpt", epoch=10)
    s1 = add_model(ws, tmp_path, "sovits", "voice_e8_s96.pth")
    task = make_task(ws, role, tmp_path / "src", n_clips=1, texts=[("你好世界。", "zh")],
                     vary={"gpt": [g1, g2], "sovits": [s1]})
    df = ws.takes.df(task.id, sort="param")
    assert df.attrs["varied"] == ["gpt"]
    assert df.params_label.tolist() == ["gpt=voice e5", "gpt=voice e10"]
    assert df.sovits.unique().tolist() == ["voice e8 s96"]
