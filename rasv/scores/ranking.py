"""Bradley–Terry ranking of pairwise A/B votes, fitted with Hunter's MM algorithm.

The model: item ``i`` beats item ``j`` with probability ``p_i / (p_i + p_j)``. The MM update
(Hunter 2004, *MM algorithms for generalized Bradley–Terry models*) is

    p_i  <-  W_i / sum_j n_ij / (p_i + p_j)

where ``W_i`` counts the wins of ``i`` (a tie is half a win for each side) and ``n_ij`` the
comparisons of ``i`` with ``j``. Each step increases the likelihood. With only a few votes an
item that never won would drift to strength 0 and a disconnected comparison graph would have
no unique answer, so by default every item also plays ``prior`` virtual wins and ``prior``
virtual losses against a fixed reference of strength 1. That pins the scale (an item as good
as the reference has strength 1) and keeps every estimate finite.

:func:`p_best` ranks the other way round, for the star model (``predict``): the chance each of
several values with a joint Gaussian posterior is the best.

Example:
    >>> df = bradley_terry([("a", "b", "a"), ("a", "b", "a"), ("b", "c", "b"), ("a", "c", "a")])
    >>> df.item.tolist()
    ['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd

from rasv.errors import InvalidInput

TIE = "tie"


def win_matrix(comparisons: Iterable[tuple[Hashable, Hashable, Hashable]],
               items: Sequence[Hashable] | None = None) -> tuple[list[Hashable], np.ndarray, np.ndarray]:
    """Count wins: returns ``(items, W, T)`` with ``W[i, j]`` = wins of ``i`` over ``j``
    and ``T[i, j]`` = ties between them.

    ``comparisons`` are ``(a, b, winner)`` where ``winner`` is ``a``, ``b`` or ``"tie"``.

    Example:
        >>> items, W, T = win_matrix([("x", "y", "x"), ("x", "y", "tie")])
        >>> items, W.tolist(), T.tolist()
        (['x', 'y'], [[0.0, 1.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
    """
    rows = list(comparisons)
    if items is None:
        seen: dict[Hashable, None] = {}
        for a, b, _ in rows:
            seen.setdefault(a)
            seen.setdefault(b)
        items = list(seen)
    index = {it: k for k, it in enumerate(items)}
    n = len(items)
    W = np.zeros((n, n))
    T = np.zeros((n, n))
    for a, b, w in rows:
        if a not in index or b not in index:
            raise InvalidInput(f"comparison ({a!r}, {b!r}) names an item that is not ranked")
        if a == b:
            continue  # two takes of the same item carry no information about the items
        i, j = index[a], index[b]
        if w == TIE:
            T[i, j] += 1
            T[j, i] += 1
        elif w == a:
            W[i, j] += 1
        elif w == b:
            W[j, i] += 1
        else:
            raise InvalidInput(f"winner {w!r} is neither {a!r}, {b!r} nor 'tie'")
    return list(items), W, T


def fit(W: np.ndarray, T: np.ndarray | None = None, *, prior: float = 0.5,
        tol: float = 1e-10, max_iter: int = 100_000) -> np.ndarray:
    """Bradley–Terry strengths for a win matrix by MM iterations.

    With ``prior`` > 0 the scale is pinned by the virtual reference item (strength 1); with
    ``prior`` = 0 the strengths are scaled to a geometric mean of 1.

    Example:
        >>> p = fit(np.array([[0.0, 3.0], [1.0, 0.0]]), prior=0)
        >>> round(float(p[0] / p[1]), 6)
        3.0
    """
    W = np.asarray(W, dtype=float)
    n = W.shape[0]
    if prior < 0:
        raise InvalidInput(f"prior must be >= 0, got {prior}")
    if n == 0:
        return np.zeros(0)
    T = np.zeros_like(W) if T is None else np.asarray(T, dtype=float)
    wins = W.sum(axis=1) + 0.5 * T.sum(axis=1) + prior
    N = W + W.T + T
    p = np.ones(n)
    for _ in range(max_iter):
        denom = (N / (p[:, None] + p[None, :])).sum(axis=1) + 2.0 * prior / (p + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(denom > 0, wins / denom, 0.0)
        if prior == 0:
            positive = new > 0
            if positive.any():
                new = new / np.exp(np.log(new[positive]).mean())
        if np.all(np.abs(new - p) <= tol * np.maximum(p, 1e-12)):
            p = new
            break
        p = new
    return p


def bradley_terry(comparisons: Iterable[tuple[Hashable, Hashable, Hashable]],
                  items: Sequence[Hashable] | None = None, *, prior: float = 0.5) -> pd.DataFrame:
    """Rank items from pairwise outcomes.

    Args:
        comparisons: ``(a, b, winner)`` triples; ``winner`` is ``a``, ``b`` or ``"tie"``.
        items: the items to rank (default: every item named in a comparison).
        prior: virtual wins and losses of each item against a reference of strength 1.

    Returns:
        One row per item, strongest first: ``item``, ``rank`` (1 = best), ``strength``,
        ``log_strength``, ``p_win`` (chance to beat the reference item), ``wins``,
        ``losses``, ``ties``, ``n``.

    Example:
        >>> bradley_terry([("k5", "k15", "k15")], prior=1.0)[["item", "wins"]].values.tolist()
        [['k15', 1.0], ['k5', 0.0]]
    """
    names, W, T = win_matrix(comparisons, items)
    p = fit(W, T, prior=prior)
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    df = pd.DataFrame({
        "item": names,
        "strength": p,
        "log_strength": logp,
        "p_win": p / (p + 1.0),
        "wins": W.sum(axis=1),
        "losses": W.sum(axis=0),
        "ties": T.sum(axis=1),
    })
    df["n"] = df.wins + df.losses + df.ties
    df = df.sort_values(["strength", "wins"], ascending=[False, False], kind="stable")
    df.insert(1, "rank", np.arange(1, len(df) + 1))
    return df.reset_index(drop=True)


#: Draws used to estimate each value's chance of being the best (fixed seed: deterministic).
P_BEST_DRAWS = 2000


def p_best(mean: np.ndarray, cov: np.ndarray, draws: int = P_BEST_DRAWS,
           margin: float = 0.0) -> np.ndarray:
    """The chance each of several correlated Gaussian qualities is the highest (or, with
    ``margin``, no more than ``margin`` below the highest).

    Example:
        >>> p_best(np.array([1.0, 0.0]), np.eye(2) * 1e-4).tolist()
        [1.0, 0.0]
        >>> p_best(np.array([1.0, 0.8]), np.eye(2) * 1e-4, margin=0.5).tolist()
        [1.0, 1.0]
    """
    k = len(mean)
    if k == 1:
        return np.ones(1)
    rng = np.random.default_rng(0)
    L = np.linalg.cholesky(cov + np.eye(k) * 1e-9)
    sample = mean + rng.standard_normal((draws, k)) @ L.T
    if margin > 0:
        return (sample >= sample.max(axis=1, keepdims=True) - margin).mean(axis=0)
    return np.bincount(sample.argmax(axis=1), minlength=k) / draws


__all__ = ["P_BEST_DRAWS", "TIE", "bradley_terry", "fit", "p_best", "win_matrix"]
