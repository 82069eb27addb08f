"""Importing a GPT-SoVITS ``.list`` file into a role's catalogue (``ws.clips.import_list``).

Every good line becomes a clip, every bad line is reported; failures that are not about one
line leave nothing behind (the files this import stored are removed again).

Example:
    >>> ON_DUPLICATE
    ('skip', 'overwrite', 'rename')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING

from rasv.audio import files as audio_io
from rasv.clips.categories import category_name, ensure_category
from rasv.clips.listfile import is_windows_absolute, parse_list, resolve_audio_path
from rasv.clips.rows import PreparedClip, insert_clips, numbered, overwrite_clip
from rasv.errors import AudioError, InvalidInput, RoleNotFound, WorkspaceError
from rasv.records import ImportReport

if TYPE_CHECKING:
    from rasv.roles.namespace import RoleRef
    from rasv.workspace import Workspace

#: What ``import_list`` does with a line whose audio or file name the role already has.
ON_DUPLICATE = ("skip", "overwrite", "rename")


def import_list(
    ws: Workspace,
    role: RoleRef,
    list_path: str | os.PathLike,
    *,
    on_duplicate: str,
    path_map: Mapping[str, str] | None,
    audio_dir: str | os.PathLike | None,
    category: str | None,
    calibrated: bool,
    copy: bool,
    progress: Callable[[int, int], None] | None,
    create_role: bool,
) -> ImportReport:
    """Import a ``.list`` file into ``ws`` as :meth:`Clips.import_list` documents.

    Every option is required here: their defaults (and their documentation) are written once,
    on :meth:`Clips.import_list`, the one caller.

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import write_list
        >>> d = tempfile.mkdtemp(); ws = rasv.open(os.path.join(d, "ws"))
        >>> lst = write_list(os.path.join(d, "l.list"), ["missing.wav|s|ZH|x"])
        >>> import_list(ws, ws.roles.create("a"), lst, on_duplicate="skip", path_map=None,
        ...             audio_dir=None, category=None, calibrated=False, copy=True,
        ...             progress=None, create_role=False).skipped
        [(1, 'audio file not found: ...missing.wav')]
    """
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidInput(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}")
    try:
        role_id: int | None = ws.roles.resolve_id(role)
    except RoleNotFound:
        if not create_role or not isinstance(role, str):
            raise
        role_id = None  # created below, and only if a clip is added
    parsed = parse_list(list_path)
    list_dir = parsed.path.resolve().parent
    cat = category_name(category)
    skipped: list[tuple[int, str]] = list(parsed.problems)
    existing = [] if role_id is None else ws.store.rows(
        "SELECT id, name, sha256, path FROM clips WHERE role_id = ?", [role_id])
    by_sha = {r[2]: r[0] for r in existing}
    by_name = {r[1].lower(): r[0] for r in existing}
    path_of = {r[0]: r[3] for r in existing}
    taken_names = set(by_name)

    new: list[PreparedClip] = []
    updates: list[tuple[int, PreparedClip]] = []
    created: list[str] = []
    seen_sha: dict[str, int] = {}   # sha -> line of this list
    seen_name: dict[str, int] = {}
    total = len(parsed.entries)
    made_role = None
    try:
        for done, entry in enumerate(parsed.entries, start=1):
            if progress is not None:
                progress(done - 1, total)
            src = resolve_audio_path(entry.path, list_dir, path_map, audio_dir)
            if not src.is_file():
                reason = f"audio file not found: {src}"
                if is_windows_absolute(entry.path) and os.name != "nt" and not path_map:
                    folder = str(PureWindowsPath(entry.path).parent).replace("\\", "/")
                    reason += (f" (a Windows path: map {folder}/ to the folder that holds "
                               "the files now with path_map / --path-map, or give "
                               "audio_dir / --audio-dir)")
                skipped.append((entry.line_no, reason))
                continue
            name = src.name
            key = name.lower()
            name_dup = by_name.get(key)
            if key in seen_name and on_duplicate != "rename":
                skipped.append((entry.line_no, f"same file name as line {seen_name[key]}"))
                continue
            if name_dup is not None and on_duplicate == "skip":
                skipped.append((entry.line_no, f"clip {name_dup} has the same file name"))
                continue
            try:
                info = audio_io.info(src)
            except AudioError as e:
                skipped.append((entry.line_no, str(e)))
                continue
            digest = audio_io.sha256_file(src)
            sha_dup = by_sha.get(digest)
            if (digest in seen_sha and on_duplicate != "rename") or (
                    sha_dup is not None and on_duplicate == "skip"):
                where = (f"line {seen_sha[digest]}" if digest in seen_sha
                         else f"clip {sha_dup}")
                skipped.append((entry.line_no, f"same audio as {where}"))
                continue
            try:
                # Hash, then copy with the kernel's copy: measured faster than hashing
                # while copying through Python (bench/bench_import.py).
                if copy:
                    _, rel, made = ws.blobs.put(src, sha256=digest)
                else:
                    rel, made = str(src.resolve()), False
            except OSError as e:
                raise WorkspaceError(
                    f"import stopped at line {entry.line_no}: cannot copy {src}: "
                    f"{e.strerror or e}; nothing was imported"
                ) from None
            if made:
                created.append(rel)
            target = name_dup if name_dup is not None else sha_dup
            prep = PreparedClip(
                name=name, source_path=str(src), path=rel, sha256=digest, info=info,
                size_bytes=src.stat().st_size, created_blob=made, text=entry.text,
                lang=entry.lang, category=cat, calibrated=calibrated,
                speaker=entry.speaker or None, list_file=str(parsed.path.resolve()),
                list_line=entry.line_no,
            )
            seen_sha.setdefault(digest, entry.line_no)
            seen_name.setdefault(key, entry.line_no)
            if target is not None and on_duplicate == "overwrite":
                updates.append((target, prep))
            else:
                if target is not None or key in taken_names:
                    prep.name = numbered(name, taken_names)
                taken_names.add(prep.name.lower())
                new.append(prep)
        if progress is not None:
            progress(total, total)
        added: list[int] = []
        # An import that adds nothing changes nothing: no role, no category.
        if new or updates:
            if role_id is None:
                made_role = ws.roles.create(str(role))
                role_id = made_role.id
            with ws.store.transaction() as cur:
                added = insert_clips(cur, role_id, new) if new else []
                for clip_id, prep in updates:
                    overwrite_clip(cur, clip_id, prep)
                ensure_category(cur, role_id, cat)
    except BaseException:
        for rel in created:
            ws.blobs.remove(rel)
        if made_role is not None:
            ws.roles.delete(made_role)
        raise
    replaced = {path_of[cid] for cid, prep in updates if path_of.get(cid) != prep.path}
    if replaced:
        ws.release_files(replaced)
    return ImportReport(
        added=added,
        overwritten=[cid for cid, _ in updates],
        skipped=sorted(skipped),
        renamed=[cid for cid, p in zip(added, new, strict=True) if p.name != Path(p.source_path or "").name],
        list_file=str(parsed.path),
        created_role=made_role.label if made_role is not None else None,
    )


__all__ = ["ON_DUPLICATE", "import_list"]
