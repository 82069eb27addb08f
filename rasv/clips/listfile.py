"""Reading and writing GPT-SoVITS ``.list`` files (``audio_path|speaker|language|text``).

What real lists look like: UTF-8 with or without a BOM, UTF-16 from some Windows editors,
GBK/GB18030 from older Chinese tools, CRLF line ends, blank lines, Windows paths used on
Linux or Colab, relative paths, upper-case language codes, and ``|`` inside the transcript
(GPT-SoVITS's own reader silently drops such lines; rasv keeps the rest as text).

Example:
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.list")
    >>> _ = open(p, "w", encoding="utf-8").write("a.wav|spk|ZH|你好|世界\\n\\nbad line\\n")
    >>> parsed = parse_list(p)
    >>> [(e.line_no, e.lang, e.text) for e in parsed.entries]
    [(1, 'zh', '你好|世界')]
    >>> parsed.problems
    [(3, 'expected 4 fields audio_path|speaker|language|text, found 1')]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from rasv.errors import InvalidInput, ListFormatError
from rasv.langs import base_lang, normalize_lang


@dataclass(frozen=True)
class ListEntry:
    """One well-formed line of a ``.list`` file (language already normalised).

    Example:
        >>> ListEntry(1, "a.wav", "spk", "zh", "你好").line_no
        1
    """

    line_no: int
    path: str
    speaker: str
    lang: str
    text: str


@dataclass(frozen=True)
class ParsedList:
    """The result of :func:`parse_list`: good entries, bad lines and the encoding used."""

    path: Path
    encoding: str
    entries: list[ListEntry] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """Decode list-file bytes: BOMs first, then UTF-8, UTF-16 without BOM, then GB18030.

    Returns ``(text, encoding name)``.

    Raises:
        InvalidInput: when no encoding fits (not a text file).

    Example:
        >>> decode("你好".encode("gbk"))
        ('你好', 'gb18030')
        >>> decode(b"\\xef\\xbb\\xbfok")
        ('ok', 'utf-8-sig')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-16 without a BOM: ASCII-heavy text has a NUL in every other byte.
    if len(data) >= 4:
        even, odd = data[0::2], data[1::2]
        for zeros, enc in ((odd, "utf-16-le"), (even, "utf-16-be")):
            if zeros.count(0) > 0.3 * len(zeros):
                try:
                    return data.decode(enc), enc
                except UnicodeDecodeError:
                    pass
    if b"\x00" not in data:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    raise InvalidInput("not a text file in UTF-8, UTF-16 or GBK/GB18030")


