"""The auxiliary ("fusion") reference pool shared by all roles.

GPT-SoVITS averages the timbre of auxiliary references with the main one
(``aux_ref_audio_paths``). The pool holds such clips once for every role: added from a role's
catalogue (sharing the stored file) or from any audio file.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("男-张三")
    >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "a.wav"), 4.0), text="你好")
    >>> [a.source_role for a in ws.aux.add_from_clips([c.id])]
    ['男-张三']
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.audio import files as audio_io
from rasv.errors import AuxClipNotFound, WorkspaceError
from rasv.ids import id_list
from rasv.langs import normalize_lang
from rasv.records import DEFAULT_CATEGORY, AuxClip
from rasv.store import check_editable, update_sql

if TYPE_CHECKING:
    from rasv.workspace import Workspace

_COLS = ("id, source_role, name, path, sha256, text, lang, category, duration_s, sample_rate,"
         " remark, source_clip_id")
_EDITABLE = {"name", "text", "lang", "category", "remark", "source_role"}


class AuxPool:
    """``ws.aux``: the shared pool of auxiliary reference clips."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def add_from_clips(self, clip_ids: Iterable[int]) -> list[AuxClip]:
        """Copy clips of any role into the pool (their stored audio is shared, not copied).

        A clip already in the pool (same audio) is returned as it is.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.aux.add_from_clips([])
            []
        """
        out: list[int] = []
        with self._ws.store.transaction() as cur:
            for cid in [int(i) for i in clip_ids]:
                clip = self._ws.clips.get(cid)
                role = self._ws.roles.get(clip.role_id)
                have = cur.execute("SELECT id FROM aux_clips WHERE sha256 = ?",
                                   [clip.sha256]).fetchall()
                if have:
                    out.append(have[0][0])
                    continue
                row = cur.execute(
                    "INSERT INTO aux_clips(source_role, name, path, sha256, text, lang, category,"
                    " duration_s, sample_rate, remark, source_clip_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [role.label, clip.name, clip.path, clip.sha256, clip.text, clip.lang,
                     clip.category, clip.duration_s, clip.sample_rate, clip.remark, clip.id],
                ).fetchall()
                out.append(row[0][0])
        return [self.get(i) for i in out]

    def add(self, path: str | os.PathLike, *, text: str = "", lang: str = "zh",
            name: str | None = None, category: str = DEFAULT_CATEGORY, source_role: str = "",
            remark: str = "") -> AuxClip:
        """Add an audio file to the pool (copied into the workspace).

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> a = ws.aux.add(make_clip(os.path.join(ws.root, "b.wav"), 3.0), text="hi",
            ...                lang="en", source_role="女-小红")
            >>> a.lang, a.name
            ('en', 'b.wav')
        """
        src = Path(path)
        info = audio_io.info(src)
        code = normalize_lang(lang)
        try:
            digest, rel, created = self._ws.blobs.put(src)
        except OSError as e:
            raise WorkspaceError(f"cannot copy {src} into the workspace: {e.strerror or e}") from None
        try:
            with self._ws.store.transaction() as cur:
                have = cur.execute("SELECT id FROM aux_clips WHERE sha256 = ?", [digest]).fetchall()
                if have:
                    return self.get(have[0][0])
                row = cur.execute(
                    "INSERT INTO aux_clips(source_role, name, path, sha256, text, lang, category,"
                    " duration_s, sample_rate, remark) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " RETURNING id",
                    [str(source_role), name or src.name, rel, digest, str(text), code,
                     (category or DEFAULT_CATEGORY).strip() or DEFAULT_CATEGORY,
                     info.duration_s, info.sample_rate, str(remark)],
                ).fetchall()
        except BaseException:
            if created:
                self._ws.blobs.remove(rel)
            raise
        return self.get(row[0][0])

    def get(self, aux_id: int) -> AuxClip:
        """One pool clip by id.

        Raises:
            AuxClipNotFound: no such aux clip.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> a = ws.aux.add(make_clip(os.path.join(ws.root, "f.wav"), 3.0), text="融合。")
            >>> ws.aux.get(a.id).text
            '融合。'
        """
        return AuxClip(*self._ws.store.one_or_raise(
            f"SELECT {_COLS} FROM aux_clips WHERE id = ?", [int(aux_id)], AuxClipNotFound(aux_id)))

    def df(self, *, name: str | None = None, text: str | None = None,
           category: str | None = None, lang: str | None = None,
           source_role: str | None = None, ids: Iterable[int] | None = None) -> pd.DataFrame:
        """The pool as a DataFrame, filtered by substrings or values.

        Columns: id, source_role, name, path, text, lang, category, duration_s, sample_rate,
        remark, source_clip_id, sha256.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> len(ws.aux.df())
            0
        """
        clauses, params = ["true"], {}
        for col, value in (("name", name), ("text", text), ("source_role", source_role)):
            if value:
                clauses.append(f"{col} ILIKE '%' || ${col} || '%'")
                params[col] = value
        if category:
            clauses.append("category = $category")
            params["category"] = category
        if lang:
            clauses.append("lang = $lang")
            params["lang"] = normalize_lang(lang)
        if ids is not None:
            clauses.append("list_contains($ids, id)")
            params["ids"] = [int(i) for i in ids]
        return self._ws.store.df(
            f"SELECT {_COLS} FROM aux_clips WHERE {' AND '.join(clauses)} ORDER BY id", params)

    def update(self, aux_id: int, **fields: Any) -> AuxClip:
        """Change the metadata of a pool clip (name, text, lang, category, remark, source_role).

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> a = ws.aux.add(make_clip(os.path.join(ws.root, "c.wav"), 3.0))
            >>> ws.aux.update(a.id, remark="温柔").remark
            '温柔'
        """
        check_editable(fields, _EDITABLE)
        self.get(aux_id)
        values = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        if "lang" in values:
            values["lang"] = normalize_lang(values["lang"])
        if values:
            self._ws.store.rows(*update_sql("aux_clips", values, aux_id))
        return self.get(aux_id)

    def delete(self, aux_ids: int | Iterable[int]) -> int:
        """Remove clips from the pool; the stored audio goes once nothing references it.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> a = ws.aux.add(make_clip(os.path.join(ws.root, "d.wav"), 3.0))
            >>> ws.aux.delete(a.id)
            1
        """
        ids = id_list(aux_ids, "aux clip id")
        with self._ws.store.transaction() as cur:  # all or nothing: a bad id deletes none
            rows = cur.execute(
                "DELETE FROM aux_clips WHERE list_contains(?, id) RETURNING id, path",
                [ids]).fetchall()
            missing = set(ids) - {r[0] for r in rows}
            if missing:
                raise AuxClipNotFound(min(missing))
        self._ws.release_files({r[1] for r in rows})
        return len(rows)

    def abspath(self, aux_id: int) -> Path:
        """The absolute path of a pool clip's stored audio.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> a = ws.aux.add(make_clip(os.path.join(ws.root, "f.wav"), 3.0))
            >>> ws.aux.abspath(a.id).exists()
            True
        """
        return self._ws.abspath(self.get(aux_id).path)  # type: ignore[return-value]


__all__ = ["AuxPool"]
