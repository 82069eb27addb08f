"""Shared runner for 3D-Speaker models (CAM++, ERes2Net, ERes2NetV2) on 80-bin fbank input.

Both the ModelScope folders and GPT-SoVITS's SV checkpoint hold these models; they differ
only in where the network class and the weights come from. Features are rasv's numpy Kaldi
fbank with the per-utterance mean removed (3D-Speaker's recipe), so torchaudio is never
needed.

Example:
    >>> import numpy as np
    >>> min_frames_for(0.5)
    48
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from typing import Any

import numpy as np

from rasv.classify.embeddings.base import SAMPLE_RATE, EmbeddingBackend, resolve_device
from rasv.classify.embeddings.fbank import mean_normalized_fbank

#: Clips shorter than this give NaN rows: the models' pooling needs some frames.
MIN_SECONDS = 0.5


def min_frames_for(seconds: float) -> int:
    """Fbank frames (25 ms window, 10 ms shift) in ``seconds`` of audio.

    Example:
        >>> min_frames_for(1.0)
        98
    """
    n = int(round(seconds * SAMPLE_RATE))
    return 0 if n < 400 else 1 + (n - 400) // 160


class FbankModelBackend(EmbeddingBackend):
    """An ``nn.Module`` taking (batch, frames, 80) mean-normalised fbank, giving (batch, dim).

    Subclasses set ``name``, ``version``, ``dim`` and implement :meth:`_build` (load the
    network with its weights; called once, on first use).
    """

    batch_size = 8

    def __init__(self, device: str | None = None) -> None:
        self._device_request = device
        self._model: Any = None
        self._lock = threading.Lock()

    @abstractmethod
    def _build(self) -> Any:
        """Return the network in eval mode with its weights loaded."""

    def model(self) -> Any:
        """The loaded network (loads it on first call)."""
        with self._lock:
            if self._model is None:
                self.device = resolve_device(self._device_request)
                self._model = self._build().to(self.device)
            return self._model

    def _embed(self, wavs: list[np.ndarray]) -> np.ndarray:
        import torch

        model = self.model()
        out = np.full((len(wavs), self.dim), np.nan, dtype=np.float32)
        min_frames = min_frames_for(MIN_SECONDS)
        with torch.inference_mode():
            # One clip per forward pass: padding would leak into the statistics pooling.
            for i, wav in enumerate(wavs):
                feats = mean_normalized_fbank(wav, SAMPLE_RATE)
                if len(feats) < min_frames:
                    continue
                x = torch.from_numpy(np.ascontiguousarray(feats))[None].to(self.device)
                emb = model(x)
                if isinstance(emb, (tuple, list)):
                    emb = emb[-1]
                out[i] = emb.reshape(-1).float().cpu().numpy()
        return out


__all__ = ["MIN_SECONDS", "FbankModelBackend", "min_frames_for"]
