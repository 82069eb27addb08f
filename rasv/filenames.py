"""File names that are safe on Windows, macOS and Linux, and unique within one export.

RefAudioSelectorV2 named exported audio after transcripts, which broke on Windows (``?``,
``:``) and collided. rasv cleans names and numbers collisions.

Example:
    >>> safe_filename('他说："好?"')
    '他说：_好__'
    >>> names = UniqueNames()
    >>> names.take("a.wav"), names.take("A.wav"), names.take("con.wav")
    ('a.wav', 'A_2.wav', '_con.wav')
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from rasv.errors import InvalidInput

_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {
    "con", "prn", "aux", "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}


def safe_filename(name: str, max_len: int = 120, fallback: str = "file") -> str:
    """Replace characters Windows forbids, trim trailing dots/spaces, avoid reserved names.

    The extension (if any) is kept; the stem is shortened to fit ``max_len`` characters.

    Example:
        >>> safe_filename("a/b\\\\c.wav"), safe_filename("  .wav"), safe_filename("nul.txt")
        ('a_b_c.wav', 'file.wav', '_nul.txt')
    """
    name = unicodedata.normalize("NFC", str(name)).strip()
    stem, dot, ext = name.rpartition(".")
    if not dot or not ext or len(ext) > 8 or _BAD.search(ext):
        stem, ext = name, ""
    stem = _BAD.sub("_", stem).strip().rstrip(". ")
    ext = ext.strip().lower()
    if not stem:
        stem = fallback
    if stem.split(".")[0].lower() in _RESERVED:
        stem = "_" + stem
    room = max_len - (len(ext) + 1 if ext else 0)
    stem = stem[: max(room, 1)].rstrip(". ") or fallback
    return f"{stem}.{ext}" if ext else stem


def export_target(dest: str | os.PathLike, suffixes: tuple[str, ...]) -> Path:
    """Check the file an export writes: not a folder, one of ``suffixes`` (``".zip"``).

    Raises:
        InvalidInput: ``dest`` is an existing folder or has another extension.

    Example:
        >>> export_target("out/pack.ZIP", (".zip",)).name
        'pack.ZIP'
        >>> try:
        ...     export_target("out/pack.tar", (".zip",))
        ... except InvalidInput as e:
        ...     print(e)
        the export file must end in .zip, got pack.tar
    """
    p = Path(dest)
    if p.is_dir():
        raise InvalidInput(f"{p} is a folder; give the file to write, e.g. {p / ('export' + suffixes[0])}")
    if p.suffix.lower() not in suffixes:
        raise InvalidInput(f"the export file must end in {' or '.join(suffixes)}, got {p.name}")
    return p


class UniqueNames:
    """Hands out safe names, numbering repeats case-insensitively (``a.wav``, ``a_2.wav``).

    Example:
        >>> u = UniqueNames()
        >>> [u.take("x.wav") for _ in range(3)]
        ['x.wav', 'x_2.wav', 'x_3.wav']
    """

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, name: str) -> str:
        base = safe_filename(name)
        stem, dot, ext = base.rpartition(".")
        if not dot:
            stem, ext = base, ""
        candidate, n = base, 1
        while candidate.lower() in self._used:
            n += 1
            candidate = f"{stem}_{n}.{ext}" if ext else f"{stem}_{n}"
        self._used.add(candidate.lower())
        return candidate


__all__ = ["UniqueNames", "export_target", "safe_filename"]
