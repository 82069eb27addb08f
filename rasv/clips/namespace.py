"""The reference-clip catalogue of each role (``ws.clips``): add, list, edit, delete.

Importing a ``.list`` (:mod:`rasv.clips.importing`), exporting one (:mod:`rasv.clips.export`)
and categories (:mod:`rasv.clips.categories`) live beside it; :class:`Clips` is their front.

Clips are stored content-addressed under ``audio/clips`` (DESIGN §2), so one file is kept
once however often it is imported, and a path always names the same bytes. Writes happen in
two steps: files first (outside the database), then one short transaction; if anything fails
the files this call created are removed again, so nothing is left half-written.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import make_clip, write_list
    >>> d = tempfile.mkdtemp()
    >>> ws = rasv.open(os.path.join(d, "ws"))
    >>> role = ws.roles.create("男性-张三")
    >>> wav = make_clip(os.path.join(d, "a.wav"), 4.0)
    >>> lst = write_list(os.path.join(d, "x.list"), [(wav, "zs", "ZH", "你好。")])
    >>> rep = ws.clips.import_list(role, lst)
    >>> print(rep)
    added 1, overwritten 0, skipped 0
    >>> ws.clips.df(role)[["name", "lang", "valid"]].values.tolist()
    [['a.wav', 'zh', True]]
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.audio import files as audio_io
from rasv.clips import export, importing
from rasv.clips.categories import Categories, category_name, ensure_category
from rasv.clips.importing import ON_DUPLICATE
from rasv.clips.rows import (
    CLIP_COLS,
    PreparedClip,
    clip_from_row,
    insert_clips,
    is_valid_reference,
    numbered,
)
from rasv.errors import AlreadyExists, ClipNotFound, InvalidInput, WorkspaceError
from rasv.ids import id_list
from rasv.langs import normalize_lang
from rasv.records import Clip, ImportReport
from rasv.store import Condition, check_editable, one_or_many, update_sql, where_sql
from rasv.takes.orphans import drop_unused_takes

if TYPE_CHECKING:
    from rasv.roles.namespace import RoleRef
    from rasv.workspace import Workspace

_SORTABLE = {
    "id", "name", "text", "lang", "category", "duration_s", "sample_rate", "valid",
    "calibrated", "remark", "created_at", "score_max", "score_mean", "n_scores", "n_takes",
    "longtext_score_max",
}
def _text_or_empty(value: Any) -> str:
    return "" if value is None else str(value)


#: What :meth:`Clips.update` may change, and how each value is stored.
_EDITABLE: dict[str, Callable[[Any], Any]] = {
    "text": _text_or_empty, "lang": normalize_lang, "category": category_name,
    "remark": _text_or_empty, "calibrated": bool, "name": _text_or_empty,
}

#: The filters of :meth:`Clips.df`, ``count`` and ``ids``.
_FILTERS: dict[str, Condition] = {
    "text": ("c.text ILIKE '%' || $text || '%'", str),
    "name": ("c.name ILIKE '%' || $name || '%'", str),
    "category": ("list_contains($category, c.category)", one_or_many),
    "lang": ("list_contains($lang, c.lang)", lambda v: [normalize_lang(x) for x in one_or_many(v)]),
    "valid": ("c.valid = $valid", bool),
    "calibrated": ("c.calibrated = $calibrated", bool),
    "min_duration": ("c.duration_s >= $min_duration", float),
    "max_duration": ("c.duration_s <= $max_duration", float),
    "ids": ("list_contains($ids, c.id)", lambda v: [int(i) for i in v]),
    "parent_id": ("c.parent_id = $parent_id", int),
}


class Clips:
    """``ws.clips``: the reference-clip catalogue of each role."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self.categories = Categories(ws)

    # -- reading -----------------------------------------------------------------------------

    def get(self, clip_id: int) -> Clip:
        """One clip by id.

        Raises:
            ClipNotFound: no clip has this id.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().clips.get, 7)
            'ClipNotFound: clip 7 does not exist in this workspace'
        """
        return clip_from_row(self._ws.store.one_or_raise(
            f"SELECT {CLIP_COLS} FROM clips WHERE id = ?", [int(clip_id)], ClipNotFound(clip_id)))

    def abspath(self, clip_id: int) -> Path:
        """The absolute path of a clip's stored audio file.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "in.wav"), 3.2))
            >>> ws.clips.abspath(c.id).exists()
            True
        """
        path = self.get(clip_id).path
        return self._ws.abspath(path)  # type: ignore[return-value]

    def df(
        self,
        role: RoleRef,
        *,
        text: str | None = None,
        name: str | None = None,
        category: str | Iterable[str] | None = None,
        valid: bool | None = None,
        calibrated: bool | None = None,
        lang: str | Iterable[str] | None = None,
        min_duration: float | None = None,
        max_duration: float | None = None,
        ids: Iterable[int] | None = None,
        parent_id: int | None = None,
        sort: str = "-duration_s",
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """The clips of a role as a DataFrame, filtered, sorted and paged.

        Args:
            role: the role (record, id or label).
            text, name: case-insensitive substrings of the transcript / file name.
            category, lang: one value or several.
            valid: only clips inside (True) or outside (False) the 3–10 s rule.
            calibrated: only clips whose transcript a human checked (True) or not (False).
            min_duration, max_duration: duration range in seconds (inclusive).
            ids: only these clip ids.
            parent_id: only the sub-clips split from this clip.
            sort: a column name, ``-`` in front for descending (default ``-duration_s``,
                as RefAudioSelectorV2 lists them); ties break by id.
            limit, offset: paging.

        Columns: id, name, path (workspace-relative), text, lang, category, duration_s,
        sample_rate, channels, valid, calibrated, remark, parent_id, sha256, score_max,
        score_mean, n_scores (latest score per take, over the clip's takes), n_takes,
        longtext_score_max, created_at.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> list(ws.clips.df(r, valid=True).columns)[:4]
            ['id', 'name', 'path', 'text']
        """
        where, params = self._where(role, text=text, name=name, category=category, valid=valid,
                                    calibrated=calibrated, lang=lang, min_duration=min_duration,
                                    max_duration=max_duration, ids=ids, parent_id=parent_id)
        desc = sort.startswith("-")
        key = sort.lstrip("-+")
        if key not in _SORTABLE:
            raise InvalidInput(f"cannot sort clips by {key!r}; use one of {', '.join(sorted(_SORTABLE))}")
        order = f"{key} {'DESC' if desc else 'ASC'} NULLS LAST, id"
        page = ""
        if limit is not None:
            page = f" LIMIT {int(limit)} OFFSET {int(offset)}"
        elif offset:
            page = f" OFFSET {int(offset)}"
        from rasv.scores.namespace import clip_rollup_sql  # the one definition of the roll-up

        sql = f"""
            WITH per_clip AS ({clip_rollup_sql()}),
            base AS (
                SELECT c.id, c.name, c.path, c.text, c.lang, c.category, c.duration_s,
                       c.sample_rate, c.channels, c.valid, c.calibrated, c.remark, c.parent_id,
                       c.sha256, p.stars_max AS score_max, p.stars_mean AS score_mean,
                       coalesce(p.n_scores, 0) AS n_scores, coalesce(p.n_takes, 0) AS n_takes,
                       p.longtext_stars_max AS longtext_score_max, c.created_at
                FROM clips c LEFT JOIN per_clip p ON p.clip_id = c.id
                WHERE {where}
            )
            SELECT * FROM base ORDER BY {order}{page}
        """
        return self._ws.store.df(sql, params)

    def count(self, role: RoleRef, **filters: Any) -> int:
        """How many clips match the filters of :meth:`df` (for paging).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> ws.clips.count(r, valid=True)
            0
        """
        where, params = self._where(role, **filters)
        return int(self._ws.store.scalar(f"SELECT count(*) FROM clips c WHERE {where}", params))

    def ids(self, role: RoleRef, **filters: Any) -> list[int]:
        """The ids of the clips matching the filters of :meth:`df`, in id order.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> for i, s in enumerate([2.0, 4.0, 12.0]):
            ...     _ = ws.clips.add(r, make_clip(os.path.join(ws.root, f"{i}.wav"), s, seed=i))
            >>> ws.clips.ids(r, valid=True), ws.clips.ids(r, min_duration=3.0)
            ([2], [2, 3])
        """
        where, params = self._where(role, **filters)
        return [r[0] for r in self._ws.store.rows(
            f"SELECT id FROM clips c WHERE {where} ORDER BY id", params)]

    def _where(self, role: RoleRef, **filters: Any) -> tuple[str, dict[str, Any]]:
        return where_sql(_FILTERS, filters, "c.role_id = $role",
                         role=self._ws.roles.resolve_id(role))

    # -- adding ------------------------------------------------------------------------------

    def add(
        self,
        role: RoleRef,
        path: str | os.PathLike,
        *,
        text: str = "",
        lang: str = "zh",
        category: str | None = None,
        name: str | None = None,
        remark: str = "",
        calibrated: bool = False,
        on_duplicate: str = "error",
        parent_id: int | None = None,
        segments: Sequence[Sequence[tuple[float, float]]] | None = None,
    ) -> Clip:
        """Add one audio file to a role's catalogue (copied into the workspace).

        Args:
            role: the role.
            path: the audio file (WAV, FLAC, OGG, MP3; other formats need ffmpeg).
            text, lang: transcript and its language (``ZH``/``zh``/``all_zh``… normalised).
            category: defaults to ``default``; a new category is created.
            name: display name; defaults to the file name.
            on_duplicate: what to do when the role already has the same audio content:
                ``"error"`` (raise :class:`~rasv.AlreadyExists`), ``"skip"`` (return the
                existing clip) or ``"rename"`` (add it again under a numbered name).
            parent_id, segments: lineage of a clip split from another (see
                :func:`rasv.clips.split.split_clip`).

        Raises:
            AudioError: the file is missing or is not audio.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "b.wav"), 12.0),
            ...                  text="hello", lang="EN")
            >>> c.lang, c.valid, round(c.duration_s, 1)
            ('en', False, 12.0)
        """
        if on_duplicate not in ("error", "skip", "rename"):
            raise InvalidInput("on_duplicate must be 'error', 'skip' or 'rename'")
        role_id = self._ws.roles.resolve_id(role)
        src = Path(path)
        prep = self._prepare(src, name=name or src.name)
        prep.text, prep.lang = str(text), normalize_lang(lang)
        prep.category = category_name(category)
        prep.remark, prep.calibrated = str(remark), bool(calibrated)
        prep.parent_id = None if parent_id is None else int(parent_id)
        if segments is not None:
            prep.segments = json.dumps([[list(map(float, r)) for r in seg] for seg in segments])
        try:
            with self._ws.store.transaction() as cur:
                dup = cur.execute(
                    "SELECT id FROM clips WHERE role_id = ? AND sha256 = ? ORDER BY id LIMIT 1",
                    [role_id, prep.sha256],
                ).fetchall()
                if dup and on_duplicate == "error":
                    raise AlreadyExists(
                        f"clip {dup[0][0]} of this role has the same audio as {src}; "
                        "pass on_duplicate='skip' or 'rename'"
                    )
                if dup and on_duplicate == "skip":
                    existing = dup[0][0]
                    prep.created_blob = False  # the blob belongs to the existing clip
                else:
                    if dup:
                        taken = {r[0].lower() for r in cur.execute(
                            "SELECT name FROM clips WHERE role_id = ?", [role_id]).fetchall()}
                        prep.name = numbered(prep.name, taken)
                    existing = insert_clips(cur, role_id, [prep])[0]
                    ensure_category(cur, role_id, prep.category)
        except BaseException:
            if prep.created_blob:
                self._ws.blobs.remove(prep.path)
            raise
        return self.get(existing)

    def _prepare(self, src: Path, *, name: str, sha256: str | None = None) -> PreparedClip:
        """Read the header, hash and store the file; nothing touches the database."""
        info = audio_io.info(src)  # raises AudioError for missing / non-audio files
        try:
            digest, rel, created = self._ws.blobs.put(src, sha256=sha256)
        except OSError as e:
            raise WorkspaceError(f"cannot copy {src} into the workspace: {e.strerror or e}") from None
        return PreparedClip(
            name=name,
            source_path=str(src),
            path=rel,
            sha256=digest,
            info=info,
            size_bytes=src.stat().st_size,
            created_blob=created,
        )

    # -- import ------------------------------------------------------------------------------

    def import_list(
        self,
        role: RoleRef,
        list_path: str | os.PathLike,
        *,
        on_duplicate: str = "skip",
        path_map: Mapping[str, str] | None = None,
        audio_dir: str | os.PathLike | None = None,
        category: str | None = None,
        calibrated: bool = False,
        copy: bool = True,
        progress: Callable[[int, int], None] | None = None,
        create_role: bool = False,
    ) -> ImportReport:
        """Import a GPT-SoVITS ``.list`` file (``audio_path|speaker|language|text``).

        Every good line becomes a clip; every bad line is reported, never fatal:
        ``report.skipped`` lists ``(line_no, reason)`` with 1-based physical line numbers.
        The import is all-or-nothing with respect to failures that are not about one line
        (a full disk, an interrupted run): nothing is left behind then.

        Args:
            role: the role to import into.
            list_path: the ``.list`` file (UTF-8 with/without BOM, UTF-16, GBK/GB18030).
            on_duplicate: for a line whose audio content or file name the role already has
                (or an earlier line of the same list had): ``"skip"`` (default),
                ``"overwrite"`` (replace that clip's audio and fields, keeping its id) or
                ``"rename"`` (add it under a numbered name).
            path_map: prefix replacements for lists made elsewhere, e.g.
                ``{"D:/GPT-SoVITS/": "/content/GPT-SoVITS/"}`` (separators and the case of
                Windows prefixes are ignored when matching).
            audio_dir: like GPT-SoVITS's training form: use only each line's file name,
                joined to this folder.
            category: category for every imported clip (default ``default``).
            calibrated: mark every transcript as checked by a human.
            copy: copy the audio into the workspace (default). ``False`` keeps the files
                where they are and stores their absolute paths, for large datasets on a
                small disk; the files must then stay unchanged (takes are identified by the
                content hash taken at import).
            progress: called as ``progress(done, total)`` while files are read.
            create_role: when ``role`` is a label no role has, create that role, but only
                if a clip is added (``report.created_role``): an empty or fully skipped
                import leaves no empty role (nor category) behind.

        Raises:
            ListFormatError: the list file itself cannot be read or decoded.
            RoleNotFound: no such role (and not ``create_role``).

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip, write_list
            >>> d = tempfile.mkdtemp(); ws = rasv.open(os.path.join(d, "ws"))
            >>> r = ws.roles.create("a")
            >>> make_clip(os.path.join(d, "w", "a.wav"), 5.0) and None
            >>> lst = write_list(os.path.join(d, "l.list"),
            ...     ["D:\\\\data\\\\w\\\\a.wav|s|JA|こんにちは", "missing.wav|s|ZH|x"])
            >>> rep = ws.clips.import_list(r, lst, path_map={"D:/data/": d})
            >>> len(rep.added), rep.skipped[0][0]
            (1, 2)
        """
        return importing.import_list(self._ws, role, list_path, on_duplicate=on_duplicate,
                                     path_map=path_map, audio_dir=audio_dir,
                                     category=category, calibrated=calibrated, copy=copy,
                                     progress=progress, create_role=create_role)

    # -- editing -----------------------------------------------------------------------------

    def update(self, clip_id: int, **fields: Any) -> Clip:
        """Change a clip's text, lang, category, remark, calibrated flag or name.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "c.wav"), 4.0))
            >>> ws.clips.update(c.id, text="改好了", calibrated=True, category="温柔").category
            '温柔'
        """
        check_editable(fields, _EDITABLE)
        clip = self.get(clip_id)
        if "name" in fields and not str(fields["name"]).strip():
            raise InvalidInput("a clip name cannot be empty")
        values = {k: _EDITABLE[k](v) for k, v in fields.items()}
        if not values:
            return clip
        with self._ws.store.transaction() as cur:
            cur.execute(*update_sql("clips", values, clip.id))
            if "category" in values:
                ensure_category(cur, clip.role_id, values["category"])
        return self.get(clip.id)

    def update_many(self, clip_ids: Iterable[int], **fields: Any) -> int:
        """Apply the same change to several clips in one transaction; returns the count.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.clips.update_many([], calibrated=True)
            0
        """
        ids = [int(i) for i in clip_ids]
        with self._ws.store.transaction():
            for cid in ids:
                self.update(cid, **fields)
        return len(ids)

    def delete(self, clip_ids: int | Iterable[int]) -> int:
        """Delete clips. Their made takes and scores stay; takes not made yet leave the tasks.

        A task planned with a deleted clip then counts only what can still be made, so it
        can finish instead of failing on a reference that is gone.

        The stored audio is removed only when no other clip, aux clip or take still
        references it. Returns how many clips were deleted.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "d.wav"), 4.0))
            >>> ws.clips.delete(c.id), ws.clips.count(r)
            (1, 0)
        """
        ids = id_list(clip_ids)
        if not ids:
            return 0
        with self._ws.store.transaction() as cur:
            rows = cur.execute(
                "SELECT id, path FROM clips WHERE list_contains(?, id)", [ids]).fetchall()
            missing = set(ids) - {r[0] for r in rows}
            if missing:
                raise ClipNotFound(min(missing))
            _drop_unmade_takes(self._ws, cur, ids)
            cur.execute("DELETE FROM clips WHERE list_contains(?, id)", [ids])
        self._ws.release_files({r[1] for r in rows})
        return len(rows)

    # -- export ------------------------------------------------------------------------------

    def export_list(
        self,
        role: RoleRef,
        dest_dir: str | os.PathLike,
        ids: Iterable[int] | None = None,
        *,
        absolute: bool = False,
        zip: bool = False,  # noqa: A002 - the natural name for the user
        speaker: str | None = None,
        **filters: Any,
    ) -> Path:
        """Write a ``.list`` GPT-SoVITS accepts, with the audio copied beside it.

        Audio goes to ``<dest_dir>/audio/`` under safe, unique file names (Windows-safe);
        the list is ``<dest_dir>/<role>.list`` with paths relative to the list (or absolute
        with ``absolute=True``) and upper-case language codes as GPT-SoVITS's training reads
        them. ``ids`` or the filters of :meth:`df` choose the clips (default: all).
        With ``zip=True`` the folder is packed into ``<dest_dir>.zip`` and removed.

        Returns the path of the list file (or of the zip).

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> d = tempfile.mkdtemp(); ws = rasv.open(os.path.join(d, "ws"))
            >>> r = ws.roles.create("女-小红")
            >>> _ = ws.clips.add(r, make_clip(os.path.join(d, "a?.wav"), 4.0), text="好")
            >>> p = ws.clips.export_list(r, os.path.join(d, "out"))
            >>> p.name, p.read_text(encoding="utf-8").strip()
            ('女-小红.list', 'audio/a_.wav|小红|ZH|好')
        """
        role_rec = self._ws.roles.get(role)
        if ids is not None:
            filters["ids"] = list(ids)
        return export.export_clips(self._ws, role_rec, self.df(role_rec, sort="id", **filters),
                                   dest_dir, absolute=absolute, zip=zip, speaker=speaker)

    # -- splitting (rasv.clips.split does the work) ------------------------------------------------

    def split(self, clip_id: int, segments: Sequence[Sequence[tuple[float, float]]]) -> list[int]:
        """Cut a clip into new clips, each joining an ordered list of (start, end) regions.

        The parent stays as it is; each new clip links back to it, keeps its language and
        category and waits for its transcript. See :func:`rasv.clips.split.split_clip`.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "long.wav"), 12.0))
            >>> ids = ws.clips.split(c.id, [[(0.0, 3.5)], [(4.0, 6.0), (8.0, 10.0)]])
            >>> [(ws.clips.get(i).duration_s, ws.clips.get(i).parent_id) for i in ids]
            [(3.5, 1), (4.0, 1)]
        """
        from rasv.clips.split import split_clip

        return split_clip(self._ws, clip_id, segments)

    def suggest_cuts(self, clip_id: int, **options: Any) -> list[tuple[float, float]]:
        """Suggested 3–10 s pieces of a long clip, cut in silences.

        ``options`` are those of :func:`rasv.clips.split.suggest_cuts` (``min_s``, ``max_s``,
        ``min_silence_s``, ``backend``: ``"auto"``, ``"silero"`` or ``"rms"``).

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> from rasv.audio.files import write_wav
            >>> from rasv.testing import make_voice
            >>> write_wav(os.path.join(ws.root, "l.wav"),
            ...           make_voice(16.0, 16000, pause_every=12), 16000)
            >>> c = ws.clips.add(r, os.path.join(ws.root, "l.wav"))
            >>> pieces = ws.clips.suggest_cuts(c.id, backend="rms")
            >>> len(pieces) >= 1 and all(3.0 <= e - s <= 10.0 for s, e in pieces)
            True
        """
        from rasv.clips.split import suggest_cuts

        return suggest_cuts(self._ws, clip_id, **options)


# -- module helpers ----------------------------------------------------------------------------


def _drop_unmade_takes(ws: Workspace, cur: Any, clip_ids: list[int]) -> None:
    """Remove the pending, failed and cancelled takes of these clips from every plan."""
    # Long-text chunks keep theirs: a long-text run re-renders from its own configuration.
    unmade = [r[0] for r in cur.execute(
        "SELECT id FROM takes t WHERE list_contains(?, clip_id) "
        "AND status IN ('pending', 'failed', 'cancelled') "
        "AND NOT EXISTS (SELECT 1 FROM longtext_chunks c WHERE c.take_id = t.id)",
        [clip_ids]).fetchall()]
    if not unmade:
        return
    cur.execute("DELETE FROM task_takes WHERE list_contains(?, take_id)", [unmade])
    drop_unused_takes(ws, unmade)


__all__ = ["ON_DUPLICATE", "Categories", "Clips", "is_valid_reference"]
