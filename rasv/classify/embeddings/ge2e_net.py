"""Resemblyzer's GE2E speaker encoder in numpy: its front-end and its network, without torch.

The steps, with Resemblyzer 0.1.4's settings, so that vectors match its own to float noise
(the cache keeps vectors made by either):

1. volume raised (never lowered) to −30 dBFS RMS;
2. silences longer than ~0.2 s shortened: WebRTC VAD (mode 3) on 30 ms frames, smoothed over
   8 frames, voiced regions widened by 3 frames each side;
3. a 40-band mel *power* spectrogram, 25 ms windows every 10 ms;
4. 1.6 s windows (160 frames) every 77 frames (1.3 per second); the last one is kept when the
   audio covers 75 % of it, and the clip is zero-padded to its end;
5. each window through a 3-layer LSTM (256 units), its last hidden state through a 256 → 256
   linear layer and a ReLU, L2-normalised; a clip's vector is the mean of its windows'.

The weights ship with rasv (``rasv/data/ge2e_resemblyzer.npz``, 5.3 MB): Resemblyzer's
``pretrained.pt`` without its optimiser state, converted by :func:`convert_checkpoint`
(Apache-2.0, Resemble AI; see ``rasv/data/ge2e_resemblyzer.NOTICE``).

Example:
    >>> import numpy as np
    >>> w = load_weights()
    >>> x = np.sin(np.arange(48000) * 0.05).astype(np.float32) * 0.1
    >>> windows = mel_windows(preprocess(x))
    >>> windows.shape
    (3, 160, 40)
    >>> v = forward(w, windows)
    >>> v.shape, bool(np.allclose(np.linalg.norm(v, axis=1), 1.0))
    ((3, 256), True)
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rasv.errors import BackendUnavailable, InvalidInput

#: Where rasv keeps the converted weights.
WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "data" / "ge2e_resemblyzer.npz"

SAMPLE_RATE = 16000
N_MELS = 40
N_FFT = 400            # 25 ms
HOP = 160              # 10 ms
WINDOW_FRAMES = 160    # 1.6 s per partial window
HIDDEN = 256
LAYERS = 3
_INT16_MAX = 32767
_TARGET_DBFS = -30
_VAD_FRAME = 480       # 30 ms
_VAD_SMOOTH = 8        # frames in the moving average
_VAD_WIDEN = 7         # a 7-frame dilation: 3 frames each side
# Windows per LSTM call: bounds the (frames, windows, 4·256) float32 input projection
# to ~84 MB whatever the batch.
_CHUNK = 128


@dataclass(frozen=True)
class Ge2eWeights:
    """The network's arrays in PyTorch's layout, and where they came from.

    ``lstm`` holds ``(w_ih, w_hh, b_ih, b_hh)`` per layer (gate order i, f, g, o);
    ``source`` names the checkpoint, ``source_sha256`` is its file's SHA-256.
    """

    lstm: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]
    linear_w: np.ndarray
    linear_b: np.ndarray
    source: str
    source_sha256: str

    @property
    def version(self) -> str:
        """``<resemblyzer version>+<12 hex of pretrained.pt's SHA-256>``: the cache key part
        that Resemblyzer's own weights file gives.

        Example:
            >>> load_weights().version
            '0.1.4+39373b86598f'
        """
        return f"{self.source.rpartition(' ')[2]}+{self.source_sha256[:12]}"


@lru_cache(maxsize=4)
def load_weights(path: str | os.PathLike | None = None) -> Ge2eWeights:
    """Read GE2E weights from a ``.npz`` written by :func:`convert_checkpoint` (default: the
    file that ships with rasv).

    Raises:
        BackendUnavailable: the file is missing or is not such a file.

    Example:
        >>> load_weights().lstm[0][0].shape
        (1024, 40)
    """
    p = WEIGHTS_PATH if path is None else Path(path)
    if not p.is_file():
        raise BackendUnavailable(
            f"the GE2E speaker-model weights are missing ({p}); reinstall rasv "
            "(pip install -e . in the rasv folder)")
    try:
        with np.load(p, allow_pickle=False) as z:
            lstm = tuple(tuple(z[f"lstm.{kind}_l{k}"].astype(np.float32)
                               for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                         for k in range(LAYERS))
            out = Ge2eWeights(lstm, z["linear.weight"].astype(np.float32),
                              z["linear.bias"].astype(np.float32), str(z["source"]),
                              str(z["source_sha256"]))
    except (KeyError, ValueError, OSError) as e:
        raise BackendUnavailable(f"{p} is not a GE2E weights file: {e}") from None
    if out.lstm[0][0].shape != (4 * HIDDEN, N_MELS) or out.linear_w.shape != (HIDDEN, HIDDEN):
        raise BackendUnavailable(f"{p} holds a network of another shape")
    return out


# -- front-end ------------------------------------------------------------------------------


def normalize_volume(wav: np.ndarray) -> np.ndarray:
    """Raise a clip's RMS level to −30 dBFS; louder clips are left as they are.

    Example:
        >>> x = np.full(100, 0.001, np.float32)
        >>> round(float(np.sqrt(np.mean(normalize_volume(x) ** 2))), 4)
        0.0316
    """
    # Same float32 arithmetic as Resemblyzer's, so the VAD sees the same 16-bit samples.
    wav = np.asarray(wav, dtype=np.float32)
    rms = np.sqrt(np.mean((wav * _INT16_MAX) ** 2))
    change = _TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
    if change < 0:
        return wav
    return wav * (10 ** (change / 20))


def trim_long_silences(wav: np.ndarray) -> np.ndarray:
    """Drop the middle of silences longer than ~0.2 s (WebRTC VAD, mode 3).

    The clip is first cut to whole 30 ms frames.

    Example:
        >>> x = np.zeros(16000, np.float32)
        >>> len(trim_long_silences(x))
        0
    """
    import webrtcvad

    wav = np.asarray(wav, dtype=np.float32)
    wav = wav[:len(wav) - len(wav) % _VAD_FRAME]
    n = len(wav) // _VAD_FRAME
    if n == 0:
        return wav
    # Out-of-range samples wrap as Resemblyzer's cast does (loud peaks after step 1).
    pcm = np.round(wav * _INT16_MAX).astype(np.int16).tobytes()
    vad = webrtcvad.Vad(3)
    step = 2 * _VAD_FRAME
    voiced = np.array([vad.is_speech(pcm[i * step:(i + 1) * step], SAMPLE_RATE)
                       for i in range(n)], dtype=np.int64)
    # Moving average over frames i-3 … i+4; rounding half to even makes 4/8 silent.
    counts = np.convolve(voiced, np.ones(_VAD_SMOOTH, np.int64))[_VAD_SMOOTH // 2:][:n]
    keep = counts > _VAD_SMOOTH // 2
    keep = np.convolve(keep.astype(np.int64), np.ones(_VAD_WIDEN, np.int64), mode="same") > 0
    return wav[np.repeat(keep, _VAD_FRAME)]


def preprocess(wav: np.ndarray) -> np.ndarray:
    """Steps 1 and 2; a clip that is all silence to the VAD keeps its samples.

    Example:
        >>> len(preprocess(np.full(16000, 0.01, np.float32)))
        16000
    """
    loud = normalize_volume(wav)
    trimmed = trim_long_silences(loud)
    return trimmed if len(trimmed) >= HOP else loud


def window_starts(n_samples: int, rate: float = 1.3, min_coverage: float = 0.75) -> list[int]:
    """First frame of each 160-frame window for a clip of ``n_samples`` (at least one).

    Example:
        >>> window_starts(16000), window_starts(48000)
        ([0], [0, 77, 154])
    """
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round(SAMPLE_RATE / rate / HOP))
    starts = list(range(0, max(1, n_frames - WINDOW_FRAMES + step + 1), step))
    coverage = (n_samples - starts[-1] * HOP) / (WINDOW_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts.pop()
    return starts


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)


def mel_windows(wav: np.ndarray) -> np.ndarray:
    """Steps 3 and 4 for a preprocessed clip: ``(windows, 160, 40)`` float32.

    Example:
        >>> mel_windows(np.ones(8000, np.float32)).shape
        (1, 160, 40)
    """
    import librosa

    starts = window_starts(len(wav))
    end = (starts[-1] + WINDOW_FRAMES) * HOP
    wav = np.asarray(wav, dtype=np.float32)
    if end >= len(wav):
        wav = np.pad(wav, (0, end - len(wav)))
    power = np.abs(librosa.stft(wav, n_fft=N_FFT, hop_length=HOP)) ** 2
    # basis @ power, not librosa's melspectrogram: the same numbers, without its slow einsum.
    mel = (_mel_basis() @ power).astype(np.float32).T
    return np.stack([mel[s:s + WINDOW_FRAMES] for s in starts])


# -- network --------------------------------------------------------------------------------


def forward(weights: Ge2eWeights, windows: np.ndarray) -> np.ndarray:
    """Step 5 for ``(n, frames, 40)`` windows: ``(n, 256)`` unit vectors.

    Example:
        >>> forward(load_weights(), np.ones((3, 20, 40), np.float32)).shape
        (3, 256)
    """
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim != 3 or x.shape[2] != N_MELS:
        raise InvalidInput(f"windows must be (n, frames, {N_MELS}), got {x.shape}")
    layers = _prepare(weights)
    out = [_forward_chunk(layers, weights, x[i:i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
    e = np.concatenate(out) if out else np.zeros((0, HIDDEN), np.float32)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def _prepare(weights: Ge2eWeights) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per layer: input and recurrent weights transposed, one bias, gates reordered to
    i, f, o, g, and the three sigmoid gates' rows halved.

    Halving lets one ``tanh`` over all four gates serve the sigmoids too:
    sigmoid(x) = (tanh(x / 2) + 1) / 2, and halving a float is exact, so the result is the
    same as applying the two functions separately.
    """
    h = HIDDEN
    order = np.r_[0:2 * h, 3 * h:4 * h, 2 * h:3 * h]
    scale = np.ones(4 * h, np.float32)
    scale[:3 * h] = 0.5
    out = []
    for w_ih, w_hh, b_ih, b_hh in weights.lstm:
        out.append((np.ascontiguousarray((w_ih[order] * scale[:, None]).T),
                    np.ascontiguousarray((w_hh[order] * scale[:, None]).T),
                    ((b_ih + b_hh)[order] * scale).astype(np.float32)))
    return out


