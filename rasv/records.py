"""Frozen record types that the library hands back for single objects.

Collections come back as pandas DataFrames; single objects as these records. Records are
immutable snapshots: to change something, call the namespace's ``update`` and read it again.

Example:
    >>> r = Role(id=1, category="男性", name="张三")
    >>> r.label
    '男性-张三'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Category used when none is given (roles without a dash, clips without a category).
DEFAULT_CATEGORY = "default"


@dataclass(frozen=True)
class Role:
    """A voice being tuned, named ``category-name`` (e.g. ``男性-张三``).

    Example:
        >>> Role(2, "default", "alice").label
        'default-alice'
    """

    id: int
    category: str
    name: str
    created_at: datetime | None = None

    @property
    def label(self) -> str:
        """``category-name``, the form users type and see."""
        return f"{self.category}-{self.name}"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Clip:
    """One reference clip of a role's catalogue.

    ``path`` is workspace-relative (content-addressed under ``audio/clips``); ``valid`` is
    GPT-SoVITS's 3–10 s reference rule. Split clips carry ``parent_id`` and ``segments``
    (the regions of the parent, in seconds, joined in order).

    Example:
        >>> c = Clip(id=1, role_id=1, name="a.wav", path="audio/clips/ab/ab.wav", sha256="ab",
        ...          text="你好", lang="zh", category="default", duration_s=4.2,
        ...          sample_rate=32000, channels=1, valid=True)
        >>> c.valid, c.calibrated
        (True, False)
    """

    id: int
    role_id: int
    name: str
    path: str
    sha256: str
    text: str
    lang: str
    category: str
    duration_s: float
    sample_rate: int
    channels: int
    valid: bool
    calibrated: bool = False
    remark: str = ""
    source_path: str | None = None
    speaker: str | None = None
    parent_id: int | None = None
    segments: tuple[tuple[tuple[float, float], ...], ...] | tuple[tuple[float, float], ...] | None = None
    list_file: str | None = None
    list_line: int | None = None
    format: str | None = None
    size_bytes: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class ImportReport:
    """What a ``.list`` import did.

    ``skipped`` holds ``(line_no, reason)`` pairs with 1-based physical line numbers;
    ``added`` and ``overwritten`` hold clip ids; ``created_role`` is the label of the role
    the import created (``create_role=True``), None when it created none.

    Example:
        >>> rep = ImportReport(added=[1, 2], overwritten=[], skipped=[(3, "file not found")])
        >>> print(rep)
        added 2, overwritten 0, skipped 1
    """

    added: list[int] = field(default_factory=list)
    overwritten: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    renamed: list[int] = field(default_factory=list)
    list_file: str | None = None
    created_role: str | None = None

    def __str__(self) -> str:
        return (
            f"added {len(self.added)}, overwritten {len(self.overwritten)}, "
            f"skipped {len(self.skipped)}"
        )


@dataclass(frozen=True)
class TextItem:
    """One sentence or long text of the shared text library.

    Example:
        >>> TextItem(1, "daily", "zh", "你好。", False).long
        False
    """

    id: int
    category: str
    lang: str
    content: str
    long: bool = False
    source: str = "user"


@dataclass(frozen=True)
class AuxClip:
    """One clip of the shared auxiliary ("fusion") reference pool.

    Example:
        >>> AuxClip(1, "男性-张三", "a.wav", "audio/clips/ab/ab.wav", "ab", "", "zh",
        ...         "default", 3.5, 32000).duration_s
        3.5
    """

    id: int
    source_role: str
    name: str
    path: str
    sha256: str
    text: str
    lang: str
    category: str
    duration_s: float
    sample_rate: int
    remark: str = ""
    source_clip_id: int | None = None


@dataclass(frozen=True)
class Model:
    """A GPT (``.ckpt``) or SoVITS (``.pth``) checkpoint known to the workspace.

    ``path`` is where the user keeps it (checkpoints are not copied); ``sha256`` identifies
    the weights in take ids, so a renamed or moved file keeps its takes.

    Example:
        >>> Model(1, "sovits", "/w/x_e8_s96.pth", "x_e8_s96.pth", "ab", "v2ProPlus",
        ...       experiment="x", epoch=8, step=96).label
        'x e8 s96'
    """

    id: int
    kind: str
    path: str
    name: str
    sha256: str
    version: str | None = None
    experiment: str | None = None
    epoch: int | None = None
    step: int | None = None
    lora_rank: int | None = None
    pretrained: bool = False
    role_id: int | None = None
    size_bytes: int | None = None
    custom_label: str = ""

    @property
    def label(self) -> str:
        """A short human label: the user's label, else :func:`checkpoint_label`."""
        return self.custom_label or checkpoint_label(self.name, self.experiment, self.epoch,
                                                     self.step, self.pretrained, self.version)


def checkpoint_label(name: str, experiment: str | None, epoch: int | None, step: int | None,
                     pretrained: bool = False, version: str | None = None) -> str:
    """A checkpoint's short label (``alice e8 s96``, ``pretrained v2``), registered or not.

    ``name`` stands in for a missing experiment: a registered :class:`Model` passes its file
    name, so a renamed ``final.ckpt`` and ``final.pth`` stay apart in the models table.

    Example:
        >>> checkpoint_label("alice_e8_s96.pth", "alice", 8, 96)
        'alice e8 s96'
        >>> checkpoint_label("final.ckpt", None, 3, None)
        'final.ckpt e3'
        >>> checkpoint_label("s2G2333k.pth", None, None, None, pretrained=True, version="v2")
        'pretrained v2'
    """
    if pretrained:
        return f"pretrained {version or ''}".strip()
    parts = [experiment or name]
    if epoch is not None:
        parts.append(f"e{epoch}")
    if step is not None:
        parts.append(f"s{step}")
    return " ".join(parts)


def row_to_dict(cursor_description: Any, row: tuple) -> dict[str, Any]:
    """Zip a DuckDB row with its cursor description into a dict.

    Example:
        >>> row_to_dict([("a",), ("b",)], (1, 2))
        {'a': 1, 'b': 2}
    """
    return {d[0]: v for d, v in zip(cursor_description, row, strict=True)}


__all__ = [
    "DEFAULT_CATEGORY",
    "AuxClip",
    "Clip",
    "ImportReport",
    "Model",
    "Role",
    "TextItem",
    "checkpoint_label",
    "row_to_dict",
]
