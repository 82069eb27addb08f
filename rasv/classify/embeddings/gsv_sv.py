"""GPT-SoVITS's own speaker model: ERes2NetV2 (w24 s4 ep4, 192-d) from a GPT-SoVITS folder.

GPT-SoVITS v2Pro/v2ProPlus ships ``GPT_SoVITS/pretrained_models/sv/
pretrained_eres2netv2w24s4ep4.ckpt`` with the network's code in ``GPT_SoVITS/eres2net/``, so
its users already have a strong Chinese speaker model on disk. rasv loads that code from the
folder (under private module names, leaving ``sys.modules`` as it was) and feeds it numpy
fbank features; it uses the standard 192-d embedding (``forward``), not the pooled feature map
GPT-SoVITS conditions on.

Example:
    >>> from rasv.errors import BackendUnavailable
    >>> try:
    ...     GptSovitsBackend("/nonexistent")
    ... except BackendUnavailable as e:
    ...     print(str(e)[:40])
    GPT-SoVITS folder /nonexistent has no GP
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from rasv.classify.embeddings.base import restored_modules, weights_digest
from rasv.classify.embeddings.fbank_model import FbankModelBackend
from rasv.classify.embeddings.ge2e import TORCH_HINT
from rasv.errors import BackendUnavailable

#: Where GPT-SoVITS keeps the checkpoint, relative to its root folder.
CKPT_RELPATH = "GPT_SoVITS/pretrained_models/sv/pretrained_eres2netv2w24s4ep4.ckpt"
#: Where the network's code lives, relative to the root folder.
CODE_RELDIR = "GPT_SoVITS/eres2net"

_IMPORT_LOCK = threading.Lock()


def _load_file_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BackendUnavailable(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_eres2netv2_class(code_dir: str | os.PathLike) -> type:
    """Import ``ERes2NetV2`` from GPT-SoVITS's ``eres2net`` folder without touching sys.path.

    The file does ``import pooling_layers`` and ``from fusion import AFF``; those names are
    bound to the folder's own files only while it executes, then ``sys.modules`` is restored.
    """
    code = Path(code_dir)
    helpers = ("pooling_layers", "fusion")
    with _IMPORT_LOCK, restored_modules(helpers):
        try:
            for k in helpers:
                sys.modules[k] = _load_file_module(f"rasv._gsv_eres2net.{k}", code / f"{k}.py")
            module = _load_file_module("rasv._gsv_eres2net.ERes2NetV2", code / "ERes2NetV2.py")
        except BackendUnavailable:
            raise
        except Exception as e:
            raise BackendUnavailable(
                f"cannot import ERes2NetV2 from {code}: {type(e).__name__}: {e}"
            ) from None
    cls = getattr(module, "ERes2NetV2", None)
    if cls is None:
        raise BackendUnavailable(f"{code / 'ERes2NetV2.py'} defines no ERes2NetV2 class")
    return cls


class GptSovitsBackend(FbankModelBackend):
    """ERes2NetV2 speaker embeddings from a GPT-SoVITS installation (192-d).

    Args:
        gsv_root: the GPT-SoVITS folder (the one holding ``GPT_SoVITS/``).
        device: ``"cpu"``, ``"cuda"``…; default: a GPU when torch sees one.

    Raises:
        BackendUnavailable: the checkpoint or the network code is missing, or torch is not
            installed.
    """

    name = "gsv-eres2netv2"
    dim = 192
    # 3D-Speaker's ERes2NetV2 model card accepts same-speaker pairs at cosine ≥ 0.365.
    threshold = 1.0 - 0.365

    def __init__(self, gsv_root: str | os.PathLike, device: str | None = None) -> None:
        super().__init__(device)
        root = Path(gsv_root).expanduser()
        self.root = root
        self.ckpt = root / CKPT_RELPATH
        self.code_dir = root / CODE_RELDIR
        if not self.ckpt.is_file():
            raise BackendUnavailable(
                f"GPT-SoVITS folder {root} has no {CKPT_RELPATH}; it comes with the v2Pro "
                "pretrained models (download them into GPT-SoVITS), or pick another backend"
            )
        missing = [f for f in ("ERes2NetV2.py", "pooling_layers.py", "fusion.py")
                   if not (self.code_dir / f).is_file()]
        if missing:
            raise BackendUnavailable(
                f"GPT-SoVITS folder {root} lacks {CODE_RELDIR}/{', '.join(missing)}; "
                "update GPT-SoVITS to v2Pro or later"
            )
        if importlib.util.find_spec("torch") is None:
            raise BackendUnavailable("the GPT-SoVITS speaker model needs torch: " + TORCH_HINT)
        self.version = weights_digest(self.ckpt)

    def _build(self) -> Any:
        import torch

        cls = load_eres2netv2_class(self.code_dir)
        model = cls(baseWidth=24, scale=4, expansion=4)
        try:
            state = torch.load(self.ckpt, map_location="cpu", weights_only=True)
        except Exception:
            # Older checkpoints pickle more than tensors; this is the user's own
            # GPT-SoVITS file, which GPT-SoVITS itself loads the same way.
            state = torch.load(self.ckpt, map_location="cpu", weights_only=False)
        if isinstance(state, dict) and "state_dict" in state and len(state) <= 4:
            state = state["state_dict"]
        try:
            model.load_state_dict(state)
        except Exception as e:
            raise BackendUnavailable(f"{self.ckpt} does not fit ERes2NetV2(w24 s4 ep4): {e}")\
                from None
        return model.eval()


__all__ = ["CKPT_RELPATH", "CODE_RELDIR", "GptSovitsBackend", "load_eres2netv2_class"]
