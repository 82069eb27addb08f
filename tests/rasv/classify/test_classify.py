"""ws.classify on real speech: five espeak voices, 20 sentences each, plus noisy copies.

espeak's language voices share one timbre (``cmn`` and ``en-us`` are the same synthetic
"speaker" to a speaker model), so the five voices differ by espeak *variant*: each has its own
formants and pitch, which is what a speaker embedding should hear.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, homogeneity_score

import rasv
from gsv_bridge.espeak import synth
from rasv.audio.files import write_wav
from rasv.classify.embeddings import get_backend
from rasv.classify.namespace import ClusterFrame, SimilarityFrame, score_histogram
from rasv.errors import ClipNotFound, InvalidInput
from rasv.testing import FakeEmbeddingBackend, make_clip, write_list

VOICES = ["cmn+f3", "cmn+klatt4", "en-us+m7", "en-us+f5", "en-us+klatt"]
ZH = ["今天天气很好，我们一起去公园散步吧。", "明天早上八点在学校门口集合。", "这家饭店的菜味道非常不错。",
      "请把桌子上的书递给我一下。", "我昨天晚上看了一部很有意思的电影。", "火车马上就要开了，大家快点上车。",
      "他每天早上都会跑步半个小时。", "这个问题我们需要再讨论一下。", "冬天来了，记得多穿一点衣服。",
      "妈妈在厨房里做晚饭。", "图书馆里的人很多，但是非常安静。", "我们下个星期去北京旅游。",
      "这首歌的旋律让我想起了小时候。", "请问附近有没有地铁站？", "他的中文说得越来越流利了。",
      "周末我想在家里好好休息。", "孩子们在操场上开心地玩耍。", "春天的花开得特别漂亮。",
      "会议推迟到下午三点开始。", "谢谢你一直以来的帮助和支持。"]
EN = ["The quick brown fox jumps over the lazy dog.", "Please call me back when you get home.",
      "We should leave early to avoid the traffic.", "The museum opens at nine in the morning.",
      "She has been learning to play the piano.", "It looks like it is going to rain today.",
      "Could you pass me the salt, please?", "The train to the city leaves every hour.",
      "I forgot my umbrella at the office again.", "They built a small house near the river.",
      "Our meeting has been moved to Thursday.", "He likes to read old books on rainy days.",
      "The children laughed at the funny clown.", "Turn left at the second traffic light.",
      "This coffee tastes better than yesterday.", "We watched the sunset from the hill.",
      "Remember to water the plants while I am away.", "The library is closed on holidays.",
      "Her voice was calm and very clear.", "Thank you for waiting so patiently."]


def _voice_of(name: str) -> str:
    return name.split("_")[0].replace("-plus-", "+")


@pytest.fixture(scope="session")
def voice_set(tmp_path_factory):
    """100 clean clips + 100 noisy copies as WAV files: [(path, voice, text, lang)]."""
    root = tmp_path_factory.mktemp("voices")
    rng = np.random.default_rng(6)
    rows = []
    for vi, voice in enumerate(VOICES):
        zh = voice.startswith("cmn")
        for k in range(20):
            text = (ZH if zh else EN)[(k + 3 * vi) % 20]
            x, sr = synth(text, voice=voice, rate_wpm=int(rng.integers(130, 170)))
            stem = f"{voice.replace('+', '-plus-')}_{k:02d}"
            clean = root / f"{stem}.wav"
            write_wav(clean, x, sr)
            snr_db = rng.uniform(15, 25)
            noise = rng.normal(0, np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10)), len(x))
            noisy = root / f"{stem}_noisy.wav"
            write_wav(noisy, (x + noise).astype(np.float32), sr)
            lang = "ZH" if zh else "EN"
            rows += [(str(clean), "spk", lang, text), (str(noisy), "spk", lang, text)]
    return rows


@pytest.fixture(scope="session")
def voices_ws(tmp_path_factory, voice_set):
    """A workspace folder whose role "voices" holds the voice set, embedded once."""
    root = tmp_path_factory.mktemp("classify") / "ws"
    lst = write_list(root.parent / "voices.list", voice_set)
    with rasv.open(root) as ws:
        role = ws.roles.create("voices")
        rep = ws.clips.import_list(role, lst)
        assert len(rep.added) == 200, rep.skipped
        report = ws.classify.embed(role, backend="resemblyzer")
        assert report.computed == 200 and not report.failed
    return root


@pytest.fixture
def vws(voices_ws):
    return rasv.open(voices_ws)


# -- acceptance: voices are recovered -------------------------------------------------------


@pytest.mark.ml
@pytest.mark.slow
@pytest.mark.parametrize("method", ["auto", "agglomerative", "hdbscan"])
def test_clustering_recovers_the_voices(vws, method):
    cl = vws.classify.cluster("voices", method=method)
    assert isinstance(cl, ClusterFrame) and len(cl) == 200
    truth = [_voice_of(n) for n in cl["name"]]
    sizes = cl.groupby("cluster").size().sort_values(ascending=False)
    if method == "auto":
        # 15–25 dB of noise moves a voice's vectors as far from its clean clips (1.5–2× the
        # spread inside each, measured) as distinct held-out espeak voices lie apart (1.4×,
        # test_neighbours), so the neighbour method may keep a voice's noisy copies as a
        # group of their own: every cluster is still one voice, no voice cut in more than two.
        assert homogeneity_score(truth, cl["cluster"]) >= 0.99
        assert cl.groupby(truth)["cluster"].nunique().max() <= 2 and len(sizes) <= 10
        assert adjusted_rand_score(truth, cl["cluster"]) >= 0.8
    else:
        assert adjusted_rand_score(truth, cl["cluster"]) >= 0.9
        # five big clusters; a stray noisy clip may sit alone
        assert len(sizes) <= 7 and sizes.iloc[:5].sum() >= 196
    reps = cl.representatives()
    # one per cluster that has a 3-10 s clip: espeak keeps state between calls, so whether a
    # voice's short sentences reach 3 s depends on what ran before (test order)
    with_valid = cl[cl["valid"].astype(bool)]["cluster"].nunique()
    assert len(reps) == with_valid == len(set(cl.set_index("clip_id").loc[reps, "cluster"]))
    assert with_valid >= len(sizes) - 2
    # a representative is a valid reference wherever its cluster has one
    for _, g in cl.groupby("cluster"):
        rep = g[g.representative].iloc[0]
        assert rep.valid or not g.valid.any()
    assert cl.outlier.sum() <= 4
    assert vws.classify.representatives("voices", method=method) == reps


@pytest.mark.ml
@pytest.mark.slow
def test_similar_to_ranks_the_seed_voice_first(vws):
    df = vws.clips.df("voices", sort="id")
    for voice in VOICES:
        seed = df[df.name.map(_voice_of) == voice].id.iloc[0]
        sim = vws.classify.similar_to(int(seed))
        assert isinstance(sim, SimilarityFrame) and len(sim) == 200
        assert sim["rank"].tolist() == list(range(1, 201))
        assert sim.iloc[0].clip_id == seed and bool(sim.iloc[0].seed)
        assert sim.iloc[0].score == pytest.approx(1.0, abs=1e-5)
        top = sim.iloc[1:31]  # 39 other clips share the seed's voice
        assert (top.name.map(_voice_of) == voice).all(), top[["name", "score"]]
        assert sim.score.is_monotonic_decreasing
        hist = sim.histogram()
        assert hist["count"].sum() == 200
        assert hist.lo.is_monotonic_decreasing and hist.lo.iloc[-1] <= -0.3
        assert hist.iloc[0].label == "0.9–1.0" and hist.iloc[0].first_rank == 1


@pytest.mark.ml
@pytest.mark.slow
def test_cached_embeddings_recompute_nothing(vws, monkeypatch):
    backend = get_backend("auto")

    def refuse(wavs):
        raise AssertionError("the model ran although every embedding is cached")

    monkeypatch.setattr(backend, "_embed", refuse)
    rep = vws.classify.embed("voices")
    assert (rep.total, rep.computed, rep.cached, rep.failed) == (200, 0, 200, ())
    first = vws.classify.cluster("voices")
    again = vws.classify.cluster("voices")
    pd.testing.assert_frame_equal(first, again)  # map coordinates are deterministic
    assert len(vws.classify.similar_to(int(first.clip_id.iloc[0]), categories=["x"])) == 0


@pytest.mark.ml
@pytest.mark.slow
def test_outliers_are_the_clips_that_fit_nowhere(vws, tmp_path, voice_set):
    role = vws.roles.create("mixed")
    main_voice = [r for r in voice_set if _voice_of(Path(r[0]).name) == "cmn+f3"]
    for path, *_ in main_voice:
        vws.clips.add(role, path)
    odd, sr = synth("Something completely different is said here.", voice="en-us+klatt")
    write_wav(tmp_path / "odd.wav", odd, sr)
    noise = np.random.default_rng(1).normal(0, 0.1, 3 * 16000).astype(np.float32)
    write_wav(tmp_path / "noise.wav", noise, 16000)
    odd_id = vws.clips.add(role, tmp_path / "odd.wav").id
    noise_id = vws.clips.add(role, tmp_path / "noise.wav").id
    cl = vws.classify.cluster(role)
    flagged = set(cl[cl.outlier].clip_id)
    assert {odd_id, noise_id} <= flagged
    assert len(flagged) <= 3


# -- the API, fast, with the test-double backend ---------------------------------------------


@pytest.fixture
def tones(ws, role, tmp_path):
    """Six clips of two "voices" (low and high pitch), valid and invalid lengths."""
    ids = []
    for i, (f0, dur) in enumerate([(110, 4.0), (115, 3.5), (112, 2.0),
                                   (260, 4.0), (270, 5.0), (265, 1.5)]):
        ids.append(ws.clips.add(role, make_clip(tmp_path / f"t{i}.wav", dur, f0=f0, seed=i),
                                text=f"t{i}").id)
    return ids


def test_similar_to_frame_and_filters(ws, role, tones):
    fake = FakeEmbeddingBackend()
    sim = ws.classify.similar_to(tones[0], backend=fake)
    assert list(sim.columns) == ["rank", "clip_id", "name", "category", "text", "lang",
                                 "duration_s", "valid", "score", "seed"]
    assert set(sim.clip_id[:3]) == set(tones[:3]) and sim.seed_id == tones[0]
    assert sim.backend_name == "fake-spectrum"
    # filtering keeps the subclass and its histogram
    top = sim[sim.score > 0.5]
    assert isinstance(top, SimilarityFrame) and top.histogram()["count"].sum() == len(top)
    without = ws.classify.similar_to(tones[0], backend=fake, include_seed=False)
    assert tones[0] not in set(without.clip_id) and len(without) == 5
    ws.classify.assign(tones[3:], "high")
    only_high = ws.classify.similar_to(tones[0], categories=["high"], backend=fake)
    assert set(only_high.clip_id) == set(tones[3:])  # the seed is compared, not listed
    with pytest.raises(ClipNotFound):
        ws.classify.similar_to(999, backend=fake)


def test_assign_and_assign_similar(ws, role, tones):
    fake = FakeEmbeddingBackend()
    sim = ws.classify.similar_to(tones[3], backend=fake)
    threshold = float(sim.score.iloc[2])
    moved = ws.classify.assign_similar(tones[3], threshold, "高音", backend=fake)
    assert sorted(moved) == sorted(sim.clip_id.iloc[:3])
    assert "高音" in ws.clips.categories.list(role)
    assert ws.classify.assign_similar(tones[3], threshold, "高音", backend=fake) == []
    assert ws.classify.assign([tones[0], tones[0]], "default") == []
    with pytest.raises(InvalidInput):
        ws.classify.assign(tones, "  ")
    with pytest.raises(ClipNotFound):
        ws.classify.assign([tones[0], 12345], "x")
    assert ws.clips.get(tones[0]).category == "default"  # nothing moved by the failed call
    with pytest.raises(InvalidInput):
        ws.classify.assign_similar(tones[0], 1.5, "x", backend=fake)


def test_cluster_frame_shape_and_summary(ws, role, tones):
    fake = FakeEmbeddingBackend()
    cl = ws.classify.cluster(role, backend=fake)
    assert list(cl.columns) == ["clip_id", "name", "category", "text", "duration_s", "valid",
                                "cluster", "size", "x", "y", "d_cluster", "d_role", "outlier",
                                "representative"]
    groups = {frozenset(g.clip_id) for _, g in cl.groupby("cluster")}
    assert groups == {frozenset(tones[:3]), frozenset(tones[3:])}
    assert all(cl[cl.representative].valid)  # the 2.0 and 1.5 s clips are never picked
    summary = cl.summary()
    assert summary["size"].tolist() == [3, 3] and summary.n_valid.tolist() == [2, 2]
    assert ws.classify.cluster(role, backend=fake, n_clusters=1).cluster.nunique() == 1
    # six clips: too few for a neighbour graph, the model's distance threshold decides
    assert cl.method == "auto" and cl.threshold == fake.threshold
    assert ws.classify.cluster(role, backend=fake, method="hdbscan").threshold is None
    with pytest.raises(InvalidInput):
        ws.classify.cluster(role, backend=fake, method="kmeans")
    with pytest.raises(InvalidInput):
        ws.classify.cluster(role, backend=fake, n_clusters=99)


def test_empty_role_and_unusable_clips(ws, role, tmp_path):
    fake = FakeEmbeddingBackend()
    assert len(ws.classify.cluster(role, backend=fake)) == 0
    assert ws.classify.cluster(role, backend=fake).representatives() == []
    write_wav(tmp_path / "silent.wav", np.zeros(48000, np.float32), 16000)
    silent = ws.clips.add(role, tmp_path / "silent.wav").id
    ok = ws.clips.add(role, make_clip(tmp_path / "ok.wav", 3.0)).id
    rep = ws.classify.embed(role, backend=fake)
    assert rep.computed == 1 and rep.failed[0][0] == silent
    assert ws.classify.cluster(role, backend=fake).clip_id.tolist() == [ok]
    with pytest.raises(InvalidInput, match="no usable audio"):
        ws.classify.similar_to(silent, backend=fake)
    ids, X = ws.classify.vectors([silent, ok], backend=fake)
    assert ids == [ok] and X.shape == (1, fake.dim)


def test_embed_progress_and_clip_subset(ws, role, tones):
    fake = FakeEmbeddingBackend()
    seen = []
    rep = ws.classify.embed(role, backend=fake, clip_ids=tones[:4], batch_size=3,
                            progress=lambda d, t: seen.append((d, t)))
    assert (rep.total, rep.computed) == (4, 4) and seen == [(0, 4), (3, 4), (4, 4)]
    assert ws.classify.embed(role, backend=fake).computed == 2


def test_histogram_bins():
    h = score_histogram(np.array([1.0, 0.95, 0.3, 0.0, -0.25, -0.31]))
    assert h.label.iloc[0] == "0.9–1.0" and h["count"].iloc[0] == 2
    assert h.label.iloc[-1] == "-0.4–-0.3"  # widened for the score under -0.3
    assert h["count"].sum() == 6
    assert h.set_index("label").loc["0.3–0.4", "count"] == 1  # 0.3 opens its bin
    assert pd.isna(h.set_index("label").loc["0.5–0.6", "first_rank"])
    assert score_histogram(np.array([])).shape[0] == 13
    with pytest.raises(InvalidInput):
        score_histogram(np.array([0.5]), width=0)


def test_representatives_are_a_clip_set_a_task_accepts(ws, role, tmp_path):
    fake = FakeEmbeddingBackend()
    low = [ws.clips.add(role, make_clip(tmp_path / f"l{i}.wav", 4.0 + i, f0=100, seed=i),
                        text="参考。").id for i in range(3)]
    short = [ws.clips.add(role, make_clip(tmp_path / f"s{i}.wav", 1.0, f0=300, seed=9 + i)).id
             for i in range(2)]  # slicer leftovers: a cluster with no 3–10 s clip
    cl = ws.classify.cluster(role, backend=fake)
    assert cl.cluster.nunique() == 2
    reps = cl.representatives()
    assert len(reps) == 1 and reps[0] in low
    assert len(cl.representatives(valid_only=False)) == 2
    assert set(cl.representatives(valid_only=False)) - set(reps) <= set(short)
    assert ws.classify.representatives(role, backend=fake) == reps
    from tests.rasv.taskkit import model

    task = ws.tasks.create(role, "reps", ["你好。"], clips=reps, gpt=model(ws, "gpt"),
                           sovits=model(ws, "sovits"))  # GPT-SoVITS: the 3–10 s rule applies
    assert len(task.plan()) == 1
