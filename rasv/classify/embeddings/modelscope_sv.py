"""ModelScope speaker models (CAM++, ERes2Net, ERes2NetV2) from a model folder already on disk.

RefAudioSelectorV2 used CAM++ ``iic/speech_campplus_sv_zh-cn_16k-common``; users who ran it
(or FunASR, IndexTTS2, Seed-VC) have such folders in their ModelScope cache. rasv never
downloads: it resolves the folder locally (an explicit ``model_dir``, else the cache layouts
below) and raises :class:`~rasv.BackendUnavailable` at once when it is not there — a bare hub
id would otherwise spend ~30 s retrying the network.

Cache layouts probed, under ``$MODELSCOPE_CACHE`` when set, then ``~/.cache/modelscope/hub``
and ``~/.cache/modelscope``: ``models/<owner>/<name>`` (modelscope ≥ 1.2x), ``<owner>/<name>``
and ``hub/<owner>/<name>`` (older releases), with ``iic`` and ``damo`` as interchangeable
owners and ``.`` in names also tried as ``___``.

The network class comes from the installed ``modelscope`` package (``pip install -e
".[modelscope]"`` in the rasv folder); its feature code (torchaudio) is not used, see :mod:`.fbank`.

Example:
    >>> MODEL_IDS["campplus"]
    'iic/speech_campplus_sv_zh-cn_16k-common'
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from rasv.classify.embeddings.base import restored_modules, weights_digest
from rasv.classify.embeddings.fbank_model import FbankModelBackend
from rasv.errors import BackendUnavailable, InvalidInput

#: Short backend names for the common Chinese 16 kHz models.
MODEL_IDS = {
    "campplus": "iic/speech_campplus_sv_zh-cn_16k-common",
    "eres2net": "iic/speech_eres2net_sv_zh-cn_16k-common",
    "eres2netv2": "iic/speech_eres2netv2_sv_zh-cn_16k-common",
}

#: configuration.json ``model.type`` → (module, wrapper class) inside the modelscope package.
MODEL_CLASSES = {
    "cam++-sv": ("modelscope.models.audio.sv.DTDNN", "SpeakerVerificationCAMPPlus"),
    "eres2net-sv": ("modelscope.models.audio.sv.ERes2Net", "SpeakerVerificationERes2Net"),
    "eres2netv2-sv": ("modelscope.models.audio.sv.ERes2NetV2", "SpeakerVerificationERes2NetV2"),
    "eres2net-aug-sv": ("modelscope.models.audio.sv.ERes2Net_aug",
                        "SpeakerVerificationERes2Net"),
}

#: Same-speaker cosine thresholds from the model cards (CAM++ 0.31, ERes2NetV2 0.365).
_CARD_THRESHOLDS = {"cam++-sv": 0.31, "eres2netv2-sv": 0.365}

INSTALL_HINT = "pip install -e \".[modelscope]\" in the rasv folder"

_IMPORT_LOCK = threading.Lock()


def cache_roots() -> list[Path]:
    """The ModelScope cache folders probed, in order.

    Example:
        >>> all(isinstance(p, Path) for p in cache_roots())
        True
    """
    roots = []
    env = os.environ.get("MODELSCOPE_CACHE")
    if env:
        roots.append(Path(env).expanduser())
    home = Path.home() / ".cache" / "modelscope"
    roots += [home / "hub", home]
    seen: list[Path] = []
    for r in roots:
        if r not in seen:
            seen.append(r)
    return seen


def candidate_dirs(model_id: str) -> list[Path]:
    """Every folder where ``model_id`` may be cached, in probing order.

    Example:
        >>> import os
        >>> os.environ["MODELSCOPE_CACHE"] = "/c"
        >>> [str(p) for p in candidate_dirs("iic/m")][:2]
        ['/c/models/iic/m', '/c/iic/m']
        >>> del os.environ["MODELSCOPE_CACHE"]
    """
    if model_id.count("/") != 1:
        raise InvalidInput(f"a ModelScope model id is 'owner/name', got {model_id!r}")
    owner, name = model_id.split("/")
    owners = [owner] + [o for o in ("iic", "damo") if o != owner and owner in ("iic", "damo")]
    names = [name] + ([name.replace(".", "___")] if "." in name else [])
    out: list[Path] = []
    for root in cache_roots():
        for o in owners:
            for n in names:
                for layout in (root / "models" / o / n, root / o / n, root / "hub" / o / n):
                    if layout not in out:
                        out.append(layout)
    return out


def find_model_dir(model_id: str | None = None, model_dir: str | os.PathLike | None = None) -> Path:
    """Resolve a ModelScope model folder on disk, never touching the network.

    Raises:
        BackendUnavailable: no folder with a ``configuration.json`` was found; the message
            lists where rasv looked and how to get the model.

    Example:
        >>> import tempfile, os, json
        >>> d = tempfile.mkdtemp()
        >>> _ = open(os.path.join(d, "configuration.json"), "w").write("{}")
        >>> find_model_dir(model_dir=d) == Path(d)
        True
    """
    if model_dir is not None:
        p = Path(model_dir).expanduser()
        if not (p / "configuration.json").is_file():
            raise BackendUnavailable(
                f"{p} is not a ModelScope model folder (no configuration.json in it)"
            )
        return p
    if model_id is None:
        raise InvalidInput("give a ModelScope model id or a model folder")
    tried = candidate_dirs(model_id)
    for p in tried:
        if (p / "configuration.json").is_file():
            return p
    roots = ", ".join(str(r) for r in cache_roots())
    raise BackendUnavailable(
        f"ModelScope model {model_id} is not on disk (looked under {roots}); download it once "
        f"with `modelscope download --model {model_id}` or pass its folder as model_dir"
    )


@contextlib.contextmanager
def _torchaudio_stand_in() -> Iterator[None]:
    """Let modelscope's SV modules import when torchaudio cannot be imported.

    Those modules import ``torchaudio.compliance.kaldi`` at the top for their own feature
    code, which rasv does not call (features come from :mod:`.fbank`). The PyPI torchaudio
    often fails to load against the installed torch, so while the module imports, a stand-in
    that refuses to compute anything takes its place; it is removed from ``sys.modules``
    afterwards so nothing else ever sees it.
    """
    names = ("torchaudio", "torchaudio.compliance", "torchaudio.compliance.kaldi")

    def _refuse(*_a: Any, **_k: Any) -> Any:
        raise BackendUnavailable("torchaudio is not importable here; rasv computes fbank itself")

    root, comp, kaldi = (ModuleType(n) for n in names)
    kaldi.fbank = _refuse  # type: ignore[attr-defined]
    comp.kaldi = kaldi  # type: ignore[attr-defined]
    root.compliance = comp  # type: ignore[attr-defined]
    with restored_modules(names):
        sys.modules.update(dict(zip(names, (root, comp, kaldi), strict=True)))
        yield


def import_model_class(model_type: str) -> type:
    """The modelscope wrapper class for a ``configuration.json`` model type.

    Raises:
        BackendUnavailable: modelscope is not installed, or the type is not a speaker model
            rasv knows.
    """
    if model_type not in MODEL_CLASSES:
        known = ", ".join(sorted(MODEL_CLASSES))
        raise BackendUnavailable(f"ModelScope model type {model_type!r} is not a speaker model "
                                 f"rasv can run (known: {known})")
    if importlib.util.find_spec("modelscope") is None:
        raise BackendUnavailable(f"ModelScope speaker models need modelscope: {INSTALL_HINT}")
    if importlib.util.find_spec("torch") is None:
        raise BackendUnavailable(f"ModelScope speaker models need torch: {INSTALL_HINT}")
    module_name, class_name = MODEL_CLASSES[model_type]
    with _IMPORT_LOCK:
        try:
            module = importlib.import_module(module_name)
        except (ImportError, OSError) as e:
            if "torchaudio" not in f"{getattr(e, 'name', '')} {e}":
                raise BackendUnavailable(
                    f"cannot import {module_name}: {type(e).__name__}: {e} ({INSTALL_HINT})"
                ) from None
            with _torchaudio_stand_in():
                for n in [m for m in sys.modules if m == module_name]:
                    del sys.modules[n]
                try:
                    module = importlib.import_module(module_name)
                except Exception as e2:
                    raise BackendUnavailable(
                        f"cannot import {module_name}: {type(e2).__name__}: {e2} "
                        f"({INSTALL_HINT})"
                    ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise BackendUnavailable(f"{module_name} has no {class_name}; update modelscope")
    return cls


class ModelScopeBackend(FbankModelBackend):
    """Speaker embeddings from a ModelScope CAM++ / ERes2Net / ERes2NetV2 folder.

    Args:
        model: a short name (``"campplus"``, ``"eres2net"``, ``"eres2netv2"``) or a ModelScope
            id (``"iic/speech_campplus_sv_zh-cn_16k-common"``); ignored when ``model_dir``
            is given.
        model_dir: the model folder itself (holding ``configuration.json`` and the weights).
        device: ``"cpu"``, ``"cuda"``…; default: a GPU when torch sees one.

    Raises:
        BackendUnavailable: the folder, its weights, modelscope or torch is missing.

    Example:
        >>> try:
        ...     ModelScopeBackend(model_dir="/nonexistent")
        ... except BackendUnavailable as e:
        ...     print(str(e)[:30])
        /nonexistent is not a ModelSco
    """

    def __init__(self, model: str = "campplus", *,
                 model_dir: str | os.PathLike | None = None, device: str | None = None) -> None:
        super().__init__(device)
        model_id = MODEL_IDS.get(model, model)
        self.model_dir = find_model_dir(None if model_dir else model_id, model_dir)
        try:
            config = json.loads((self.model_dir / "configuration.json").read_text("utf-8"))
            spec = config["model"]
            self.model_type = str(spec["type"])
            weights_name = str(spec["pretrained_model"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BackendUnavailable(
                f"{self.model_dir / 'configuration.json'} is not a speaker-verification "
                f"configuration ({type(e).__name__}: {e})"
            ) from None
        self.config = spec
        self.weights = self.model_dir / weights_name
        if not self.weights.is_file():
            raise BackendUnavailable(f"{self.model_dir} lacks its weights file {weights_name}; "
                                     "download the model again")
        if self.model_type not in MODEL_CLASSES:
            known = ", ".join(sorted(MODEL_CLASSES))
            raise BackendUnavailable(f"{self.model_dir} holds a {self.model_type!r} model, "
                                     f"not a speaker model rasv can run (known: {known})")
        for package in ("modelscope", "torch"):
            if importlib.util.find_spec(package) is None:
                raise BackendUnavailable(
                    f"ModelScope speaker models need {package}: {INSTALL_HINT}"
                )
        mc = spec.get("model_config") or {}
        self.dim = int(mc.get("emb_size") or mc.get("embed_dim")
                       or mc.get("embedding_size") or 192)
        self.name = f"modelscope/{self.model_dir.name}"
        self.version = weights_digest(self.weights)
        card = float(spec.get("yesOrno_thr") or _CARD_THRESHOLDS.get(self.model_type, 0.35))
        self.threshold = 1.0 - card

    def _build(self) -> Any:
        cls = import_model_class(self.model_type)
        extra = {k: v for k, v in self.config.items() if k not in ("type", "model_config")}
        extra["device"] = "cpu"  # built on the CPU, then moved to self.device
        try:
            wrapper = cls(str(self.model_dir), self.config.get("model_config") or {}, **extra)
        except BackendUnavailable:
            raise
        except Exception as e:
            raise BackendUnavailable(
                f"cannot load {self.model_dir}: {type(e).__name__}: {e}"
            ) from None
        return wrapper.embedding_model.eval()


__all__ = [
    "INSTALL_HINT",
    "MODEL_CLASSES",
    "MODEL_IDS",
    "ModelScopeBackend",
    "cache_roots",
    "candidate_dirs",
    "find_model_dir",
    "import_model_class",
]