def parse_list(path: str | os.PathLike) -> ParsedList:
    """Parse a ``.list`` file into entries and ``(line_no, reason)`` problems.

    Line numbers are 1-based physical lines (``\\r\\n``, ``\\n`` and a lone ``\\r`` each end
    a line). Blank lines are ignored. A ``|`` inside the transcript stays text.

    Raises:
        ListFormatError: the file cannot be read or decoded (a bad line never raises).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "b.list")
        >>> _ = open(p, "wb").write("x.wav|s|JP|こんにちは\\r\\n".encode("utf-16"))
        >>> parse_list(p).entries[0].lang
        'ja'
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ListFormatError(p, "file not found") from None
    except OSError as e:
        raise ListFormatError(p, f"cannot read the file: {e.strerror or e}") from None
    try:
        text, encoding = decode(data)
    except InvalidInput as e:
        raise ListFormatError(p, str(e)) from None
    out = ParsedList(path=p, encoding=encoding)
    for no, raw in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        parts = line.split("|", 3)
        if len(parts) < 4:
            out.problems.append(
                (no, f"expected 4 fields audio_path|speaker|language|text, found {len(parts)}")
            )
            continue
        audio, speaker, lang, transcript = (s.strip() for s in parts)
        audio = clean_path_text(audio)
        if not audio:
            out.problems.append((no, "empty audio path"))
            continue
        try:
            code = normalize_lang(lang)
        except InvalidInput:
            out.problems.append((no, f"unknown language {lang!r}"))
            continue
        out.entries.append(ListEntry(no, audio, speaker, code, transcript))
    return out


def clean_path_text(text: str) -> str:
    """Strip quotes, spaces and invisible marks that copy-paste leaves around paths.

    Example:
        >>> clean_path_text('\\u202a"D:\\\\a.wav" ')
        'D:\\\\a.wav'
    """
    return text.strip().strip("\u202a\u202b\u202c\u200e\u200f\ufeff").strip().strip("\"'").strip()


def _norm(p: str) -> str:
    return p.replace("\\", "/")


def is_windows_absolute(p: str) -> bool:
    """True for ``C:\\...``, ``C:/...`` and UNC ``\\\\server\\share`` paths.

    Example:
        >>> is_windows_absolute("D:\\\\x.wav"), is_windows_absolute("/data/x.wav")
        (True, False)
    """
    return bool(re.match(r"^[A-Za-z]:[\\/]", p)) or p.startswith("\\\\")


def resolve_audio_path(
    raw: str,
    list_dir: Path,
    path_map: Mapping[str, str] | None = None,
    audio_dir: str | os.PathLike | None = None,
) -> Path:
    """Turn a path written in a list into a path on this machine.

    Order: ``audio_dir`` (GPT-SoVITS's training rule: keep only the file name and join it to
    that folder) wins; otherwise the longest matching ``path_map`` prefix is replaced
    (separators and, for Windows-style prefixes, letter case are ignored when matching); a
    relative result is resolved against the list's folder.

    Example:
        >>> resolve_audio_path("D:\\\\GSV\\\\out\\\\a.wav", Path("/l"),
        ...                    {"d:/gsv/": "/data/gsv/"}).as_posix()
        '/data/gsv/out/a.wav'
        >>> resolve_audio_path("sub/b.wav", Path("/lists")).as_posix()
        '/lists/sub/b.wav'
    """
    if audio_dir is not None:
        return Path(audio_dir) / _basename(raw)
    norm = _norm(raw)
    if path_map:
        best: tuple[int, str] | None = None
        for src, dst in path_map.items():
            key = _norm(str(src))
            windowsish = is_windows_absolute(str(src)) or is_windows_absolute(raw)
            hay, needle = (norm.lower(), key.lower()) if windowsish else (norm, key)
            if needle and hay.startswith(needle):
                boundary = len(needle) == len(hay) or needle.endswith("/") or hay[len(needle)] == "/"
                if boundary and (best is None or len(needle) > best[0]):
                    best = (len(needle), str(dst))
        if best is not None:
            rest = norm[best[0]:].lstrip("/")
            target = _norm(best[1]).rstrip("/")
            norm = f"{target}/{rest}" if rest else target
    if is_windows_absolute(norm) and os.name != "nt":
        # A Windows path on Linux/Colab that no mapping covered: keep it as written so the
        # caller can say "not found" with a hint about path_map.
        return Path(norm)
    p = Path(norm)
    return p if p.is_absolute() else (list_dir / p)


def _basename(raw: str) -> str:
    return PureWindowsPath(raw).name if "\\" in raw else PurePosixPath(raw).name


def list_lang(code: str) -> str:
    """The language field GPT-SoVITS training accepts for an API code (upper case).

    Training reads ZH, JA, EN, KO and YUE; ``all_zh`` and ``zh`` both become ``ZH``.

    Example:
        >>> list_lang("all_ja"), list_lang("yue"), list_lang("auto")
        ('JA', 'YUE', 'AUTO')
    """
    return base_lang(code).upper()


__all__ = [
    "ListEntry",
    "ParsedList",
    "clean_path_text",
    "decode",
    "is_windows_absolute",
    "list_lang",
    "parse_list",
    "resolve_audio_path",
]
