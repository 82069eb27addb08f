"""Bradley–Terry by MM: the fit, its fixed point, and recovering a known order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import rasv
from rasv.scores.ranking import bradley_terry, fit, win_matrix


def test_two_items_match_the_closed_form():
    W = np.array([[0.0, 7.0], [3.0, 0.0]])
    p = fit(W, prior=0)
    assert p[0] / p[1] == pytest.approx(7 / 3, rel=1e-8)
    assert np.exp(np.log(p).mean()) == pytest.approx(1.0)


def test_the_fit_satisfies_the_likelihood_equations():
    rng = np.random.default_rng(1)
    W = rng.integers(1, 9, size=(5, 5)).astype(float)
    np.fill_diagonal(W, 0)
    p = fit(W, prior=0)
    N = W + W.T
    expected = (N * p[:, None] / (p[:, None] + p[None, :])).sum(axis=1)
    assert W.sum(axis=1) == pytest.approx(expected, rel=1e-7)


def test_the_prior_keeps_a_winless_item_finite_and_last():
    df = bradley_terry([("a", "b", "a")] * 3 + [("b", "c", "b")] * 2, prior=0.5)
    assert df.item.tolist() == ["a", "b", "c"]
    assert (df.strength > 0).all() and np.isfinite(df.strength).all()
    assert df.set_index("item").loc["c", "wins"] == 0


def test_ties_count_half_for_each_side():
    _, W, T = win_matrix([("a", "b", "tie")] * 4)
    p = fit(W, T, prior=0)
    assert p[0] == pytest.approx(p[1])
    df = bradley_terry([("a", "b", "tie")], prior=0.5)
    assert df.ties.tolist() == [1.0, 1.0]


def test_simulated_listeners_recover_the_true_order():
    truth = {"k5": 0.25, "k10": 1.0, "k15": 3.0, "k30": 0.5}
    rng = np.random.default_rng(7)
    votes = []
    for _ in range(150):
        for a, b in itertools.combinations(truth, 2):
            pa = truth[a] / (truth[a] + truth[b])
            votes.append((a, b, a if rng.random() < pa else b))
    df = bradley_terry(votes, prior=0.5)
    assert df.item.tolist() == ["k15", "k10", "k30", "k5"]
    est = df.set_index("item").strength
    assert est["k15"] / est["k5"] == pytest.approx(truth["k15"] / truth["k5"], rel=0.3)


def test_unknown_items_and_winners_are_refused():
    with pytest.raises(rasv.InvalidInput, match="neither"):
        win_matrix([("a", "b", "c")])
    with pytest.raises(rasv.InvalidInput, match="not ranked"):
        win_matrix([("a", "z", "a")], items=["a", "b"])
    with pytest.raises(rasv.InvalidInput):
        fit(np.zeros((2, 2)), prior=-1)


def test_items_without_votes_are_listed_at_prior_strength():
    df = bradley_terry([], items=["x", "y"], prior=0.5)
    assert df.strength.tolist() == pytest.approx([1.0, 1.0])
    assert df["rank"].tolist() == [1, 2]
