"""Embeddings cached in the workspace's ``embeddings`` table, keyed by audio content.

The key is (file SHA-256, backend name, backend version): a clip imported twice, into two
roles, or a take with the same bytes shares one vector; a new model version recomputes.
Missing vectors are computed in batches, and each batch is saved in its own short
transaction, so an interrupted run keeps what it finished and a rerun picks up the rest.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import FakeEmbeddingBackend, make_clip
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> p = make_clip(os.path.join(ws.root, "a.wav"), 2.0)
    >>> items = [("abc", p)]
    >>> first = ensure_vectors(ws, items, FakeEmbeddingBackend())
    >>> again = ensure_vectors(ws, items, FakeEmbeddingBackend())
    >>> (first.computed, first.cached), (again.computed, again.cached)
    ((1, 0), (0, 1))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rasv.classify.embeddings.base import SAMPLE_RATE, EmbeddingBackend
from rasv.errors import RasvError

if TYPE_CHECKING:
    from rasv.store.db import Store
    from rasv.workspace import Workspace

#: ``progress(done, total)``: clips computed so far out of those that needed computing.
Progress = Callable[[int, int], None]


@dataclass
class CachedVectors:
    """Vectors by SHA-256, and what it took to get them.

    ``failed`` holds ``(sha256, reason)`` for audio that could not be read or holds no usable
    speech (silent, shorter than 0.1 s); those get no vector and are not cached.
    """

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    computed: int = 0
    cached: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def load_vectors(store: Store, shas: Sequence[str], backend: EmbeddingBackend) -> dict[str, np.ndarray]:
    """The cached vectors of ``backend`` for these SHA-256s (missing ones are absent).

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import FakeEmbeddingBackend
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> load_vectors(ws.store, ["x"], FakeEmbeddingBackend())
        {}
    """
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    with store.cursor() as cur:
        res = cur.execute(
            "SELECT sha256, vector FROM embeddings WHERE backend = ? AND version = ? "
            "AND dim = ? AND list_contains(?, sha256)",
            [backend.name, backend.version, int(backend.dim), wanted],
        ).fetchnumpy()
    return {str(s): np.asarray(v, dtype=np.float32)
            for s, v in zip(res["sha256"], res["vector"], strict=True)}


def save_vectors(store: Store, vectors: dict[str, np.ndarray], backend: EmbeddingBackend) -> None:
    """Store vectors (one transaction); a key that is already there is left as it is.

    Example:
        >>> import rasv, tempfile, numpy as np
        >>> from rasv.testing import FakeEmbeddingBackend
        >>> ws = rasv.open(tempfile.mkdtemp()); b = FakeEmbeddingBackend()
        >>> save_vectors(ws.store, {"s": np.ones(b.dim, np.float32)}, b)
        >>> load_vectors(ws.store, ["s"], b)["s"].shape
        (24,)
    """
    if not vectors:
        return
    frame = pd.DataFrame({
        "sha256": list(vectors),
        "vector": [np.asarray(v, dtype=np.float32) for v in vectors.values()],
    })
    with store.transaction() as cur:
        cur.register("_new_embeddings", frame)
        try:
            cur.execute(
                "INSERT INTO embeddings(sha256, backend, version, dim, vector) "
                "SELECT sha256, ?, ?, ?, vector::FLOAT[] FROM _new_embeddings "
                "ON CONFLICT DO NOTHING",
                [backend.name, backend.version, int(backend.dim)],
            )
        finally:
            cur.unregister("_new_embeddings")


def ensure_vectors(
    ws: Workspace, items: Sequence[tuple[str, str | os.PathLike]], backend: EmbeddingBackend,
    *, progress: Progress | None = None, batch_size: int | None = None,
) -> CachedVectors:
    """Vectors for ``(sha256, audio path)`` items: from the cache, computing the rest.

    Audio is read through :func:`rasv.audio.files.read` at 16 kHz mono; ``batch_size`` (default:
    the backend's) clips go to the model at once, and each batch is cached as it finishes.

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import FakeEmbeddingBackend
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> r = ensure_vectors(ws, [("nope", "/missing.wav")], FakeEmbeddingBackend())
        >>> r.failed[0][1][:22]
        'audio file not found: '
    """
    from rasv.audio.files import read

    paths: dict[str, str | os.PathLike] = {}
    for sha, path in items:
        paths.setdefault(sha, path)
    out = CachedVectors()
    out.vectors = load_vectors(ws.store, list(paths), backend)
    out.cached = len(out.vectors)
    todo = [s for s in paths if s not in out.vectors]
    size = max(int(batch_size or backend.batch_size), 1)
    done = 0
    if progress is not None and todo:
        progress(0, len(todo))
    for start in range(0, len(todo), size):
        batch = todo[start:start + size]
        wavs: list[np.ndarray] = []
        ok: list[str] = []
        for sha in batch:
            try:
                x, _ = read(paths[sha], sr=SAMPLE_RATE)
            except RasvError as e:
                out.failed.append((sha, str(e)))
                continue
            except Exception as e:  # a decoder's own error: report it, keep going
                out.failed.append((sha, f"cannot read {paths[sha]}: {type(e).__name__}: {e}"))
                continue
            wavs.append(x)
            ok.append(sha)
        new: dict[str, np.ndarray] = {}
        if wavs:
            vecs = backend.embed(wavs)
            for sha, v in zip(ok, vecs, strict=True):
                if np.isfinite(v).all():
                    new[sha] = v
                else:
                    out.failed.append((sha, "no usable audio (silent or shorter than 0.1 s)"))
        save_vectors(ws.store, new, backend)
        out.vectors.update(new)
        out.computed += len(new)
        done += len(batch)
        if progress is not None:
            progress(done, len(todo))
    return out


__all__ = ["CachedVectors", "Progress", "ensure_vectors", "load_vectors", "save_vectors"]
