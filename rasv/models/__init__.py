"""Checkpoints (``ws.models``): GPT ``.ckpt`` and SoVITS ``.pth`` files, sniffed without torch.

``checkpoints`` reads versions from file headers and names and finds weights in a GPT-SoVITS
folder; ``namespace`` (:class:`Models`) records them in the workspace.

Example:
    >>> from rasv.models import parse_name
    >>> parse_name("voice_e10_s200.pth")["epoch"]
    10
"""

from __future__ import annotations

from rasv.models.checkpoints import Checkpoint, discover, kind_of, parse_name, sniff
from rasv.models.namespace import Models

__all__ = [
    "Checkpoint",
    "Models",
    "discover",
    "kind_of",
    "parse_name",
    "sniff",
]
