"""``ws.classify``: sort a role's clips by voice — seed similarity, clusters, a map.

RefAudioSelectorV2's workflow is kept: pick a seed clip, score every clip of some categories
against it, look at the histogram, move everything above a threshold into a category. Beyond
it: embeddings are cached per audio content and model (:mod:`rasv.classify.embeddings.cache`), the
whole role can be clustered, laid out on a 2-D map, its outliers flagged, and one
representative per cluster taken as a task's clip set.

Results are DataFrames. :meth:`Classifier.similar_to` returns a :class:`SimilarityFrame` and
:meth:`Classifier.cluster` a :class:`ClusterFrame`: pandas subclasses, chosen over a separate
result object so that everything pandas does (filter, sort, ``to_csv``, display in a notebook)
works on them directly, while ``.histogram()`` and ``.representatives()`` stay available
after filtering (pandas keeps the subclass through slicing).

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import FakeEmbeddingBackend, make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> ids = [ws.clips.add(role, make_clip(os.path.join(ws.root, f"{i}.wav"), 3.0,
    ...                                     f0=f0, seed=i)).id
    ...        for i, f0 in enumerate([110, 115, 260, 270])]
    >>> fake = FakeEmbeddingBackend()
    >>> sim = ws.classify.similar_to(ids[0], backend=fake)
    >>> sim.clip_id.tolist()[:2]
    [1, 2]
    >>> ws.classify.cluster(role, backend=fake).cluster.tolist()
    [0, 0, 1, 1]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasv.classify import clusters, neighbours
from rasv.classify.embeddings import EmbeddingBackend, get_backend
from rasv.classify.embeddings.cache import CachedVectors, Progress, ensure_vectors
from rasv.errors import ClipNotFound, InvalidInput

if TYPE_CHECKING:
    from rasv.roles.namespace import RoleRef
    from rasv.workspace import Workspace

BackendRef = str | EmbeddingBackend

_SIM_COLUMNS = ["rank", "clip_id", "name", "category", "text", "lang", "duration_s", "valid",
                "score", "seed"]
_CLUSTER_COLUMNS = ["clip_id", "name", "category", "text", "duration_s", "valid", "cluster",
                    "size", "x", "y", "d_cluster", "d_role", "outlier", "representative"]


@dataclass(frozen=True)
class EmbedReport:
    """What :meth:`Classifier.embed` did.

    ``total`` counts clips; ``computed`` and ``cached`` count distinct audio files (clips with
    identical audio share one vector). ``failed`` holds ``(clip_id, reason)`` for clips that
    got no vector.

    Example:
        >>> print(EmbedReport("resemblyzer", "0.1.4", total=3, computed=2, cached=1))
        resemblyzer 0.1.4: 3 clips, 2 computed, 1 cached, 0 failed
    """

    backend: str
    version: str
    total: int = 0
    computed: int = 0
    cached: int = 0
    failed: tuple[tuple[int, str], ...] = ()

    def __str__(self) -> str:
        return (f"{self.backend} {self.version}: {self.total} clips, {self.computed} computed, "
                f"{self.cached} cached, {len(self.failed)} failed")


class SimilarityFrame(pd.DataFrame):
    """Clips ranked by similarity to a seed clip (one row per compared clip).

    Columns: rank (1 = most similar), clip_id, name, category, text, lang, duration_s,
    valid, score (cosine similarity, −1…1), seed (True on the seed's own row).
    """

    _metadata = ["seed_id", "backend_name"]

    @property
    def _constructor(self) -> type[SimilarityFrame]:
        return SimilarityFrame

    def histogram(self, width: float = 0.1, lo: float = -0.3, hi: float = 1.0) -> pd.DataFrame:
        """Scores counted in bins of ``width``, highest bin first (RefAudioSelectorV2's view).

        Bins are ``[lo, lo + width)`` … ``[hi - width, hi]``; the range widens to take any
        score outside ``lo``…``hi``. Columns: lo, hi, label, count, first_rank (the rank of
        the best clip in the bin, to jump to it; NA when empty).

        Example:
            >>> f = SimilarityFrame({"rank": [1, 2, 3], "score": [1.0, 0.93, 0.41]})
            >>> f.histogram().head(2)[["label", "count", "first_rank"]].values.tolist()
            [['0.9–1.0', 2, 1], ['0.8–0.9', 0, <NA>]]
        """
        return score_histogram(self["score"].to_numpy(), self["rank"].to_numpy(),
                               width=width, lo=lo, hi=hi)


class ClusterFrame(pd.DataFrame):
    """A role's clips grouped by voice, one row per clip.

    Columns: clip_id, name, category, text, duration_s, valid, cluster (0 = largest), size
    (of the cluster), x, y (2-D map), d_cluster, d_role (cosine distances to the cluster and
    to the whole role), outlier, representative (one clip per cluster). Rows are ordered by
    cluster, representative first, then by closeness to the cluster.
    """

    _metadata = ["method", "threshold", "backend_name"]

    @property
    def _constructor(self) -> type[ClusterFrame]:
        return ClusterFrame

    def representatives(self, valid_only: bool = True) -> list[int]:
        """One clip id per cluster (largest cluster first), e.g. a task's clip set.

        A representative is a 3–10 s clip wherever its cluster has one. Clusters made only
        of clips outside 3–10 s (slicer leftovers, long takes) have no representative a
        GPT-SoVITS task accepts; they are left out unless ``valid_only=False``.

        Example:
            >>> f = ClusterFrame({"clip_id": [4, 7, 9, 2], "cluster": [1, 0, 0, 2],
            ...                   "valid": [True, True, True, False],
            ...                   "representative": [True, True, False, True]})
            >>> f.representatives(), f.representatives(valid_only=False)
            ([7, 4], [7, 4, 2])
        """
        reps = self[self["representative"]]
        if valid_only and "valid" in reps.columns:
            reps = reps[reps["valid"].astype(bool)]
        return [int(i) for i in reps.sort_values("cluster")["clip_id"]]

    def summary(self) -> pd.DataFrame:
        """One row per cluster: cluster, size, n_valid, n_outliers, representative (clip id),
        representative_name, top_category (the most common category in it).

        Example:
            >>> f = ClusterFrame({"clip_id": [1, 2], "name": ["a", "b"], "category": ["x", "x"],
            ...                   "valid": [True, False], "cluster": [0, 0],
            ...                   "outlier": [False, False], "representative": [True, False]})
            >>> f.summary()[["cluster", "size", "n_valid", "representative"]].values.tolist()
            [[0, 2, 1, 1]]
        """
        rows = []
        for c, g in pd.DataFrame(self).groupby("cluster", sort=True):
            rep = g[g["representative"]]
            rows.append({
                "cluster": int(c), "size": len(g), "n_valid": int(g["valid"].sum()),
                "n_outliers": int(g["outlier"].sum()),
                "representative": int(rep["clip_id"].iloc[0]) if len(rep) else None,
                "representative_name": rep["name"].iloc[0] if len(rep) else None,
                "top_category": g["category"].mode().iloc[0] if len(g) else None,
            })
        return pd.DataFrame(rows, columns=["cluster", "size", "n_valid", "n_outliers",
                                           "representative", "representative_name",
                                           "top_category"])


def score_histogram(scores: np.ndarray, ranks: np.ndarray | None = None, *, width: float = 0.1,
                    lo: float = -0.3, hi: float = 1.0) -> pd.DataFrame:
    """Count scores in ``width`` bins from ``lo`` to ``hi``, highest bin first.

    Example:
        >>> score_histogram(np.array([0.95, -0.5]), width=0.5, lo=0.0, hi=1.0).label.tolist()
        ['0.5–1.0', '0.0–0.5', '-0.5–0.0']
    """
    if not width > 0:
        raise InvalidInput(f"histogram width must be positive, got {width}")
    s = np.asarray(scores, dtype=np.float64)
    r = np.arange(1, len(s) + 1) if ranks is None else np.asarray(ranks)
    finite = np.isfinite(s)
    s, r = s[finite], r[finite]
    # Integer bin numbers avoid float drift at the edges (0.3 / 0.1 is 2.9999999999999996).
    first = math.floor(lo / width + 1e-9)
    last = math.ceil(hi / width - 1e-9)
    if len(s):
        first = min(first, math.floor(s.min() / width + 1e-9))
        last = max(last, math.ceil(s.max() / width - 1e-9))
    idx = np.minimum(np.floor(s / width + 1e-9).astype(int), last - 1)
    rows = []
    for b in range(last - 1, first - 1, -1):
        inside = idx == b
        lo_b, hi_b = round(b * width, 10), round((b + 1) * width, 10)
        rows.append({
            "lo": lo_b, "hi": hi_b, "label": f"{lo_b:.1f}–{hi_b:.1f}",
            "count": int(inside.sum()),
            "first_rank": int(r[inside].min()) if inside.any() else pd.NA,
        })
    out = pd.DataFrame(rows, columns=["lo", "hi", "label", "count", "first_rank"])
    out["first_rank"] = out["first_rank"].astype("Int64")
    return out


class Classifier:
    """``ws.classify``: embeddings, similarity to a seed, assignment, clustering.

    Every method takes ``backend``: a name (``"auto"`` = Resemblyzer unless told otherwise, see
    :mod:`rasv.classify.embeddings`) or an :class:`~rasv.classify.embeddings.EmbeddingBackend` instance (e.g.
    ``rasv.classify.embeddings.get_backend("gsv", gsv_root="…")``). Missing embeddings are computed
    and cached on the way.
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- embeddings --------------------------------------------------------------------------

    def embed(self, role: RoleRef, backend: BackendRef = "auto", clip_ids: Iterable[int] | None = None,
              progress: Progress | None = None, batch_size: int | None = None) -> EmbedReport:
        """Compute and cache the embeddings of a role's clips (or of ``clip_ids`` in it).

        Cached clips cost nothing; ``progress(done, total)`` is called after each batch of
        clips that needed computing.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import FakeEmbeddingBackend, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> _ = ws.clips.add(role, make_clip(os.path.join(ws.root, "a.wav"), 3.0))
            >>> print(ws.classify.embed(role, backend=FakeEmbeddingBackend()))
            fake-spectrum 1: 1 clips, 1 computed, 0 cached, 0 failed
        """
        b = get_backend(backend)
        frame = self._clips(role, ids=clip_ids)
        got = self._ensure(frame, b, progress=progress, batch_size=batch_size)
        by_sha: dict[str, list[int]] = {}
        for cid, sha in zip(frame["id"], frame["sha256"], strict=True):
            by_sha.setdefault(sha, []).append(int(cid))
        failed = tuple((cid, reason) for sha, reason in got.failed for cid in by_sha.get(sha, []))
        return EmbedReport(b.name, b.version, total=len(frame), computed=got.computed,
                           cached=got.cached, failed=failed)

    def vectors(self, clip_ids: Iterable[int], backend: BackendRef = "auto",
                progress: Progress | None = None) -> tuple[list[int], np.ndarray]:
        """``(ids, matrix)``: unit-length embeddings of the given clips, in their order.

        Clips without usable audio (silent, unreadable) are left out of both.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import FakeEmbeddingBackend, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> c = ws.clips.add(role, make_clip(os.path.join(ws.root, "a.wav"), 3.0))
            >>> ids, X = ws.classify.vectors([c.id], backend=FakeEmbeddingBackend())
            >>> ids, X.shape
            ([1], (1, 24))
        """
        wanted = [int(i) for i in clip_ids]
        b = get_backend(backend)
        rows = self._ws.store.rows(
            "SELECT id, sha256, path FROM clips WHERE list_contains(?, id)", [wanted])
        known = {r[0]: r for r in rows}
        for cid in wanted:
            if cid not in known:
                raise ClipNotFound(cid)
        frame = pd.DataFrame([known[c] for c in wanted], columns=["id", "sha256", "path"])
        got = self._ensure(frame, b, progress=progress)
        ids = [c for c in wanted if known[c][1] in got.vectors]
        X = np.stack([got.vectors[known[c][1]] for c in ids]) if ids else np.zeros((0, b.dim))
        return ids, X.astype(np.float32)

    def _clips(self, role: RoleRef, *, ids: Iterable[int] | None = None,
               categories: str | Iterable[str] | None = None) -> pd.DataFrame:
        return self._ws.clips.df(role, ids=None if ids is None else list(ids),
                                 category=categories, sort="id")

    def _ensure(self, frame: pd.DataFrame, backend: EmbeddingBackend, *,
                progress: Progress | None = None, batch_size: int | None = None) -> CachedVectors:
        items = [(sha, self._ws.abspath(path)) for sha, path in
                 zip(frame["sha256"], frame["path"], strict=True)]
        return ensure_vectors(self._ws, items, backend, progress=progress, batch_size=batch_size)

    def _matrix(self, frame: pd.DataFrame, backend: EmbeddingBackend,
                progress: Progress | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        got = self._ensure(frame, backend, progress=progress)
        keep = frame["sha256"].isin(list(got.vectors)).to_numpy()
        kept = frame[keep].reset_index(drop=True)
        if len(kept) == 0:
            return kept, np.zeros((0, backend.dim), dtype=np.float32)
        return kept, np.stack([got.vectors[s] for s in kept["sha256"]]).astype(np.float32)

    # -- seed similarity (RefAudioSelectorV2's 比对) -------------------------------------------

    def similar_to(self, clip_id: int, categories: str | Iterable[str] | None = None,
                   backend: BackendRef = "auto", *, include_seed: bool = True,
                   progress: Progress | None = None) -> SimilarityFrame:
        """Every clip of the seed's role (or of ``categories``) ranked by similarity to it.

        The seed's own row is included when it is among the compared clips (score 1.0), as
        RefAudioSelectorV2 does; ``include_seed=False`` leaves it out. Clips with no usable
        audio are left out. Call ``.histogram()`` on the result for the 0.1-bin view.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import FakeEmbeddingBackend, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> a = ws.clips.add(role, make_clip(os.path.join(ws.root, "a.wav"), 3.0))
            >>> sim = ws.classify.similar_to(a.id, backend=FakeEmbeddingBackend())
            >>> sim[["rank", "clip_id", "score", "seed"]].values.tolist()
            [[1, 1, 1.0, True]]
        """
        seed = self._ws.clips.get(clip_id)
        b = get_backend(backend)
        frame = self._clips(seed.role_id, categories=categories)
        if not include_seed:
            frame = frame[frame["id"] != seed.id]
        seed_row = self._ws.clips.df(seed.role_id, ids=[seed.id])
        both = pd.concat([seed_row, frame], ignore_index=True) if len(frame) else seed_row
        kept, X = self._matrix(both, b, progress=progress)
        if len(kept) == 0 or kept["sha256"].iloc[0] != seed.sha256:
            raise InvalidInput(f"clip {seed.id} has no usable audio to compare with")
        scores = np.clip(X[1:].astype(np.float64) @ X[0].astype(np.float64), -1.0, 1.0)
        rest = kept.iloc[1:].reset_index(drop=True)
        out = pd.DataFrame({
            "clip_id": rest["id"].astype("int64"), "name": rest["name"],
            "category": rest["category"], "text": rest["text"], "lang": rest["lang"],
            "duration_s": rest["duration_s"], "valid": rest["valid"],
            "score": np.round(scores, 6), "seed": rest["id"] == seed.id,
        })
        out = out.sort_values(["score", "clip_id"], ascending=[False, True], kind="mergesort")
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        result = SimilarityFrame(out.reset_index(drop=True)[_SIM_COLUMNS])
        result.seed_id = seed.id
        result.backend_name = b.name
        return result

    def assign(self, clip_ids: Iterable[int], category: str) -> list[int]:
        """Move clips into ``category`` (created if needed); return the ids that changed.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> c = ws.clips.add(role, make_clip(os.path.join(ws.root, "a.wav"), 3.0))
            >>> ws.classify.assign([c.id], "温柔"), ws.classify.assign([c.id], "温柔")
            ([1], [])
            >>> ws.clips.get(c.id).category
            '温柔'
        """
        name = str(category).strip() if category is not None else ""
        if not name:
            raise InvalidInput("give the name of the category to move the clips into")
        ids = sorted({int(i) for i in clip_ids})
        if not ids:
            return []
        with self._ws.store.transaction() as cur:
            rows = cur.execute(
                "SELECT id, role_id, category FROM clips WHERE list_contains(?, id)", [ids]
            ).fetchall()
            missing = set(ids) - {r[0] for r in rows}
            if missing:
                raise ClipNotFound(min(missing))
            changed = sorted(r[0] for r in rows if r[2] != name)
            if changed:
                cur.execute(
                    "UPDATE clips SET category = ?, updated_at = current_timestamp "
                    "WHERE list_contains(?, id)", [name, changed])
            for role_id in sorted({r[1] for r in rows}):
                self._ws.clips.categories.create(role_id, name)
        return changed

    def assign_similar(self, seed: int, threshold: float, category: str,
                       categories: str | Iterable[str] | None = None,
                       backend: BackendRef = "auto") -> list[int]:
        """Move every clip scoring at least ``threshold`` against ``seed`` into ``category``.

        RefAudioSelectorV2's 分割值 step. Returns the ids of the clips that changed category.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import FakeEmbeddingBackend, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> a = ws.clips.add(role, make_clip(os.path.join(ws.root, "a.wav"), 3.0))
            >>> ws.classify.assign_similar(a.id, 0.9, "mine", backend=FakeEmbeddingBackend())
            [1]
        """
        if not -1.0 <= float(threshold) <= 1.0:
            raise InvalidInput(f"threshold is a similarity between -1 and 1, got {threshold}")
        sim = self.similar_to(seed, categories=categories, backend=backend)
        chosen = sim.loc[sim["score"] >= float(threshold) - 1e-9, "clip_id"].tolist()
        return self.assign(chosen, category)

    # -- clustering --------------------------------------------------------------------------

    def cluster(self, role: RoleRef, method: str = "auto", threshold: float | None = None,
                n_clusters: int | None = None, backend: BackendRef = "auto", *,
                categories: str | Iterable[str] | None = None,
                min_cluster_size: int | None = None, outlier_z: float = 3.0,
                progress: Progress | None = None) -> ClusterFrame:
        """Group a role's clips by voice, with a 2-D map, outliers and representatives.

        Args:
            role: the role.
            method: ``"auto"`` (groups of mutual nearest neighbours, their number found
                automatically), ``"agglomerative"`` (average linkage, cut at ``threshold``)
                or ``"hdbscan"``; see :mod:`rasv.classify.clusters`.
            threshold: cosine distance at which ``"agglomerative"`` stops merging (default:
                the backend's own, e.g. 0.25 for Resemblyzer). Smaller → more clusters.
                ``"auto"`` uses it only for roles of fewer than 12 clips.
            n_clusters: ask ``"auto"`` or ``"agglomerative"`` for exactly this many clusters.
            backend: embedding model name or instance.
            categories: only clips of these categories.
            min_cluster_size: for ``"hdbscan"``.
            outlier_z: how far (robust z on log distances) a clip must lie from its cluster
                and from the role's centroid to be flagged.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import FakeEmbeddingBackend, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> for i, f0 in enumerate([100, 105, 250]):
            ...     _ = ws.clips.add(role, make_clip(os.path.join(ws.root, f"{i}.wav"), 3.0,
            ...                                      f0=f0, seed=i))
            >>> cl = ws.classify.cluster(role, backend=FakeEmbeddingBackend())
            >>> cl[["clip_id", "cluster", "representative"]].values.tolist()
            [[1, 0, True], [2, 0, False], [3, 1, True]]
            >>> cl.representatives()
            [1, 3]
        """
        b = get_backend(backend)
        frame = self._clips(role, categories=categories)
        kept, X = self._matrix(frame, b, progress=progress)
        thr = float(b.threshold if threshold is None else threshold)
        labels = clusters.cluster_labels(X, method, threshold=thr, n_clusters=n_clusters,
                                         min_cluster_size=min_cluster_size)
        xy = clusters.map_2d(X)
        far = clusters.find_outliers(X, labels, z=outlier_z)
        valid = kept["valid"].to_numpy(dtype=bool) if len(kept) else np.zeros(0, bool)
        reps = clusters.medoids(X, labels, prefer=valid & ~far.flags)
        is_rep = np.zeros(len(kept), dtype=bool)
        is_rep[list(reps.values())] = True
        sizes = np.bincount(labels) if len(labels) else np.zeros(0, int)
        out = pd.DataFrame({
            "clip_id": kept["id"].astype("int64"), "name": kept["name"],
            "category": kept["category"], "text": kept["text"],
            "duration_s": kept["duration_s"], "valid": valid, "cluster": labels,
            "size": sizes[labels] if len(labels) else np.zeros(0, int),
            "x": xy[:, 0], "y": xy[:, 1], "d_cluster": far.d_cluster, "d_role": far.d_role,
            "outlier": far.flags, "representative": is_rep,
        }, columns=_CLUSTER_COLUMNS)
        out = out.sort_values(["cluster", "representative", "d_cluster", "clip_id"],
                              ascending=[True, False, True, True], kind="mergesort")
        result = ClusterFrame(out.reset_index(drop=True))
        result.method = method
        by_distance = method == "agglomerative" or (method == "auto"
                                                    and len(kept) < neighbours.MIN_CLIPS)
        result.threshold = thr if by_distance and not n_clusters else None
        result.backend_name = b.name
        return result

    def representatives(self, role: RoleRef, *, valid_only: bool = True,
                        **options: Any) -> list[int]:
        """One clip id per cluster: a small, varied clip set for a task.

        Takes the options of :meth:`cluster`; only 3–10 s clips unless ``valid_only=False``
        (see :meth:`ClusterFrame.representatives`).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEmbeddingBackend
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
            >>> ws.classify.representatives(role, backend=FakeEmbeddingBackend())
            []
        """
        return self.cluster(role, **options).representatives(valid_only=valid_only)


__all__ = ["Classifier", "ClusterFrame", "EmbedReport", "SimilarityFrame", "score_histogram"]
