"""The one interface every speaker-embedding backend implements.

A backend turns 16 kHz mono float32 arrays into L2-normalised vectors, so a dot product is a
cosine similarity. ``name`` and ``version`` identify its vectors in the workspace cache and are
known without loading the model: a role whose embeddings are all cached is compared and
clustered without importing torch.

Example:
    >>> import numpy as np
    >>> class Loudness(EmbeddingBackend):
    ...     name, version, dim = "loudness", "1", 2
    ...     def _embed(self, wavs):
    ...         return np.array([[np.abs(w).mean(), 1.0] for w in wavs])
    >>> Loudness().embed([np.ones(16000, np.float32)]).round(3)
    array([[0.707, 0.707]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from rasv.errors import InvalidInput

#: The sample rate every backend takes.
SAMPLE_RATE = 16000

#: Inputs shorter than this give a NaN row instead of a vector.
MIN_SAMPLES = SAMPLE_RATE // 10


class EmbeddingBackend(ABC):
    """A speaker-embedding model behind one call: ``embed(wavs) -> (n, dim)``.

    Attributes:
        name: stable identity of the model family and weights source (cache key part).
        version: changes whenever the weights or the front-end change (cache key part).
        dim: embedding size.
        threshold: default cosine *distance* under which agglomerative clustering merges
            clips, tuned per model (scores of different models are not comparable).
        batch_size: how many clips one call should get for good throughput.
        device: where a torch model runs (``"cpu"``, ``"cuda"``…), once it is loaded.
    """

    name: str = ""
    version: str = ""
    dim: int = 0
    threshold: float = 0.3
    batch_size: int = 16
    device: str = "cpu"

    def embed(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        """Embed 16 kHz mono float32 arrays; rows are L2-normalised.

        A row is all NaN when its input holds no usable audio (shorter than 0.1 s, or
        silent), so one bad clip never fails a batch.

        Example:
            >>> import numpy as np
            >>> from rasv.testing import FakeEmbeddingBackend
            >>> FakeEmbeddingBackend().embed([np.zeros(10, np.float32)]).shape
            (1, 24)
        """
        arrays = []
        for i, w in enumerate(wavs):
            a = np.asarray(w, dtype=np.float32)
            if a.ndim != 1:
                raise InvalidInput(f"input {i} must be a mono 1-D array, got shape {a.shape}")
            arrays.append(a)
        out = np.full((len(arrays), self.dim), np.nan, dtype=np.float32)
        usable = [i for i, a in enumerate(arrays)
                  if len(a) >= MIN_SAMPLES and np.isfinite(a).all() and np.any(a != 0)]
        if usable:
            raw = np.asarray(self._embed([arrays[i] for i in usable]), dtype=np.float32)
            if raw.shape != (len(usable), self.dim):
                raise RuntimeError(f"{self.name} returned shape {raw.shape}, "
                                   f"expected {(len(usable), self.dim)}")
            out[usable] = normalize_rows(raw)
        return out

    @abstractmethod
    def _embed(self, wavs: list[np.ndarray]) -> np.ndarray:
        """Embed non-empty, finite, non-silent arrays; normalisation is done by the caller."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.version} dim={self.dim}>"


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise each row; rows of zeros (or non-finite rows) become NaN.

    Example:
        >>> normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
        array([[0.6, 0.8],
               [nan, nan]], dtype=float32)
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    bad = ~np.isfinite(norms) | (norms <= 1e-12)
    out = x / np.where(bad, 1.0, norms)
    out[bad[:, 0]] = np.nan
    return out


def resolve_device(device: str | None) -> str:
    """``None``/``"auto"`` → ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other values
    pass through (``"cuda:1"``, ``"mps"``).

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    if device not in (None, "auto"):
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


_HASHES: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def weights_digest(path: str | os.PathLike, length: int = 12) -> str:
    """A short SHA-256 of a weights file, remembered per (path, size, mtime) in this process.

    Part of a backend's ``version``, so replacing the weights never serves stale vectors.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "w.bin"); _ = open(p, "wb").write(b"abc")
        >>> weights_digest(p)
        'ba7816bf8f01'
    """
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASHES:
            return _HASHES[key][:length]
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    digest = h.hexdigest()
    with _HASH_LOCK:
        _HASHES[key] = digest
    return digest[:length]


@contextlib.contextmanager
def restored_modules(names: Iterable[str]) -> Iterator[None]:
    """Put each ``sys.modules[name]`` back as it was (or remove it) when the block ends.

    For backends that import third-party model code under borrowed module names.

    Example:
        >>> import sys, types
        >>> with restored_modules(["rasv_demo_mod"]):
        ...     sys.modules["rasv_demo_mod"] = types.ModuleType("rasv_demo_mod")
        >>> "rasv_demo_mod" in sys.modules
        False
    """
    saved = {n: sys.modules.get(n) for n in names}
    try:
        yield
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


__all__ = ["MIN_SAMPLES", "SAMPLE_RATE", "EmbeddingBackend", "normalize_rows", "resolve_device",
           "restored_modules",
           "weights_digest"]
