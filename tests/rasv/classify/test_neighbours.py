"""Neighbour-graph clustering on voices the test makes: four held-out espeak-ng voices (voice
variant, pitch and speed differ), 8 sentences each, embedded with the numpy GE2E model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import rasv
from gsv_bridge.espeak import synth
from rasv.audio import write_wav
from rasv.classify import clusters
from rasv.classify.embeddings import get_backend
from rasv.classify.neighbours import graph_labels, merge_close, modularity, neighbour_graph

#: (espeak voice, pitch 0–100, words per minute): none of them is a demo or test_classify voice.
HELD_OUT = [("en-us+m1", 40, 150), ("en-us+m4", 55, 185), ("en+f1", 65, 160), ("en+f4", 48, 140)]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please remember to close the window before you leave the house.",
    "We walked along the beach until the sun went down behind the hills.",
    "My grandmother used to bake bread every Sunday morning.",
    "The train to the city leaves from platform nine at half past seven.",
    "Could you tell me where the nearest library is, please?",
    "It rained all night, and the garden is full of puddles now.",
    "They finally finished the project after three long weeks of work.",
    "A cup of hot tea is the best thing on a cold winter evening.",
    "The children were laughing and running around the playground.",
    "He opened the old wooden box and found a bundle of letters.",
    "Our neighbours are planning a small party for next Saturday.",
    "The museum is closed on Mondays, so we went to the park instead.",
    "She wrote the address on a piece of paper and handed it to me.",
    "Turn left at the bakery and walk straight for two more blocks.",
    "Every morning the fisherman sails out before the sun rises.",
]


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    """A workspace with role "four" (4 voices × 8 clips) and role "one" (16 clips of one
    voice), embedded once; returns (workspace folder, voice index per clip of "four")."""
    root = tmp_path_factory.mktemp("neighbours")
    with rasv.open(root / "ws") as ws:
        four, one = ws.roles.create("four"), ws.roles.create("one")
        for v, (voice, pitch, wpm) in enumerate(HELD_OUT):
            for k, text in enumerate(SENTENCES[:8]):
                x, sr = synth(text, voice=voice, pitch=pitch, rate_wpm=wpm)
                write_wav(root / f"v{v}_{k}.wav", x, sr)
                ws.clips.add(four, root / f"v{v}_{k}.wav", text=text)
        for k, text in enumerate(SENTENCES):
            x, sr = synth(text, voice="en+f4", pitch=48 + k % 3, rate_wpm=140 + 3 * (k % 4))
            write_wav(root / f"one_{k}.wav", x, sr)
            ws.clips.add(one, root / f"one_{k}.wav", text=text)
        assert ws.classify.embed(four).computed == 32
        assert ws.classify.embed(one).computed == 16
    return root / "ws"


def _truth(frame) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(name[1]) for name in frame["name"]]


def test_neighbours_find_the_voices(voices):
    """The premise: each clip's nearest neighbours share its voice."""
    with rasv.open(voices) as ws:
        df = ws.clips.df("four", sort="id")
        ids, X = ws.classify.vectors(df.id)
    truth = np.array([int(n[1]) for n in df.name])
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)
    nearest = np.argsort(-S, axis=1)[:, :7]
    assert (truth[nearest] == truth[:, None]).mean() >= 0.85
    # ...while a single distance threshold merges voices (what the old default did)
    old = clusters.cluster_labels(X, "agglomerative", threshold=0.25)
    assert adjusted_rand_score(truth, old) < 0.9


def test_cluster_finds_four_voices_by_itself(voices):
    with rasv.open(voices) as ws:
        cl = ws.classify.cluster("four")
    assert cl.method == "auto" and cl["cluster"].nunique() == 4
    assert adjusted_rand_score(_truth(cl), cl["cluster"]) >= 0.9
    # the rest of the frame still works: map, outliers, one representative per voice
    assert cl[["x", "y"]].abs().to_numpy().sum() > 0
    assert cl["outlier"].sum() <= 2
    reps = cl.representatives()
    assert len(reps) == 4
    names = cl.set_index("clip_id").loc[reps, "name"]
    assert sorted(n[1] for n in names) == ["0", "1", "2", "3"]


def test_cluster_with_n_clusters_gives_eight_each(voices):
    with rasv.open(voices) as ws:
        cl = ws.classify.cluster("four", n_clusters=4)
        assert sorted(cl.groupby("cluster").size()) == [8, 8, 8, 8]
        assert adjusted_rand_score(_truth(cl), cl["cluster"]) == 1.0
        assert ws.classify.cluster("four", n_clusters=2)["cluster"].nunique() == 2


def test_one_voice_stays_one_cluster(voices):
    with rasv.open(voices) as ws:
        cl = ws.classify.cluster("one")
    assert cl["cluster"].nunique() == 1 and len(cl.representatives()) == 1


# -- the pieces, on synthetic vectors ---------------------------------------------------------


def _blobs(sizes, spread=0.3, dim=16, seed=0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (len(sizes), dim))
    X = np.concatenate([c + rng.normal(0, spread, (s, dim)) for c, s in zip(centres, sizes,
                                                                               strict=True)])
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.repeat(np.arange(len(sizes)), sizes)


def test_graph_labels_on_blobs_of_unequal_size():
    X, truth = _blobs([30, 12, 6])
    assert adjusted_rand_score(truth, graph_labels(X)) == 1.0
    assert adjusted_rand_score(truth, graph_labels(X, n_clusters=3)) == 1.0
    assert graph_labels(X, n_clusters=1).tolist() == [0] * 48
    # one blob: no structure worth a split
    one, _ = _blobs([40], seed=3)
    assert set(graph_labels(one).tolist()) == {0}
    # deterministic
    assert graph_labels(X).tolist() == graph_labels(X.copy()).tolist()


def test_modularity_and_graph():
    X, truth = _blobs([10, 10])
    W = neighbour_graph(X, 3)
    assert (W != W.T).nnz == 0 and W.diagonal().sum() == 0
    assert modularity(W, truth) > 0.4 > modularity(W, np.arange(20) % 2)
    assert modularity(W, np.zeros(20, int)) == pytest.approx(0.0)


def test_merge_close_joins_a_split_voice_only():
    X, truth = _blobs([20, 20], spread=0.2)
    halves = truth * 2 + (np.arange(40) % 2)  # each blob cut in two at random
    assert adjusted_rand_score(truth, merge_close(X, halves)) == 1.0


def test_small_sets_use_the_threshold():
    X = np.eye(3)[[0, 0, 1, 2, 2, 2]].astype(float)
    labels = clusters.cluster_labels(X, "auto", threshold=0.25)
    assert labels.tolist() == clusters.cluster_labels(X, "agglomerative").tolist()
    assert clusters.cluster_labels(X, "auto", n_clusters=2).max() == 1


def test_backend_vectors_are_the_defaults(voices):
    assert get_backend("auto").name == "resemblyzer"
