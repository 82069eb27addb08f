"""Speaker embeddings: one interface, several models, chosen by name.

=====================  ==============================================================
``backend=``           model
=====================  ==============================================================
``"resemblyzer"``      GE2E d-vector, 256-d; weights ship with rasv, runs in numpy (default)
``"gsv"``              GPT-SoVITS's ERes2NetV2 (needs ``gsv_root``)
``"campplus"``         ModelScope CAM++ zh-cn (RefAudioSelectorV2's model), on disk
``"eres2net"``,        ModelScope ERes2Net / ERes2NetV2 zh-cn, on disk
``"eres2netv2"``
``"modelscope"``       any ModelScope SV folder given as ``model_dir``
``"auto"``             ``gsv`` if ``gsv_root`` is given, ``modelscope`` if ``model_dir``
                       is, else Resemblyzer, else CAM++ from the ModelScope cache
``"pkg.mod:Class"``    your own :class:`EmbeddingBackend` subclass, built without arguments
=====================  ==============================================================

Nothing is ever downloaded: a backend whose package or weights are missing raises
:class:`~rasv.BackendUnavailable` naming what to install or where to put the weights.
Backends load their model on first use and are shared per process.

Example:
    >>> from rasv.classify.embeddings import get_backend
    >>> from rasv.errors import BackendUnavailable
    >>> try:
    ...     b = get_backend("auto")
    ... except BackendUnavailable:
    ...     b = None
    >>> b is None or b.dim > 0
    True
"""

from __future__ import annotations

import os
import threading
from typing import Any

from rasv.classify.embeddings.base import SAMPLE_RATE, EmbeddingBackend, normalize_rows
from rasv.errors import BackendUnavailable, InvalidInput

BACKEND_NAMES = ("auto", "resemblyzer", "gsv", "campplus", "eres2net", "eres2netv2", "modelscope")

_INSTANCES: dict[tuple[Any, ...], EmbeddingBackend] = {}
_LOCK = threading.Lock()


def get_backend(
    backend: str | EmbeddingBackend = "auto", *,
    gsv_root: str | os.PathLike | None = None,
    model_dir: str | os.PathLike | None = None,
    device: str | None = None,
) -> EmbeddingBackend:
    """The embedding backend for a name (instances are shared per process), or ``backend``
    itself when it already is one.

    Args:
        backend: a name from the table above, a ModelScope id (``"iic/…"``), or an instance.
        gsv_root: GPT-SoVITS folder, for ``"gsv"`` (and ``"auto"``).
        model_dir: ModelScope model folder, for ``"modelscope"`` (and ``"auto"``).
        device: where the model runs (``"cpu"``, ``"cuda"``…); default: a GPU when torch
            sees one, else the CPU.

    Raises:
        BackendUnavailable: the model cannot run here; the message says what to install.
        InvalidInput: an unknown name.

    Example:
        >>> from rasv.testing import FakeEmbeddingBackend
        >>> fake = FakeEmbeddingBackend()
        >>> get_backend(fake) is fake
        True
    """
    if isinstance(backend, EmbeddingBackend):
        return backend
    if not isinstance(backend, str):
        raise InvalidInput(f"backend must be a name or an EmbeddingBackend, not {backend!r}")
    name = backend.strip() if ("/" in backend or ":" in backend) else backend.strip().lower()
    key = (name, _norm(gsv_root), _norm(model_dir), device)
    with _LOCK:
        if key in _INSTANCES:
            return _INSTANCES[key]
    instance = _create(name, gsv_root, model_dir, device)
    with _LOCK:
        return _INSTANCES.setdefault(key, instance)


def _norm(p: str | os.PathLike | None) -> str | None:
    return None if p is None else os.path.abspath(os.path.expanduser(os.fspath(p)))


def _create(name: str, gsv_root: Any, model_dir: Any, device: str | None) -> EmbeddingBackend:
    from rasv.classify.embeddings.ge2e import ResemblyzerBackend
    from rasv.classify.embeddings.gsv_sv import GptSovitsBackend
    from rasv.classify.embeddings.modelscope_sv import MODEL_IDS, ModelScopeBackend

    if ":" in name:
        return _from_import_path(name)
    if name == "resemblyzer":
        return ResemblyzerBackend(device=device)
    if name == "gsv":
        if gsv_root is None:
            raise InvalidInput("backend 'gsv' needs gsv_root, the GPT-SoVITS folder")
        return GptSovitsBackend(gsv_root, device=device)
    if name in MODEL_IDS or "/" in name:
        return ModelScopeBackend(name, model_dir=model_dir, device=device)
    if name == "modelscope":
        if model_dir is None:
            raise InvalidInput("backend 'modelscope' needs model_dir, the model folder")
        return ModelScopeBackend(model_dir=model_dir, device=device)
    if name != "auto":
        raise InvalidInput(f"unknown embedding backend {name!r}; use one of "
                           f"{', '.join(BACKEND_NAMES)} or a ModelScope id")
    # "auto" hands out the same shared instance as the concrete name it resolves to.
    if gsv_root is not None:
        return get_backend("gsv", gsv_root=gsv_root, device=device)
    if model_dir is not None:
        return get_backend("modelscope", model_dir=model_dir, device=device)
    if ResemblyzerBackend.available():
        return get_backend("resemblyzer", device=device)
    try:
        return get_backend("campplus", device=device)
    except BackendUnavailable:
        pass
    raise BackendUnavailable(
        "no speaker-embedding model can run here: the resemblyzer backend needs its weights "
        "and webrtcvad, which `pip install -e .` in the rasv folder installs; or pass "
        "gsv_root= a GPT-SoVITS v2Pro folder, or model_dir= a ModelScope CAM++/ERes2Net folder"
    )


def _from_import_path(spec: str) -> EmbeddingBackend:
    import importlib

    module_name, _, attr = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise InvalidInput(f"cannot import embedding backend {spec!r}: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, EmbeddingBackend)):
        raise InvalidInput(f"{spec} is not an EmbeddingBackend subclass")
    return cls()


__all__ = [
    "BACKEND_NAMES",
    "SAMPLE_RATE",
    "EmbeddingBackend",
    "get_backend",
    "normalize_rows",
]
