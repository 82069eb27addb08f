"""Grouping speaker embeddings: clusters, a 2-D map, outliers and one representative each.

Pure array functions (rows are L2-normalised embeddings); :mod:`rasv.classify.namespace` puts clips
around them.

- ``"auto"`` (the default): groups of clips that are each other's nearest neighbours, their
  number found by modularity on the neighbour graph (:mod:`rasv.neighbours`), or exactly
  ``n_clusters`` of them. Sets under 12 clips use ``"agglomerative"``.
- ``"agglomerative"``: average linkage on cosine distance, merging while the mean distance
  between two groups stays under ``threshold`` (or until ``n_clusters`` remain). The
  threshold is a model property: each embedding backend carries its own default.
- ``"hdbscan"``: HDBSCAN (density-based). Points it calls noise join their nearest cluster
  and usually come out as outliers.

Cluster numbers run 0, 1, 2 … from the largest cluster down (ties: the one holding the
earlier row first), so they are stable for the same input.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal([5, 0, 0], 0.3, (6, 3)); b = rng.normal([0, 5, 0], 0.3, (4, 3))
    >>> X = np.vstack([a, b]); X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> cluster_labels(X, threshold=0.3).tolist()
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rasv.classify import neighbours
from rasv.errors import InvalidInput

METHODS = ("auto", "agglomerative", "hdbscan")


def cluster_labels(
    X: np.ndarray, method: str = "auto", *, threshold: float = 0.25,
    n_clusters: int | None = None, min_cluster_size: int | None = None,
) -> np.ndarray:
    """Cluster numbers (0 = largest) for each row of ``X``.

    Args:
        X: (n, dim) L2-normalised embeddings.
        method: ``"auto"``, ``"agglomerative"`` or ``"hdbscan"``.
        threshold: cosine distance for ``"agglomerative"`` (and ``"auto"`` on fewer than 12
            rows); ignored when ``n_clusters`` is given.
        n_clusters: ask ``"auto"`` or ``"agglomerative"`` for exactly this many clusters.
        min_cluster_size: smallest group ``"hdbscan"`` calls a cluster (default grows with
            n: ``max(3, round(sqrt(n) / 2))``).

    Example:
        >>> X = np.eye(3)[[0, 0, 1, 2, 2, 2]].astype(float)
        >>> cluster_labels(X, n_clusters=3).tolist()
        [1, 1, 2, 0, 0, 0]
    """
    X = _check(X)
    n = len(X)
    if method not in METHODS:
        raise InvalidInput(f"unknown clustering method {method!r}; use {', '.join(METHODS)}")
    if n_clusters is not None and not 1 <= n_clusters <= max(n, 1):
        raise InvalidInput(f"n_clusters must be between 1 and the number of clips ({n}), "
                           f"got {n_clusters}")
    if method != "hdbscan" and not 0.0 < threshold <= 2.0:
        raise InvalidInput(f"threshold is a cosine distance in (0, 2], got {threshold}")
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    if method == "auto" and n >= neighbours.MIN_CLIPS:
        raw = neighbours.graph_labels(X, n_clusters)
    elif method in ("auto", "agglomerative"):
        # Under 12 rows a neighbour graph is nearly complete: a distance threshold decides.
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=n_clusters, distance_threshold=None if n_clusters else threshold,
            metric="cosine", linkage="average",
        )
        raw = model.fit_predict(X)
    else:
        raw = _hdbscan(X, min_cluster_size)
    return _relabel(raw)


def _hdbscan(X: np.ndarray, min_cluster_size: int | None) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    n = len(X)
    size = min_cluster_size or max(3, int(round(np.sqrt(n) / 2)))
    if size < 2:
        raise InvalidInput(f"min_cluster_size must be at least 2, got {size}")
    if n < size:
        return np.zeros(n, dtype=np.int64)
    # Euclidean distance between unit vectors is a monotone function of cosine distance.
    raw = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(X)
    if (raw < 0).all():
        return np.zeros(n, dtype=np.int64)
    noise = raw < 0
    if noise.any():
        labels = sorted(set(raw[~noise].tolist()))
        cents = _normalize(np.stack([X[raw == c].mean(axis=0) for c in labels]))
        raw = raw.copy()
        raw[noise] = np.asarray(labels)[np.argmax(X[noise] @ cents.T, axis=1)]
    return raw


def _relabel(raw: np.ndarray) -> np.ndarray:
    uniq, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    mapping = {uniq[i]: k for k, i in enumerate(order)}
    return np.array([mapping[v] for v in raw], dtype=np.int64)


def map_2d(X: np.ndarray) -> np.ndarray:
    """Deterministic 2-D coordinates for a map: the first two principal components.

    Each axis's sign is fixed (its largest loading is positive), so the same clips give the
    same picture on every run.

    Example:
        >>> map_2d(np.eye(3)).shape
        (3, 2)
        >>> map_2d(np.ones((1, 4))).tolist()
        [[0.0, 0.0]]
    """
    X = _check(X).astype(np.float64)
    out = np.zeros((len(X), 2))
    if len(X) < 2:
        return out
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(2, len(vt))
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    out[:, :k] = centred @ comps.T
    return np.round(out, 6)


@dataclass(frozen=True)
class Outliers:
    """Distances behind the outlier rule, and its verdict (arrays aligned with the rows).

    Example:
        >>> o = Outliers(np.zeros(2), np.zeros(2), np.array([False, True]))
        >>> int(o.flags.sum())
        1
    """

    d_cluster: np.ndarray
    d_role: np.ndarray
    flags: np.ndarray


def find_outliers(X: np.ndarray, labels: np.ndarray, z: float = 3.0) -> Outliers:
    """Rows far from their own cluster *and* from the centroid of all rows.

    ``d_cluster`` is the cosine distance to the centroid of the rest of the row's cluster (for
    a cluster of one: to the nearest other cluster's centroid); ``d_role`` is the distance to
    the centroid of every row. A row is an outlier when both lie above ``median + z · MAD``
    (MAD scaled to a standard deviation) of their distribution over all rows, taken on a log
    scale: distances to a centroid are right-skewed, their logarithms nearly symmetric, so
    the rule flags about one row in a thousand of a clean Gaussian cluster at ``z = 3``.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> X = rng.normal([1, 0, 0, 0], 0.05, (30, 4)); X[29] = [0, 0, 0, 1]
        >>> X /= np.linalg.norm(X, axis=1, keepdims=True)
        >>> find_outliers(X, np.zeros(30, int)).flags.nonzero()[0].tolist()
        [29]
    """
    X = _check(X).astype(np.float64)
    labels = np.asarray(labels)
    n = len(X)
    if n == 0:
        empty = np.zeros(0)
        return Outliers(empty, empty, np.zeros(0, dtype=bool))
    d_cluster = np.zeros(n)
    sums = {c: X[labels == c].sum(axis=0) for c in np.unique(labels)}
    sizes = {c: int((labels == c).sum()) for c in sums}
    centroids = {c: _unit(s) for c, s in sums.items()}
    for i in range(n):
        c = labels[i]
        if sizes[c] > 1:
            d_cluster[i] = 1.0 - X[i] @ _unit(sums[c] - X[i])
        else:
            others = [centroids[o] for o in centroids if o != c]
            d_cluster[i] = 1.0 - max((X[i] @ v for v in others), default=1.0)
    d_role = 1.0 - X @ _unit(X.sum(axis=0))
    flags = (d_cluster > _robust_limit(d_cluster, z)) & (d_role > _robust_limit(d_role, z))
    if n < 3:
        flags[:] = False
    return Outliers(np.round(d_cluster, 6), np.round(d_role, 6), flags)


def _robust_limit(d: np.ndarray, z: float) -> float:
    logs = np.log(np.maximum(d, 0.0) + 1e-6)
    med = float(np.median(logs))
    mad = float(np.median(np.abs(logs - med))) * 1.4826
    return float(np.exp(med + z * max(mad, 1e-3)) - 1e-6)


def medoids(X: np.ndarray, labels: np.ndarray, prefer: np.ndarray | None = None) -> dict[int, int]:
    """One representative row per cluster: the one most similar on average to its cluster.

    ``prefer`` (bool per row) restricts the choice to preferred rows where a cluster has any
    (e.g. valid 3–10 s clips that are not outliers). Ties go to the earlier row.

    Example:
        >>> X = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 1]], float)
        >>> X /= np.linalg.norm(X, axis=1, keepdims=True)
        >>> medoids(X, np.array([0, 0, 0, 1]))
        {0: 1, 1: 3}
    """
    X = _check(X).astype(np.float64)
    labels = np.asarray(labels)
    out: dict[int, int] = {}
    for c in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == c)
        pool = members
        if prefer is not None:
            preferred = members[np.asarray(prefer)[members]]
            if len(preferred):
                pool = preferred
        sims = X[pool] @ X[members].T
        # Similarity to the *other* members (self-similarity is 1 up to float noise), rounded
        # so that noise cannot break a tie against the earlier row.
        sims[pool[:, None] == members[None, :]] = 0.0
        mean = sims.sum(axis=1) / max(len(members) - 1, 1)
        out[int(c)] = int(pool[int(np.argmax(np.round(mean, 9)))])
    return out


def _check(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise InvalidInput(f"embeddings must be a 2-D array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InvalidInput("embeddings contain NaN or infinite values")
    return X


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _normalize(X: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(n > 0, n, 1.0)


__all__ = ["METHODS", "Outliers", "cluster_labels", "find_outliers", "map_2d", "medoids"]
