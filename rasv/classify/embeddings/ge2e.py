"""Resemblyzer: the GE2E d-vector model (256-d) whose weights ship inside its wheel.

The default backend: it runs offline wherever torch runs (``research/speech-models.md`` §1).
Install: ``pip install "rasv[ml]"`` then ``pip install --no-deps resemblyzer`` (its own
requirements name ``webrtcvad``, which needs a compiler; ``webrtcvad-wheels`` in ``[ml]``
provides the same module).

Resemblyzer embeds one clip at a time. Here each clip goes through Resemblyzer's own
preprocessing (volume normalisation, long-silence trimming) and is cut into its 1.6 s
partial windows exactly as ``VoiceEncoder.embed_utterance`` does, but the windows of a whole
batch of clips go through the network in one forward pass.

Example:
    >>> ResemblyzerBackend.available() in (True, False)
    True
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from rasv.classify.embeddings.base import EmbeddingBackend, resolve_device, weights_digest
from rasv.errors import BackendUnavailable

#: Bump when this module's preprocessing changes, so cached vectors are recomputed.
_FRONTEND = "b1"

INSTALL_HINT = (
    "pip install \"rasv[ml]\" (torch, webrtcvad-wheels) and then "
    "pip install --no-deps resemblyzer"
)


def _weights_path() -> Path | None:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / "pretrained.pt"
        if p.is_file():
            return p
    return None


def _mel_spectrogram(wav: np.ndarray, ra) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``resemblyzer.audio.wav_to_mel_spectrogram``, bit-identical, without its slow einsum
    (librosa 0.11 applies the mel basis through ``np.einsum``, 60× slower here than ``@``)."""
    import librosa

    n_fft = int(ra.sampling_rate * ra.mel_window_length / 1000)
    hop = int(ra.sampling_rate * ra.mel_window_step / 1000)
    basis = _mel_basis(ra.sampling_rate, n_fft, ra.mel_n_channels)
    power = np.abs(librosa.stft(wav, n_fft=n_fft, hop_length=hop)) ** 2
    return (basis @ power).astype(np.float32).T


@lru_cache(maxsize=2)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


def _modules():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        # resemblyzer imports scipy.ndimage.morphology, a deprecated namespace
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import audio
        from resemblyzer.voice_encoder import VoiceEncoder
    return VoiceEncoder, audio


class ResemblyzerBackend(EmbeddingBackend):
    """GE2E speaker embeddings from the ``resemblyzer`` wheel (256-d, Apache-2.0).

    The model loads on the first :meth:`embed`; ``name`` and ``version`` need no torch.

    Args:
        device: ``"cpu"``, ``"cuda"``…; default: a GPU when torch sees one.

    Raises:
        BackendUnavailable: resemblyzer, torch or webrtcvad is not installed.

    Example:
        >>> import numpy as np
        >>> if ResemblyzerBackend.available():
        ...     b = ResemblyzerBackend()
        ...     v = b.embed([np.sin(np.arange(32000) * 0.05).astype(np.float32)])
        ...     print(v.shape, b.name)
        ... else:
        ...     print((1, 256), "resemblyzer")
        (1, 256) resemblyzer
    """

    name = "resemblyzer"
    dim = 256
    # Average-linkage cosine distance that separated distinct speakers in our tests
    # (same voice ≈ 0.05–0.2 apart, different voices ≈ 0.3–0.6).
    threshold = 0.25
    # The LSTM runs 160 steps per window whatever the batch; wide batches amortise that
    # (8 clips per call: ~30 ms per audio-second here, 64: ~8).
    batch_size = 64

    def __init__(self, device: str | None = None) -> None:
        missing = [m for m in ("resemblyzer", "torch", "webrtcvad")
                   if importlib.util.find_spec(m) is None]
        weights = _weights_path()
        if missing or weights is None:
            what = ", ".join(missing) if missing else "resemblyzer/pretrained.pt"
            raise BackendUnavailable(
                f"the Resemblyzer speaker-embedding backend needs {what}: {INSTALL_HINT}"
            )
        pkg = importlib.metadata.version("resemblyzer")
        self.version = f"{pkg}+{weights_digest(weights)}.{_FRONTEND}"
        self._weights = weights
        self._encoder = None
        self._device_request = device
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        """Whether the backend can run here (checked without importing anything heavy)."""
        return all(importlib.util.find_spec(m) is not None
                   for m in ("resemblyzer", "torch", "webrtcvad")) and _weights_path() is not None

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._encoder is None:
                voice_encoder, _ = _modules()
                self.device = resolve_device(self._device_request)
                self._encoder = voice_encoder(device=self.device, verbose=False,
                                              weights_fpath=self._weights)
                self._encoder.eval()
            return self._encoder

    def _embed(self, wavs: list[np.ndarray]) -> np.ndarray:
        import torch

        encoder = self._load()
        VoiceEncoder, ra = _modules()  # noqa: N806
        windows: list[np.ndarray] = []
        owners: list[int] = []
        for i, wav in enumerate(wavs):
            w = ra.preprocess_wav(wav)
            if len(w) < 160:
                # Everything was trimmed as silence: keep the clip, just volume-normalised.
                w = ra.normalize_volume(wav, ra.audio_norm_target_dBFS, increase_only=True)
            wav_slices, mel_slices = VoiceEncoder.compute_partial_slices(
                len(w), rate=1.3, min_coverage=0.75
            )
            stop = wav_slices[-1].stop
            if stop >= len(w):
                w = np.pad(w, (0, stop - len(w)))
            mel = _mel_spectrogram(w, ra)
            for s in mel_slices:
                windows.append(mel[s])
                owners.append(i)
        with torch.inference_mode():
            batch = torch.from_numpy(np.stack(windows)).to(self.device)
            partial = encoder(batch).float().cpu().numpy()
        owner = np.asarray(owners)
        out = np.zeros((len(wavs), self.dim), dtype=np.float32)
        np.add.at(out, owner, partial)
        return out / np.bincount(owner, minlength=len(wavs))[:, None]


__all__ = ["INSTALL_HINT", "ResemblyzerBackend"]
