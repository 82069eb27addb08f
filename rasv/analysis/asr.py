"""ASR error rate of a take, with a recogniser that is already on the user's disk.

No usable Chinese or Japanese recogniser ships inside a PyPI wheel, so rasv never downloads
one: it uses a model folder the user already has, typically from GPT-SoVITS's
``tools/asr/models`` (FunASR paraformer-zh, faster-whisper). Anything that has a
``transcribe(samples_16k, lang) -> str`` method can serve as a :class:`Recognizer`, which is
how tests inject a fake one.

Example:
    >>> import numpy as np
    >>> class Parrot:
    ...     name, version = "parrot", "1"
    ...     def transcribe(self, samples, lang):
    ...         return "今天天天气很好"
    >>> from rasv.analysis.take_signal import TakeSignal
    >>> sig = TakeSignal(np.zeros(16000, dtype="float32"), 16000, text="今天天气很好", lang="zh")
    >>> {m.name: m.value for m in AsrErrors(Parrot()).measure(sig)}["asr_insertions"]
    0.1667
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rasv.analysis.errorrate import error_rate
from rasv.analysis.measure import Measurement
from rasv.analysis.take_signal import TakeSignal
from rasv.errors import BackendUnavailable, InvalidInput

#: Environment variable naming an ASR model folder (or a GPT-SoVITS root) to use by default.
ASR_ENV = "RASV_ASR_MODEL"
#: Folder names GPT-SoVITS's ASR tools download into ``tools/asr/models``.
PARAFORMER_DIR = "speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-pytorch"


@runtime_checkable
class Recognizer(Protocol):
    """A speech recogniser: 16 kHz float32 mono samples in, text out."""

    name: str
    version: str

    def transcribe(self, samples: np.ndarray, lang: str) -> str: ...


def _load_asr_model(module: str, runtime: str, install: str, model_dir: Path,
                    build: Callable[[ModuleType], Any]) -> Any:
    """``build(module)``: a recogniser's model, or :class:`BackendUnavailable` saying what to do.

    A missing runtime names the command that installs it; a model folder the runtime cannot
    load (broken, partial) is named, with the runtime's reason.

    Example:
        >>> _load_asr_model("no_such_runtime", "X", "pip install x", Path("/m"), lambda m: m)
        Traceback (most recent call last):
        ...
        rasv.errors.BackendUnavailable: X is not installed: pip install x
        >>> _load_asr_model("json", "json", "-", Path("/m"), lambda m: m.loads("[1]"))
        [1]
    """
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise BackendUnavailable(f"{runtime} is not installed: {install}") from None
    try:
        return build(mod)
    except Exception as e:  # a broken or partial folder: say which one
        raise BackendUnavailable(f"cannot load the {runtime} model in {model_dir}: {e}") from None


class FasterWhisper:
    """faster-whisper (CTranslate2) from a local model folder (``model.bin`` + ``config.json``).

    Args:
        model_dir: e.g. ``GPT-SoVITS/tools/asr/models/faster-whisper-large-v3``.
        device: ``cpu`` or ``cuda``.
        compute_type: ``int8`` on CPU, ``float16`` on GPU.
    """

    name = "faster-whisper"

    def __init__(self, model_dir: str | os.PathLike, *, device: str = "cpu",
                 compute_type: str = "int8") -> None:
        self.model_dir = Path(model_dir)
        self.version = self.model_dir.name
        self._model = _load_asr_model(
            "faster_whisper", "faster-whisper", "pip install 'rasv[asr]'", self.model_dir,
            lambda m: m.WhisperModel(str(self.model_dir), device=device,
                                     compute_type=compute_type, local_files_only=True))

    def transcribe(self, samples: np.ndarray, lang: str) -> str:
        code = {"zh": "zh", "yue": "yue", "ja": "ja", "en": "en", "ko": "ko"}.get(_base(lang))
        segments, _ = self._model.transcribe(np.asarray(samples, dtype=np.float32),
                                             language=code, beam_size=5)
        return "".join(s.text for s in segments).strip()


class Paraformer:
    """FunASR paraformer-zh from a local model folder (what GPT-SoVITS's ``funasr_asr`` uses)."""

    name = "paraformer"

    def __init__(self, model_dir: str | os.PathLike, *, device: str = "cpu") -> None:
        self.model_dir = Path(model_dir)
        self.version = self.model_dir.name
        self._model = _load_asr_model(
            "funasr", "FunASR", "pip install funasr (and torch)", self.model_dir,
            lambda m: m.AutoModel(model=str(self.model_dir), device=device, disable_update=True,
                                  disable_pbar=True, log_level="ERROR"))

    def transcribe(self, samples: np.ndarray, lang: str) -> str:
        res = self._model.generate(input=np.asarray(samples, dtype=np.float32), batch_size_s=300)
        return str(res[0]["text"]) if res else ""


def _base(lang: str) -> str:
    lang = (lang or "").lower()
    return lang[4:] if lang.startswith("all_") else lang


def model_kind(folder: str | os.PathLike) -> str | None:
    """``"faster-whisper"``, ``"paraformer"`` or None, from a folder's files.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> (d / "model.bin").write_bytes(b""); (d / "config.json").write_text("{}")
        0
        2
        >>> model_kind(d)
        'faster-whisper'
    """
    p = Path(folder)
    if (p / "model.bin").is_file() and (p / "config.json").is_file():
        return "faster-whisper"
    if (p / "model.pt").is_file() and ((p / "config.yaml").is_file()
                                       or (p / "configuration.json").is_file()):
        return "paraformer"
    return None


def find_models(roots: Iterable[str | os.PathLike]) -> list[tuple[str, Path]]:
    """ASR model folders under the given places: a model folder itself, a GPT-SoVITS root
    (``tools/asr/models/*``), or a folder of model folders. Paraformer comes first.

    Example:
        >>> find_models([])
        []
    """
    found: list[tuple[str, Path]] = []
    for root in roots:
        r = Path(root).expanduser()
        candidates = [r, *sorted(_children(r / "tools" / "asr" / "models")), *sorted(_children(r))]
        for c in candidates:
            kind = model_kind(c)
            if kind and (kind, c) not in found:
                found.append((kind, c))
    found.sort(key=lambda kc: (kc[0] != "paraformer", str(kc[1])))
    return found


def _children(p: Path) -> list[Path]:
    try:
        return [c for c in p.iterdir() if c.is_dir()]
    except OSError:
        return []


def open_recognizer(source: Any = "auto", lang: str = "zh") -> Recognizer:
    """A recogniser from a :class:`Recognizer`, a model folder or GPT-SoVITS root, or
    ``"auto"`` (the folder in ``$RASV_ASR_MODEL``).

    For Chinese a paraformer folder is preferred; for other languages faster-whisper.

    Raises:
        BackendUnavailable: no model folder found, or its runtime is not installed.

    Example:
        >>> import tempfile
        >>> try:
        ...     open_recognizer(tempfile.mkdtemp())
        ... except BackendUnavailable as e:
        ...     print(str(e)[:33])
        no ASR model found in the folders
    """
    if isinstance(source, Recognizer):
        return source
    if source in (None, "auto"):
        env = os.environ.get(ASR_ENV)
        if not env:
            raise BackendUnavailable(
                "no ASR model configured: pass asr=<model folder or GPT-SoVITS root> or set "
                f"${ASR_ENV}; GPT-SoVITS keeps paraformer and faster-whisper models in "
                "tools/asr/models (install the runtime with pip install 'rasv[asr]')"
            )
        roots = [env]
    elif isinstance(source, (str, os.PathLike)):
        roots = [source]
    else:
        raise InvalidInput(f"asr must be a model folder, 'auto' or a recogniser, not {source!r}")
    models = find_models(roots)
    if not models:
        raise BackendUnavailable(
            f"no ASR model found in the folders {', '.join(map(str, roots))}: expected a "
            f"faster-whisper folder (model.bin, config.json) or FunASR's {PARAFORMER_DIR}, "
            "e.g. GPT-SoVITS/tools/asr/models"
        )
    prefer = "paraformer" if _base(lang) == "zh" else "faster-whisper"
    models.sort(key=lambda kc: kc[0] != prefer)
    kind, folder = models[0]
    return Paraformer(folder) if kind == "paraformer" else FasterWhisper(folder)


class AsrErrors:
    """ASR error rate of a take against its text, split like seed-tts-eval.

    Metrics: ``asr_error_rate`` (CER for zh/ja/yue/ko, WER otherwise) and
    ``asr_substitutions``, ``asr_deletions``, ``asr_insertions`` (each divided by the
    reference length). The detail of ``asr_error_rate`` holds the hypothesis, the unit and
    the edits.
    """

    name = "asr"
    metrics = ("asr_error_rate", "asr_substitutions", "asr_deletions", "asr_insertions")

    def __init__(self, recognizer: Recognizer) -> None:
        self.recognizer = recognizer
        self.backend = str(recognizer.name)
        self.version = f"1+{recognizer.version}"

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        if not sig.text.strip():
            return [Measurement(n, None) for n in self.metrics]
        n = int(round(sig.duration_s * 16000))
        hyp = self.recognizer.transcribe(sig.samples[:n], sig.lang or "zh")
        e = error_rate(sig.text, hyp, sig.lang or "zh")
        detail = {"hypothesis": hyp, "unit": e.unit, "ref_len": e.ref_len,
                  "ops": [list(o) for o in e.ops[:50]]}
        return [
            Measurement("asr_error_rate", round(e.rate, 4), detail),
            Measurement("asr_substitutions", round(e.substitution_rate, 4)),
            Measurement("asr_deletions", round(e.deletion_rate, 4),
                        {"deleted": [o[1] for o in e.ops if o[0] == "del"][:20]}),
            Measurement("asr_insertions", round(e.insertion_rate, 4),
                        {"inserted": [o[2] for o in e.ops if o[0] == "ins"][:20]}),
        ]


__all__ = [
    "ASR_ENV",
    "AsrErrors",
    "FasterWhisper",
    "Paraformer",
    "Recognizer",
    "find_models",
    "model_kind",
    "open_recognizer",
]