def _forward_chunk(layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                   weights: Ge2eWeights, x: np.ndarray) -> np.ndarray:
    n, frames, _ = x.shape
    h3 = 3 * HIDDEN
    seq = np.ascontiguousarray(x.transpose(1, 0, 2))  # time-major: one slice per step
    gates = np.empty((n, 4 * HIDDEN), np.float32)
    tmp = np.empty((n, HIDDEN), np.float32)
    h = np.zeros((n, HIDDEN), np.float32)
    for k, (w_in, w_rec, bias) in enumerate(layers):
        gates_in = (seq.reshape(frames * n, -1) @ w_in).reshape(frames, n, 4 * HIDDEN)
        gates_in += bias
        h = np.zeros((n, HIDDEN), np.float32)
        c = np.zeros((n, HIDDEN), np.float32)
        outs = np.empty((frames, n, HIDDEN), np.float32) if k < len(layers) - 1 else None
        for t in range(frames):
            np.matmul(h, w_rec, out=gates)
            gates += gates_in[t]
            np.tanh(gates, out=gates)
            sig = gates[:, :h3]
            sig *= 0.5
            sig += 0.5
            c *= gates[:, HIDDEN:2 * HIDDEN]                    # forget
            np.multiply(gates[:, :HIDDEN], gates[:, h3:], out=tmp)  # input · candidate
            c += tmp
            np.tanh(c, out=tmp)
            h = tmp * gates[:, 2 * HIDDEN:h3]                   # output
            if outs is not None:
                outs[t] = h
        if outs is not None:
            seq = outs
    return np.maximum(h @ weights.linear_w.T + weights.linear_b, 0.0)


