"""Speaker similarity of a take to its reference clip and to the role's centroid.

A take that drifts away from the voice it should clone (音色不像) is worth a listen. The
embedding model is the classification one (``rasv.classify.embeddings``: Resemblyzer by default, or
CAM++/ERes2Net/GPT-SoVITS's ERes2NetV2 where their weights are on disk), so the numbers
agree with what ``ws.classify`` shows; tests pass ``rasv.testing.FakeEmbeddingBackend``.

Reference-clip vectors come from the workspace's ``embeddings`` cache (computed and cached
there when ``ws.classify.embed`` has not done it yet). The role centroid is the mean of every
cached vector of the role's clips; its make-up is part of the detector version, so a changed
clip set recomputes ``sim_centroid``.

Example:
    >>> import numpy as np
    >>> from rasv.analysis.take_signal import TakeSignal
    >>> class Loudness:  # a toy "model": two numbers per clip
    ...     name, version = "toy", "1"
    ...     def embed(self, wavs):
    ...         v = np.array([[np.abs(w).mean(), np.abs(w).max()] for w in wavs])
    ...         return v / np.linalg.norm(v, axis=1, keepdims=True)
    >>> det = SpeakerSimilarity(Loudness(), {7: np.array([0.6, 0.8])}, np.array([0.6, 0.8]))
    >>> sig = TakeSignal(np.full(16000, 0.5, dtype="float32"), 16000, clip_id=7)
    >>> [round(m.value, 2) for m in det.measure(sig)]
    [0.99, 0.99]
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from rasv.analysis.measure import Measurement
from rasv.analysis.take_signal import RATE, TakeSignal


def _unit(v: np.ndarray | None) -> np.ndarray | None:
    if v is None:
        return None
    v = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 and np.isfinite(n) else None


class SpeakerSimilarity:
    """Cosine similarity of a take's speaker embedding to its clip's (``sim_ref``) and to the
    role centroid (``sim_centroid``).

    Args:
        model: the embedding backend.
        references: clip id → that clip's embedding.
        centroid: the role's mean embedding (None when unknown).
        centroid_key: a short digest of what the centroid is made of (part of the version).
    """

    name = "speaker"
    metrics = ("sim_ref", "sim_centroid")

    def __init__(self, model: Any, references: Mapping[int, np.ndarray],
                 centroid: np.ndarray | None, centroid_key: str = "") -> None:
        self.model = model
        self.references = {int(k): _unit(v) for k, v in references.items()}
        self.centroid = _unit(centroid)
        self.backend = str(model.name)
        self.version = f"1+{model.version}" + (f"+{centroid_key}" if centroid_key else "")

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        n = int(round(sig.duration_s * RATE))
        vec = _unit(np.asarray(self.model.embed([sig.samples[:n]]))[0])
        ref = self.references.get(sig.clip_id) if sig.clip_id is not None else None
        sim_ref = None if vec is None or ref is None else round(float(vec @ ref), 4)
        sim_c = None if vec is None or self.centroid is None else round(float(vec @ self.centroid), 4)
        return [Measurement("sim_ref", sim_ref, {"clip_id": sig.clip_id}),
                Measurement("sim_centroid", sim_c)]


def resolve_model(model: Any = "auto") -> Any:
    """The embedding backend for a name or instance, as ``ws.classify`` resolves it.

    Raises:
        BackendUnavailable: no embedding model can run here (the message says what to
            install or where to put weights).

    Example:
        >>> from rasv.testing import FakeEmbeddingBackend
        >>> resolve_model(FakeEmbeddingBackend()).name
        'fake-spectrum'
    """
    from rasv.classify.embeddings import get_backend

    return get_backend(model)


def for_task(ws: Any, task_id: int, model: Any = "auto") -> SpeakerSimilarity:
    """Build the detector for one task: its clips' vectors and its role's centroid.

    The task's reference clips are embedded through the classification cache
    (:func:`rasv.classify.embeddings.cache.ensure_vectors`), so they are computed once for both
    features; the centroid also uses every cached vector of the role's other clips.

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import FakeEmbeddingBackend
        >>> with rasv.open(tempfile.mkdtemp()) as ws:
        ...     role = ws.roles.create("demo-voice")
        ...     tid = ws.store.scalar("INSERT INTO tasks (role_id, name, spec)"
        ...                           " VALUES (?, 't', '{}') RETURNING id", [role.id])
        ...     det = for_task(ws, tid, FakeEmbeddingBackend())
        >>> det.references, det.centroid is None
        ({}, True)
    """
    from rasv.classify.embeddings.cache import ensure_vectors, load_vectors

    m = resolve_model(model)
    role_id = ws.store.scalar("SELECT role_id FROM tasks WHERE id = ?", [task_id])
    clips = ws.store.rows(
        "SELECT DISTINCT c.id, c.sha256, c.path FROM task_takes tt"
        " JOIN takes t ON t.id = tt.take_id JOIN clips c ON c.id = t.clip_id"
        " WHERE tt.task_id = ? ORDER BY c.id",
        [task_id],
    )
    vectors = dict(ensure_vectors(ws, [(sha, ws.abspath(path)) for _, sha, path in clips],
                                  m).vectors) if clips else {}
    role_shas = [r[0] for r in ws.store.rows("SELECT sha256 FROM clips WHERE role_id = ?",
                                             [role_id])]
    vectors.update(load_vectors(ws.store, role_shas, m))
    refs = {int(cid): vectors[sha] for cid, sha, _ in clips if sha in vectors}
    centroid = None
    key = ""
    if vectors:
        shas = sorted(vectors)
        centroid = np.mean([_unit(vectors[s]) for s in shas], axis=0)
        key = hashlib.sha256("".join(shas).encode()).hexdigest()[:8]
    return SpeakerSimilarity(m, refs, centroid, key)


__all__ = ["SpeakerSimilarity", "for_task", "resolve_model"]
