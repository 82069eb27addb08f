"""Resemblyzer: the GE2E d-vector model (256-d), the default backend, with no extra install.

Its weights ship with rasv and it runs in numpy (:mod:`rasv.classify.embeddings.ge2e_net`), so
``pip install -e .`` is enough; where torch is installed and sees a GPU (or ``device=`` names
one) the same network runs there in torch. Both give Resemblyzer's own vectors to float noise
(cosine ≥ 0.9999, tested against the ``resemblyzer`` package), and share its cache key, so
vectors cached by either are reused by the other.

Example:
    >>> ResemblyzerBackend.available()
    True
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rasv.classify.embeddings import ge2e_net
from rasv.classify.embeddings.base import EmbeddingBackend
from rasv.errors import BackendUnavailable, InvalidInput

#: Bump when the front-end changes, so cached vectors are recomputed.
_FRONTEND = "b1"

#: Where the network runs: ``"auto"`` = numpy on the CPU, torch on a GPU.
ENGINES = ("auto", "numpy", "torch")

#: How to get a GPU run: torch for the machine (rasv's ``[ml]`` extra names it).
TORCH_HINT = ("install the torch build for your machine first (https://pytorch.org), then "
              "pip install -e \".[ml]\" in the rasv folder")


class ResemblyzerBackend(EmbeddingBackend):
    """GE2E speaker embeddings with Resemblyzer's weights (256-d, Apache-2.0).

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``…; default: a GPU when torch
            is installed and sees one, else the CPU.
        weights: a ``.npz`` from :func:`~rasv.classify.embeddings.ge2e_net.convert_checkpoint` (e.g.
            of a fine-tuned Resemblyzer); default: the weights that ship with rasv.
        engine: ``"numpy"``, ``"torch"``, or ``"auto"``: numpy on the CPU, torch elsewhere.

    Raises:
        BackendUnavailable: the weights are missing, or a GPU was asked for without torch.

    Example:
        >>> import numpy as np
        >>> b = ResemblyzerBackend(device="cpu")
        >>> v = b.embed([np.sin(np.arange(32000) * 0.05).astype(np.float32)])
        >>> v.shape, b.name, b.version
        ((1, 256), 'resemblyzer', '0.1.4+39373b86598f.b1')
    """

    name = "resemblyzer"
    dim = 256
    # Average-linkage cosine distance that separated distinct speakers in our tests
    # (same voice ≈ 0.05–0.2 apart, different voices ≈ 0.3–0.6).
    threshold = 0.25
    # Windows of a whole batch go through the network together (in chunks of 128).
    batch_size = 64

    def __init__(self, device: str | None = None, weights: str | Path | None = None,
                 engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if not _installed("webrtcvad"):
            raise BackendUnavailable(
                "the Resemblyzer backend needs webrtcvad: pip install webrtcvad-wheels "
                "(a dependency of rasv: pip install -e . in the rasv folder installs it)")
        self._weights = ge2e_net.load_weights(weights)
        self.version = f"{self._weights.version}.{_FRONTEND}"
        self._device_request = None if device in (None, "auto") else str(device)
        self._engine = engine
        wants_torch = engine == "torch" or (engine == "auto" and
                                            self._device_request not in (None, "cpu"))
        if wants_torch and not _installed("torch"):
            where = self._device_request or "torch"
            raise BackendUnavailable(
                f"running the speaker model on {where!r} needs torch: {TORCH_HINT}; "
                "or use device='cpu'")
        self._torch: Any = None
        self._ready = False
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        """Whether the backend can run here (its weights and webrtcvad are installed)."""
        return ge2e_net.WEIGHTS_PATH.is_file() and _installed("webrtcvad")

    def _load(self) -> None:
        with self._lock:
            if self._ready:
                return
            device = self._device_request
            if device is None:
                device = "cpu"
                # Only look for a GPU where torch is installed; never import it otherwise.
                if self._engine != "numpy" and _installed("torch"):
                    import torch

                    if torch.cuda.is_available():
                        device = "cuda"
            if self._engine == "torch" or (self._engine == "auto" and device != "cpu"):
                self._torch = _TorchGe2e(self._weights, device)
            self.device = device
            self._ready = True

    def _embed(self, wavs: list[np.ndarray]) -> np.ndarray:
        self._load()
        windows, owners = ge2e_net.clip_windows(wavs)
        if self._torch is not None:
            vectors = self._torch(windows)
        else:
            vectors = ge2e_net.forward(self._weights, windows)
        return ge2e_net.average_windows(vectors, owners, len(wavs))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module blocked as sys.modules[name] = None
        return False


class _TorchGe2e:
    """The same network in torch, for a GPU."""

    def __init__(self, weights: ge2e_net.Ge2eWeights, device: str) -> None:
        import torch

        lstm = torch.nn.LSTM(ge2e_net.N_MELS, ge2e_net.HIDDEN, len(weights.lstm),
                             batch_first=True)
        state = {}
        for k, arrays in enumerate(weights.lstm):
            for kind, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), arrays,
                               strict=True):
                state[f"{kind}_l{k}"] = torch.from_numpy(np.array(a))
        lstm.load_state_dict(state)
        linear = torch.nn.Linear(ge2e_net.HIDDEN, ge2e_net.HIDDEN)
        linear.load_state_dict({"weight": torch.from_numpy(np.array(weights.linear_w)),
                                "bias": torch.from_numpy(np.array(weights.linear_b))})
        try:
            self.lstm, self.linear = lstm.to(device).eval(), linear.to(device).eval()
        except (RuntimeError, AssertionError) as e:
            raise BackendUnavailable(f"torch cannot use device {device!r}: {e}") from None
        self.device = device

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(windows)).to(self.device)
            _, (hidden, _) = self.lstm(x)
            e = torch.relu(self.linear(hidden[-1]))
            e = e / torch.linalg.vector_norm(e, dim=1, keepdim=True).clamp_min(1e-12)
            return e.float().cpu().numpy()


__all__ = ["ENGINES", "TORCH_HINT", "ResemblyzerBackend"]
