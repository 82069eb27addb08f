"""``FakeEmbeddingBackend``: a deterministic, model-free speaker "embedding" for tests.

It summarises a clip's long-term spectrum (mean and spread of 12 log-mel bands, with the
overall level removed), so clips of one synthetic voice land close together and different
voices apart. It is a test double: fast, numpy-only, never chosen by ``backend="auto"``.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> b = FakeEmbeddingBackend()
    >>> low, high = make_voice(2.0, f0=110, seed=1), make_voice(2.0, f0=260, seed=2)
    >>> v = b.embed([low, make_voice(2.0, f0=110, seed=3), high])
    >>> bool(v[0] @ v[1] > v[0] @ v[2])
    True
"""

from __future__ import annotations

import numpy as np

from rasv.classify.embeddings.base import SAMPLE_RATE, EmbeddingBackend
from rasv.classify.embeddings.fbank import fbank

_BANDS = 12


class FakeEmbeddingBackend(EmbeddingBackend):
    """Long-term spectrum statistics as a 24-d vector (test double, not a speaker model).

    Example:
        >>> FakeEmbeddingBackend().name, FakeEmbeddingBackend().dim
        ('fake-spectrum', 24)
    """

    name = "fake-spectrum"
    version = "1"
    dim = 2 * _BANDS
    threshold = 0.05
    batch_size = 64

    def __init__(self) -> None:
        self.calls = 0
        self.clips_embedded = 0

    def _embed(self, wavs: list[np.ndarray]) -> np.ndarray:
        self.calls += 1
        self.clips_embedded += len(wavs)
        out = np.zeros((len(wavs), self.dim), dtype=np.float32)
        for i, w in enumerate(wavs):
            feats = fbank(w, SAMPLE_RATE, num_mel_bins=_BANDS)
            if len(feats) == 0:
                out[i] = np.nan
                continue
            # Keep the loudest frames (the voiced ones) and remove the level, so loudness
            # and pauses do not move a clip away from its voice.
            energy = feats.sum(axis=1)
            voiced = feats[energy >= np.percentile(energy, 50)]
            mean = voiced.mean(axis=0)
            out[i, :_BANDS] = mean - mean.mean()
            out[i, _BANDS:] = voiced.std(axis=0)
        return out


__all__ = ["FakeEmbeddingBackend"]