def embed_clips(weights: Ge2eWeights, wavs: list[np.ndarray]) -> np.ndarray:
    """Mean window vector per 16 kHz clip (not yet normalised): ``(len(wavs), 256)``.

    Example:
        >>> x = np.sin(np.arange(32000) * 0.05).astype(np.float32)
        >>> embed_clips(load_weights(), [x, x * 0.5]).shape
        (2, 256)
    """
    windows, owners = clip_windows(wavs)
    return average_windows(forward(weights, windows), owners, len(wavs))


def clip_windows(wavs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1–4 for a batch: all windows stacked, and the clip index of each.

    Example:
        >>> w, owner = clip_windows([np.ones(8000, np.float32), np.ones(48000, np.float32)])
        >>> w.shape, owner.tolist()
        ((4, 160, 40), [0, 1, 1, 1])
    """
    windows = [mel_windows(preprocess(w)) for w in wavs]
    owners = np.repeat(np.arange(len(wavs)), [len(w) for w in windows])
    if not windows:
        return np.zeros((0, WINDOW_FRAMES, N_MELS), np.float32), owners
    return np.concatenate(windows), owners


def average_windows(vectors: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Mean of each clip's window vectors.

    Example:
        >>> average_windows(np.array([[1.0, 0], [0, 1.0], [1, 1]]), np.array([0, 0, 1]), 2)
        array([[0.5, 0.5],
               [1. , 1. ]], dtype=float32)
    """
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(out, owners, vectors)
    return (out / np.maximum(np.bincount(owners, minlength=n), 1)[:, None]).astype(np.float32)


# -- reading Resemblyzer's checkpoint without torch ------------------------------------------

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
           "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class _Storage:
    def __init__(self, dtype: type, key: str, numel: int) -> None:
        self.dtype, self.key, self.numel = dtype, key, numel
        self.data: np.ndarray | None = None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple[int, ...],
                 stride: tuple[int, ...]) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray:
        data = self.storage.data
        assert data is not None
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        return np.array(view)


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple[int, ...],
                    stride: tuple[int, ...], *_: Any) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles a legacy (pre-zip) ``torch.save`` file into placeholders; refuses any
    class but tensors, storages and ordered dicts, so a checkpoint cannot run code."""

    def __init__(self, f: Any) -> None:
        super().__init__(f)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            import collections

            return collections.OrderedDict
        raise InvalidInput(f"unexpected object {module}.{name} in a GE2E checkpoint")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, storage_type, key, _location, numel, *_ = pid
        if kind != "storage" or storage_type not in _DTYPES:
            raise InvalidInput(f"unexpected storage {pid!r} in a GE2E checkpoint")
        if key not in self.storages:
            self.storages[key] = _Storage(_DTYPES[storage_type], key, int(numel))
        return self.storages[key]


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The ``model_state`` of a Resemblyzer ``pretrained.pt`` as numpy arrays, without torch.

    Reads PyTorch's legacy serialisation (the format of Resemblyzer's file: five pickles,
    then each storage as an int64 element count and its raw little-endian bytes).

    Raises:
        InvalidInput: not such a file.

    Example:
        >>> import importlib.util
        >>> spec = importlib.util.find_spec("resemblyzer")
        >>> if spec is not None:
        ...     pt = Path(spec.submodule_search_locations[0]) / "pretrained.pt"
        ...     print(read_checkpoint(pt)["linear.weight"].shape)
        ... else:
        ...     print((256, 256))
        (256, 256)
    """
    with open(path, "rb") as f:
        try:
            magic = pickle.load(f)
            if magic != 0x1950A86A20F9469CFC6C:
                raise InvalidInput(f"{path} is not a legacy PyTorch checkpoint")
            pickle.load(f)  # protocol version
            pickle.load(f)  # system info
            unpickler = _CheckpointUnpickler(f)
            obj = unpickler.load()
            keys = pickle.load(f)
            for key in keys:
                storage = unpickler.storages[key]
                numel = int(np.frombuffer(f.read(8), "<i8")[0])
                raw = f.read(numel * np.dtype(storage.dtype).itemsize)
                storage.data = np.frombuffer(raw, dtype=np.dtype(storage.dtype).newbyteorder("<"))
        except (pickle.UnpicklingError, EOFError, KeyError, ValueError, IndexError) as e:
            raise InvalidInput(f"cannot read {path} as a PyTorch checkpoint: {e}") from None
    state = obj.get("model_state") if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise InvalidInput(f"{path} has no model_state")
    return {k: v.array() for k, v in state.items() if isinstance(v, _Tensor)}


