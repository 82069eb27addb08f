"""DNSMOS: predicted MOS for signal (SIG), background (BAK), overall (OVRL) and P.808.

Microsoft's DNSMOS models (DNS-Challenge; models CC BY 4.0) ship as ONNX files inside the
``speechmos`` wheel. rasv runs them with onnxruntime itself rather than through
``speechmos.run``, which hops 1 s over 9 s windows (about nine times the work): a take is cut
into non-overlapping 9.01 s windows at 16 kHz, a take (or a remainder of at least half a
window) shorter than that is repeated to fill one, and the window scores are averaged. The P.835
model's raw outputs go through the fixed cubic mappings published with DNSMOS P.835; the
P.808 model reads a 120-band log-mel spectrogram of the window.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> scores = dnsmos(make_voice(3.0, 16000), 16000)
    >>> sorted(scores), 1.0 <= scores["dnsmos_ovrl"] <= 5.0
    (['dnsmos_bak', 'dnsmos_ovrl', 'dnsmos_p808', 'dnsmos_sig'], True)
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rasv.analysis.measure import Measurement, as_signal
from rasv.analysis.take_signal import RATE, TakeSignal
from rasv.errors import BackendUnavailable

#: The models' input: 9.01 s at 16 kHz.
WINDOW = int(9.01 * RATE)

# DNSMOS P.835 (non-personalised) raw-output → MOS mappings, highest power first.
_POLY_SIG = np.poly1d([-0.08397278, 1.22083953, 0.0052439])
_POLY_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])
_POLY_OVR = np.poly1d([-0.06766283, 1.11546468, 0.04602535])


def model_dir() -> Path:
    """The folder of the DNSMOS ONNX files inside the installed ``speechmos`` package.

    Found without importing ``speechmos`` (its import pulls in ``requests``).

    Raises:
        BackendUnavailable: speechmos is not installed or lacks the files.

    Example:
        >>> (model_dir() / "sig_bak_ovr.onnx").is_file()
        True
    """
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.origin:
        raise BackendUnavailable("DNSMOS needs the speechmos package: pip install speechmos")
    folder = Path(spec.origin).parent / "dnsmos_models"
    for name in ("sig_bak_ovr.onnx", "model_v8.onnx"):
        if not (folder / name).is_file():
            raise BackendUnavailable(
                f"DNSMOS model file {folder / name} is missing; reinstall speechmos"
            )
    return folder


@lru_cache(maxsize=1)
def _sessions() -> tuple[Any, Any]:
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendUnavailable("DNSMOS needs onnxruntime: pip install onnxruntime") from None
    folder = model_dir()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    p835 = ort.InferenceSession(str(folder / "sig_bak_ovr.onnx"), opts, providers=providers)
    p808 = ort.InferenceSession(str(folder / "model_v8.onnx"), opts, providers=providers)
    return p835, p808


def windows(x: np.ndarray) -> np.ndarray:
    """Cut 16 kHz samples into the models' windows, shape (n, 144160).

    Example:
        >>> windows(np.ones(16000, dtype="float32")).shape
        (1, 144160)
        >>> windows(np.ones(2 * 144160 + 1000, dtype="float32")).shape
        (2, 144160)
    """
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        x = np.zeros(RATE, dtype=np.float32)
    out = [x[i: i + WINDOW] for i in range(0, len(x) - WINDOW + 1, WINDOW)]
    rest = x[len(out) * WINDOW:]
    if not out or len(rest) >= WINDOW // 2:
        out.append(np.resize(rest if len(rest) else x, WINDOW))  # np.resize repeats the input
    return np.stack(out)


def _p808_features(win: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=win[:-160], sr=RATE, n_fft=321, hop_length=160,
                                         n_mels=120)
    return ((librosa.power_to_db(mel, ref=np.max) + 40.0) / 40.0).T.astype(np.float32)


def score_windows(wins: np.ndarray) -> np.ndarray:
    """MOS per window, shape (n, 4): SIG, BAK, OVRL, P.808.

    Example:
        >>> score_windows(np.zeros((1, WINDOW), dtype="float32")).shape
        (1, 4)
    """
    p835, p808 = _sessions()
    raw = p835.run(None, {p835.get_inputs()[0].name: wins.astype(np.float32)})[0]
    feats = np.stack([_p808_features(w) for w in wins])
    name = p808.get_inputs()[0].name
    mos808 = p808.run(None, {name: feats[:, :900]})[0][:, 0]
    return np.stack([_POLY_SIG(raw[:, 0]), _POLY_BAK(raw[:, 1]), _POLY_OVR(raw[:, 2]), mos808],
                    axis=1)


class Dnsmos:
    """DNSMOS SIG, BAK, OVRL and P.808 of a take (1 = bad … 5 = excellent).

    Metrics: ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_ovrl``, ``dnsmos_p808``.
    """

    name = "dnsmos"
    backend = "dnsmos-onnx"
    version = "1"
    metrics = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        n = int(round(sig.duration_s * RATE))
        s = score_windows(windows(sig.samples[:n])).mean(axis=0)
        return [Measurement(name, round(float(v), 3)) for name, v in zip(self.metrics, s, strict=True)]


def dnsmos(samples, sample_rate: int | None = None) -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """DNSMOS of an array (or a :class:`TakeSignal`) as a dict.

    Example:
        >>> import numpy as np
        >>> round(dnsmos(np.zeros(8000, dtype="float32"), 16000)["dnsmos_bak"], 1) > 0
        True
    """
    return {m.name: m.value for m in Dnsmos().measure(as_signal(samples, sample_rate))}


__all__ = ["WINDOW", "Dnsmos", "dnsmos", "model_dir", "score_windows", "windows"]
