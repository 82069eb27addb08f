"""Exporting a role's clips as a ``.list`` GPT-SoVITS accepts (``ws.clips.export_list``).

Example:
    >>> export_name("a", "audio/clips/ab/abcd.wav")
    'a.wav'
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from rasv.audio import files as audio_io
from rasv.clips.listfile import list_lang
from rasv.errors import InvalidInput
from rasv.filenames import UniqueNames, safe_filename

if TYPE_CHECKING:
    import pandas as pd

    from rasv.records import Role
    from rasv.workspace import Workspace


def export_clips(
    ws: Workspace,
    role: Role,
    clips: pd.DataFrame,
    dest_dir: str | os.PathLike,
    *,
    absolute: bool = False,
    zip: bool = False,  # noqa: A002 - the natural name for the user
    speaker: str | None = None,
) -> Path:
    """Write ``clips`` (rows of :meth:`Clips.df`) of ``role`` as a ``.list`` in ``dest_dir``.

    :meth:`Clips.export_list` chooses the clips and documents the options; this writes them.

    Example:
        >>> import rasv, tempfile, os
        >>> d = tempfile.mkdtemp(); ws = rasv.open(os.path.join(d, "ws"))
        >>> r = ws.roles.create("a")
        >>> export_clips(ws, r, ws.clips.df(r), os.path.join(d, "out")).read_text()
        ''
    """
    dest = Path(dest_dir)
    if dest.exists() and not dest.is_dir():
        raise InvalidInput(f"{dest} is a file; export_list writes into a folder")
    if zip and dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"{dest} is not empty; zip export needs a new folder name")
    audio_dir = dest / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    names = UniqueNames()
    on_disk = {p.name.lower(): p for p in audio_dir.iterdir()}
    spk = speaker or role.name
    lines = []
    for row in clips.itertuples(index=False):
        src = ws.abspath(row.path)
        want = export_name(row.name, row.path)
        fname = names.take(want)
        # A file an earlier export left under this name is reused when it holds the same
        # audio (exporting again after fixing transcripts copies nothing), else skipped.
        while fname.lower() in on_disk and not same_bytes(on_disk[fname.lower()], src):
            fname = names.take(want)
        target = audio_dir / fname
        if not target.exists():
            shutil.copyfile(src, target)
        ref = str(target.resolve()) if absolute else f"audio/{fname}"
        # GPT-SoVITS's reader drops a line with a fifth field, so a '|' in the text
        # becomes the full-width '｜'; line breaks would split the line.
        text = " ".join(str(row.text).split("\n")).replace("\r", " ").replace("|", "｜")
        lines.append(f"{ref}|{spk}|{list_lang(row.lang)}|{text}")
    list_path = dest / f"{safe_filename(role.label)}.list"
    audio_io.write_bytes_atomic(list_path, ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))
    if not zip:
        return list_path
    zip_path = dest.with_suffix(".zip") if dest.suffix != ".zip" else dest
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=zip_path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for f in sorted(dest.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(dest).as_posix())
        os.replace(tmp, zip_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    shutil.rmtree(dest)
    return zip_path


def same_bytes(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes (False if either cannot be read)."""
    try:
        return a.stat().st_size == b.stat().st_size and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def export_name(name: str, stored: str) -> str:
    """A clip's export file name: its name, with the stored file's extension if it has none."""
    ext = Path(stored).suffix
    if not Path(name).suffix and ext:
        return f"{name}{ext}"
    return name


__all__ = ["export_clips", "export_name", "same_bytes"]