def convert_checkpoint(src: str | os.PathLike, dst: str | os.PathLike,
                       source: str = "resemblyzer") -> Path:
    """Write the network arrays of a Resemblyzer checkpoint to ``dst`` (``.npz``), with the
    checkpoint's SHA-256 (how :data:`WEIGHTS_PATH` was made).

    Example:
        >>> import tempfile, importlib.util
        >>> spec = importlib.util.find_spec("resemblyzer")
        >>> if spec is not None:
        ...     pt = Path(spec.submodule_search_locations[0]) / "pretrained.pt"
        ...     out = convert_checkpoint(pt, Path(tempfile.mkdtemp()) / "w.npz", "resemblyzer 0.1.4")
        ...     print(load_weights(out).version == load_weights().version)
        ... else:
        ...     print(True)
        True
    """
    state = read_checkpoint(src)
    arrays = {k: v.astype(np.float32) for k, v in state.items()
              if k.startswith(("lstm.", "linear."))}
    h = hashlib.sha256()
    with open(src, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    out = Path(dst)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, source=np.array(source), source_sha256=np.array(h.hexdigest()),
                        **arrays)
    return out


__all__ = ["HIDDEN", "N_MELS", "SAMPLE_RATE", "WEIGHTS_PATH", "WINDOW_FRAMES", "Ge2eWeights",
           "average_windows", "clip_windows", "convert_checkpoint", "embed_clips", "forward",
           "load_weights", "mel_windows", "normalize_volume", "preprocess", "read_checkpoint",
           "trim_long_silences", "window_starts"]
