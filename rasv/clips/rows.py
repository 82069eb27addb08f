"""Clip rows: reading a ``clips`` row into a :class:`Clip`, and inserting prepared clips.

Shared by the catalogue (``ws.clips.add``) and the ``.list`` import, which both store the
file first and then write rows in one short transaction.

Example:
    >>> numbered("a.wav", {"a.wav", "a_2.wav"})
    'a_3.wav'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rasv.audio import files as audio_io
from rasv.engine import reference_in_range
from rasv.records import DEFAULT_CATEGORY, Clip
from rasv.store import update_sql

#: The columns of a :class:`Clip`, in its field order.
#: The columns of a :class:`Clip` row, in the record's field order.
CLIP_COLS = (
    "id, role_id, name, path, sha256, text, lang, category, duration_s, sample_rate, channels,"
    " valid, calibrated, remark, source_path, speaker, parent_id, segments, list_file,"
    " list_line, format, size_bytes, created_at"
)


def is_valid_reference(duration_s: float) -> bool:
    """GPT-SoVITS's reference rule: 3.0 s ≤ duration ≤ 10.0 s, inclusive.

    Example:
        >>> is_valid_reference(3.0), is_valid_reference(10.0001), is_valid_reference(2.99)
        (True, False, False)
    """
    return reference_in_range(duration_s)


def clip_from_row(row: Sequence[Any]) -> Clip:
    """A :class:`Clip` from a row of :data:`CLIP_COLS`."""
    d = dict(zip([c.strip() for c in CLIP_COLS.split(",")], row, strict=True))
    segments = d.pop("segments")
    if segments:
        d["segments"] = tuple(tuple(tuple(r) for r in seg) for seg in json.loads(segments))
    return Clip(**d)


@dataclass
class PreparedClip:
    """A clip ready to insert: its file is already in the blob store."""

    name: str
    source_path: str | None
    path: str
    sha256: str
    info: audio_io.AudioInfo
    size_bytes: int
    created_blob: bool
    text: str = ""
    lang: str = "zh"
    category: str = DEFAULT_CATEGORY
    calibrated: bool = False
    remark: str = ""
    speaker: str | None = None
    parent_id: int | None = None
    segments: str | None = None
    list_file: str | None = None
    list_line: int | None = None

    def row(self, role_id: int) -> dict[str, Any]:
        """The ``clips`` columns of this clip for ``role_id``."""
        return {
            "role_id": role_id,
            "name": self.name,
            "source_path": self.source_path,
            "path": self.path,
            "sha256": self.sha256,
            "text": self.text,
            "lang": self.lang,
            "category": self.category,
            "duration_s": self.info.duration_s,
            "sample_rate": self.info.sample_rate,
            "channels": self.info.channels,
            "frames": self.info.frames,
            "format": self.info.format,
            "size_bytes": self.size_bytes,
            "valid": is_valid_reference(self.info.duration_s),
            "calibrated": bool(self.calibrated),
            "remark": self.remark,
            "speaker": self.speaker,
            "parent_id": self.parent_id,
            "segments": self.segments,
            "list_file": self.list_file,
            "list_line": self.list_line,
        }


_INSERT_COLS = list(PreparedClip("", None, "", "", audio_io.AudioInfo(0, 1, 1, 0, ""), 0,
                                  False).row(0).keys())


def numbered(name: str, taken: set[str]) -> str:
    """``name`` with the first free ``_2``, ``_3``… suffix; the new name joins ``taken``."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem}_{n}.{ext}" if ext else f"{stem}_{n}"
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
        n += 1


def insert_clips(cur: Any, role_id: int, preps: list[PreparedClip]) -> list[int]:
    """Insert prepared clips in one statement (a DataFrame scan); return their ids in order."""
    frame = pd.DataFrame([p.row(role_id) for p in preps], columns=_INSERT_COLS)
    frame["_ord"] = range(len(frame))
    cols = ", ".join(_INSERT_COLS)
    cur.register("_new_clips", frame)
    try:
        ids = cur.execute(
            f"INSERT INTO clips({cols}) SELECT {cols} FROM _new_clips ORDER BY _ord RETURNING id"
        ).fetchall()
    finally:
        cur.unregister("_new_clips")
    # RETURNING gives insertion order, which follows ORDER BY _ord.
    return sorted(r[0] for r in ids)


def overwrite_clip(cur: Any, clip_id: int, prep: PreparedClip) -> None:
    """Replace a clip's audio and fields by ``prep``'s, keeping its id and name."""
    row = prep.row(0)
    row.pop("role_id")
    row.pop("name")  # the clip keeps its name and id; its audio and fields are replaced
    cur.execute(*update_sql("clips", row, clip_id))


__all__ = [
    "CLIP_COLS",
    "PreparedClip",
    "clip_from_row",
    "insert_clips",
    "is_valid_reference",
    "numbered",
    "overwrite_clip",
]
