"""Sorting a role's clips by voice (``ws.classify``): embeddings, similarity, clusters, a map.

Modules, leaves first: ``embeddings`` (one interface over several speaker models, vectors cached
per audio hash), ``neighbours`` (the neighbour-graph method) ← ``clusters`` (pure grouping of
vectors) ← ``namespace`` (:class:`Classifier`).

Example:
    >>> import numpy as np
    >>> from rasv.classify import clusters
    >>> v = np.repeat(np.eye(2, dtype="float32"), 3, axis=0)
    >>> clusters.cluster_labels(v, n_clusters=2).tolist()
    [0, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

from rasv.classify import clusters, embeddings
from rasv.classify.embeddings import BACKEND_NAMES, EmbeddingBackend, get_backend
from rasv.classify.namespace import Classifier, ClusterFrame, SimilarityFrame, score_histogram

__all__ = [
    "BACKEND_NAMES",
    "Classifier",
    "ClusterFrame",
    "EmbeddingBackend",
    "SimilarityFrame",
    "clusters",
    "embeddings",
    "get_backend",
    "score_histogram",
]
