"""GPT-SoVITS checkpoints without torch: version sniffing, file-name parsing, discovery.

A SoVITS ``.pth`` reveals its version the way GPT-SoVITS itself reads it
(``research/gsv-bridge.md`` §3): the MD5 of its first 8 KiB against the pretrained bases,
else a two-byte tag that the trainer writes over the zip's ``PK``, else (old plain zips) its
size. GPT ``.ckpt`` files carry no tag; their phoneme vocabulary (512 = v1, 732 = v2 and
later) and the ``info`` string are read by walking the pickle inside the zip without running
it. Experiment, epoch, step and LoRA rank are parsed from the *end* of the file name, because
experiment names are free text.

Example:
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "alice_e8_s96.pth")
    >>> _ = open(p, "wb").write(b"06" + bytes(20000))
    >>> ck = sniff(p)
    >>> ck.kind, ck.version, ck.experiment, ck.epoch, ck.step, ck.pretrained
    ('sovits', 'v2ProPlus', 'alice', 8, 96, False)
"""

from __future__ import annotations

import hashlib
import io
import os
import pickletools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from rasv.audio.files import sha256_file
from rasv.errors import CheckpointError
from rasv.records import checkpoint_label

GPT_EXT = ".ckpt"
SOVITS_EXT = ".pth"

#: MD5 of the first 8192 bytes of GPT-SoVITS's pretrained SoVITS bases → (version, file name).
#: The v1 base ``s2G488k`` is listed as v2 in GPT-SoVITS's table and corrected to v1 after
#: loading (its embedding has v1's 322 symbols); we know the file, so we say v1 directly.
PRETRAINED_SOVITS_MD5: dict[str, tuple[str, str]] = {
    "dc3c97e17592963677a4a1681f30c653": ("v1", "s2G488k.pth"),
    "6642b37f3dbb1f76882b69937c95a5f3": ("v2", "s2G2333k.pth"),
    "43797be674a37c1c83ee81081941ed0f": ("v3", "s2Gv3.pth"),
    "4f26b9476d0c5033e04162c486074374": ("v4", "s2Gv4.pth"),
    "c7e9fce2223f3db685cdfa1e6368728a": ("v2Pro", "s2Gv2Pro.pth"),
    "66b313e39455b57ab1b0bc0b239c9d0a": ("v2ProPlus", "s2Gv2ProPlus.pth"),
}

#: The two-byte tags GPT-SoVITS's trainer writes over ``PK`` → (version, is LoRA).
SOVITS_HEADER_TAGS: dict[bytes, tuple[str, bool]] = {
    b"00": ("v1", False),
    b"01": ("v2", False),
    b"02": ("v3", False),
    b"03": ("v3", True),
    b"04": ("v4", True),
    b"05": ("v2Pro", False),
    b"06": ("v2ProPlus", False),
}

#: Pretrained base files by name (relative to ``GPT_SoVITS/pretrained_models``) → version.
PRETRAINED_FILES: dict[str, tuple[str, str]] = {
    "s1bert25hz-2kh-longer-epoch=68e-step=50232.ckpt": ("gpt", "v1"),
    "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt": ("gpt", "v2"),
    "s1v3.ckpt": ("gpt", "v3"),
    "s2G488k.pth": ("sovits", "v1"),
    "gsv-v2final-pretrained/s2G2333k.pth": ("sovits", "v2"),
    "s2Gv3.pth": ("sovits", "v3"),
    "gsv-v4-pretrained/s2Gv4.pth": ("sovits", "v4"),
    "v2Pro/s2Gv2Pro.pth": ("sovits", "v2Pro"),
    "v2Pro/s2Gv2ProPlus.pth": ("sovits", "v2ProPlus"),
}
_PRETRAINED_BY_NAME = {k.rsplit("/", 1)[-1]: v for k, v in PRETRAINED_FILES.items()}

#: Rows of a v1 SoVITS model's text embedding (its symbol count; v2 and later have 732).
V1_SYMBOLS = 322
_EMBEDDING_KEY = "enc_p.text_embedding.weight"

# GPT-SoVITS's size rule for untagged (plain zip) SoVITS files: a last resort.
_V1_MAX_BYTES = 82978 * 1024
_V2_MAX_BYTES = 700 * 1024 * 1024

_GPT_NAME = re.compile(r"^(?P<exp>.+)-e(?P<epoch>\d+)$")
_SOVITS_NAME = re.compile(r"^(?P<exp>.+)_e(?P<epoch>\d+)_s(?P<step>\d+)(?:_l(?P<rank>\d+))?$")
_WEIGHT_DIR = re.compile(r"^(GPT|SoVITS)_weights(?:_(?P<ver>v2ProPlus|v2Pro|v[1-4]))?$")
_GSV_VERSIONS = ("v1", "v2", "v2Pro", "v2ProPlus", "v3", "v4")
_PICKLE_MAX_BYTES = 32 << 20


@dataclass(frozen=True)
class Checkpoint:
    """What rasv knows about one checkpoint file, read without torch.

    ``version`` is the GPT-SoVITS model version (``v1`` … ``v2ProPlus``; for a GPT file the
    best available hint, ``None`` when unknown); ``version_source`` says how it was found:
    ``pretrained`` (MD5 of a known base), ``header`` (the trainer's tag), ``embedding`` (the
    text embedding's row count in an untagged SoVITS file, as GPT-SoVITS's loader decides),
    ``size`` (an untagged file that could not be read), ``config`` (read from the checkpoint),
    ``folder`` (a
    ``*_weights_vN`` folder name; GPT files only) or ``name`` (a pretrained file name).

    Example:
        >>> Checkpoint("/w/a-e5.ckpt", "a-e5.ckpt", "gpt", 10, 0.0, experiment="a",
        ...            epoch=5).label
        'a e5'
    """

    path: str
    name: str
    kind: str
    size_bytes: int
    mtime: float
    version: str | None = None
    version_source: str | None = None
    lora: bool = False
    lora_rank: int | None = None
    experiment: str | None = None
    epoch: int | None = None
    step: int | None = None
    pretrained: bool = False
    sha256: str | None = None

    @property
    def label(self) -> str:
        """A short human label (``alice e8 s96``, ``pretrained v2``): :func:`checkpoint_label`."""
        return checkpoint_label(Path(self.name).stem, self.experiment, self.epoch, self.step,
                                self.pretrained, self.version)

    def with_sha256(self) -> Checkpoint:
        """The same record with its streamed SHA-256 filled in."""
        return self if self.sha256 else replace(self, sha256=sha256_file(self.path))

    def as_dict(self) -> dict[str, Any]:
        """Fields as a plain dict (a DataFrame row)."""
        from dataclasses import asdict

        return asdict(self)


def kind_of(path: str | os.PathLike) -> str:
    """``gpt`` for ``.ckpt``, ``sovits`` for ``.pth``.

    Raises:
        CheckpointError: any other extension.

    Example:
        >>> kind_of("x.CKPT"), kind_of("y.pth")
        ('gpt', 'sovits')
    """
    ext = Path(path).suffix.lower()
    if ext == GPT_EXT:
        return "gpt"
    if ext == SOVITS_EXT:
        return "sovits"
    raise CheckpointError(
        f"{path} is not a GPT-SoVITS checkpoint: GPT weights end in .ckpt, SoVITS in .pth"
    )


def parse_name(name: str, kind: str | None = None) -> dict[str, Any]:
    """Parse experiment, epoch, step and LoRA rank from the end of a trained file's name.

    GPT files are ``<exp>-e<epoch>.ckpt``; SoVITS files ``<exp>_e<epoch>_s<step>.pth`` with
    ``_l<rank>`` for v3/v4 LoRA. Names that do not match (pretrained files, renamed files)
    give ``None`` values.

    Example:
        >>> parse_name("my_voice_e3_e10_s200_l32.pth")
        {'experiment': 'my_voice_e3', 'epoch': 10, 'step': 200, 'lora_rank': 32}
        >>> parse_name("voice-3-e15.ckpt")["epoch"]
        15
        >>> parse_name("s1bert25hz-2kh-longer-epoch=68e-step=50232.ckpt")["epoch"] is None
        True
    """
    p = Path(name)
    kind = kind or kind_of(p)
    stem = p.stem
    out: dict[str, Any] = {"experiment": None, "epoch": None, "step": None, "lora_rank": None}
    m = (_GPT_NAME if kind == "gpt" else _SOVITS_NAME).match(stem)
    if m:
        out["experiment"] = m.group("exp").rstrip()
        out["epoch"] = int(m.group("epoch"))
        if kind == "sovits":
            out["step"] = int(m.group("step"))
            if m.group("rank"):
                out["lora_rank"] = int(m.group("rank"))
    return out


def sniff_sovits_version(path: str | os.PathLike) -> tuple[str, str, bool]:
    """``(version, source, is_lora)`` of a SoVITS file, in GPT-SoVITS's own order.

    Raises:
        CheckpointError: the file is missing, too short, or has an unknown header.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.pth")
        >>> _ = open(p, "wb").write(b"04" + bytes(100))
        >>> sniff_sovits_version(p)
        ('v4', 'header', True)
    """
    head, md5, size = _head(path)
    if md5 in PRETRAINED_SOVITS_MD5:
        return PRETRAINED_SOVITS_MD5[md5][0], "pretrained", False
    tag = head[:2]
    if tag == b"PK":
        # GPT-SoVITS loads the file and counts the text embedding's rows (v1 has 322
        # symbols); the file size is only its first guess, wrong for pruned or small files.
        rows = _pickle_fields(Path(path)).get("text_embedding_rows")
        if isinstance(rows, int):
            return ("v1" if rows == V1_SYMBOLS else "v2"), "embedding", False
        if size < _V1_MAX_BYTES:
            return "v1", "size", False
        if size < _V2_MAX_BYTES:
            return "v2", "size", False
        return "v3", "size", False
    if tag in SOVITS_HEADER_TAGS:
        version, lora = SOVITS_HEADER_TAGS[tag]
        return version, "header", lora
    raise CheckpointError(
        f"{path} is not a GPT-SoVITS SoVITS checkpoint: it starts with {tag!r}, not a zip "
        "('PK') or a version tag ('00'-'06'); a newer GPT-SoVITS may have written it"
    )


def sniff(path: str | os.PathLike, *, with_sha256: bool = False) -> Checkpoint:
    """Read a checkpoint's kind, version and name fields without loading it.

    Args:
        path: a ``.ckpt`` (GPT) or ``.pth`` (SoVITS) file.
        with_sha256: also stream the whole file through SHA-256 (slow for big files).

    Raises:
        CheckpointError: missing file, wrong extension, or not a GPT-SoVITS checkpoint.

    Example:
        >>> import tempfile, os, zipfile, pickle
        >>> p = os.path.join(tempfile.mkdtemp(), "bob-e12.ckpt")
        >>> with zipfile.ZipFile(p, "w") as z:
        ...     z.writestr("archive/data.pkl", pickle.dumps(
        ...         {"config": {"model": {"phoneme_vocab_size": 512}}, "info": "GPT-e12"}))
        >>> ck = sniff(p)
        >>> ck.kind, ck.version, ck.version_source, ck.epoch
        ('gpt', 'v1', 'config', 12)
    """
    p = Path(path)
    kind = kind_of(p)
    try:
        st = p.stat()
    except OSError:
        raise CheckpointError(f"checkpoint not found: {p}") from None
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} is not a file")
    fields = parse_name(p.name, kind)
    pretrained_name = _PRETRAINED_BY_NAME.get(p.name)
    version: str | None = None
    source: str | None = None
    lora = fields["lora_rank"] is not None
    pretrained = False
    if kind == "sovits":
        version, source, tag_lora = sniff_sovits_version(p)
        lora = lora or tag_lora
        pretrained = source == "pretrained"
        if source in ("header", "size", "embedding"):
            meta = _pickle_fields(p)
            if fields["lora_rank"] is None and isinstance(meta.get("lora_rank"), int):
                fields["lora_rank"] = meta["lora_rank"]
                lora = True
            _fill_from_info(fields, meta.get("info"), kind)
    else:
        head, _, _ = _head(p)
        if head[:2] != b"PK" and head[:1] != b"\x80":
            raise CheckpointError(
                f"{p} is not a GPT-SoVITS GPT checkpoint (not a torch file: starts with "
                f"{head[:2]!r})"
            )
        meta = _pickle_fields(p) if head[:2] == b"PK" else {}
        vocab = meta.get("phoneme_vocab_size")
        if vocab == 512:
            version, source = "v1", "config"
        elif isinstance(vocab, int) and vocab > 512:
            version, source = "v2", "config"
        _fill_from_info(fields, meta.get("info"), kind)
        folder = _WEIGHT_DIR.match(p.parent.name)
        # A GPT file has no tag; a ``GPT_weights_v2Pro``-style folder refines a v2-family
        # reading (plain ``GPT_weights`` proves nothing: Colab drops every download there).
        if folder and folder.group("ver") not in (None, "v1") and version in (None, "v2"):
            version, source = folder.group("ver"), "folder"
    if pretrained_name and pretrained_name[0] == kind:
        pretrained = True
        if version is None or kind == "gpt":
            version, source = pretrained_name[1], "name"
    ck = Checkpoint(
        path=str(p),
        name=p.name,
        kind=kind,
        size_bytes=int(st.st_size),
        mtime=float(st.st_mtime),
        version=version,
        version_source=source,
        lora=lora,
        lora_rank=fields["lora_rank"],
        experiment=None if pretrained else fields["experiment"],
        epoch=None if pretrained else fields["epoch"],
        step=None if pretrained else fields["step"],
        pretrained=pretrained,
    )
    return ck.with_sha256() if with_sha256 else ck


def _fill_from_info(fields: dict[str, Any], info: Any, kind: str) -> None:
    """Fill epoch/step from the checkpoint's ``info`` when the file name did not have them."""
    if not isinstance(info, str):
        return
    if kind == "gpt":
        m = re.fullmatch(r"GPT-e(\d+)", info.strip())
        if m and fields["epoch"] is None:
            fields["epoch"] = int(m.group(1))
    else:
        m = re.fullmatch(r"(\d+)epoch_(\d+)iteration", info.strip())
        if m and fields["epoch"] is None:
            fields["epoch"], fields["step"] = int(m.group(1)), int(m.group(2))


def _head(path: str | os.PathLike) -> tuple[bytes, str, int]:
    """First 8 KiB, their MD5 (GPT-SoVITS's pretrained fingerprint) and the file size."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8192)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    if len(head) < 4:
        raise CheckpointError(f"{path} is too short ({size} bytes) to be a checkpoint")
    return head, hashlib.md5(head, usedforsecurity=False).hexdigest(), size


class _UntaggedFile(io.RawIOBase):
    """A read-only view of a file whose first two bytes read as ``PK``.

    GPT-SoVITS overwrites the zip signature with its version tag; undoing that in the view
    lets :mod:`zipfile` read the archive without copying the file.
    """

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, b: Any) -> int:
        pos = self._f.tell()
        data = self._f.read(len(b))
        if pos < 2 and data:
            patched = bytearray(data)
            for i in range(pos, min(2, pos + len(data))):
                patched[i - pos] = b"PK"[i]
            data = bytes(patched)
        b[: len(data)] = data
        return len(data)


def _pickle_fields(path: Path) -> dict[str, Any]:
    """Values of a few known keys in a torch zip checkpoint's pickle, read without running it.

    Returns what it finds among ``phoneme_vocab_size``, ``info``, ``lora_rank``, ``version``
    and ``text_embedding_rows`` (the SoVITS text embedding's first dimension); an unreadable
    archive gives an empty dict (the header rules still apply).
    """
    try:
        with open(path, "rb") as raw, zipfile.ZipFile(io.BufferedReader(_UntaggedFile(raw))) as z:
            names = [n for n in z.namelist() if n.endswith("data.pkl")]
            if not names:
                return {}
            member = z.getinfo(names[0])
            if member.file_size > _PICKLE_MAX_BYTES:
                return {}
            data = z.read(member)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return {}
    wanted = {"phoneme_vocab_size", "info", "lora_rank", "version"}
    found: dict[str, Any] = {}
    tokens = list(_primitive_tokens(data))
    for i, tok in enumerate(tokens[:-1]):
        if tok in wanted and tok not in found:
            value = tokens[i + 1]
            if tok == "version" and value not in _GSV_VERSIONS:
                continue
            found[tok] = value
        elif tok == _EMBEDDING_KEY and "text_embedding_rows" not in found:
            rows = _tensor_rows(tokens, i + 1)
            if rows is not None:
                found["text_embedding_rows"] = rows
    return found


def _tensor_rows(tokens: list[Any], start: int) -> int | None:
    """First dimension of the tensor whose pickle tokens follow ``start``.

    torch pickles a tensor as ``('storage', <type>, key, location, numel)``, then the
    storage offset, then the shape: after ``'storage'`` the values that are not ``None``
    read key, location, numel, offset, rows, columns.
    """
    window = tokens[start:start + 24]
    if "storage" not in window:
        return None
    values = [t for t in window[window.index("storage") + 1:] if t is not None]
    if len(values) < 6 or not all(isinstance(v, int) for v in values[2:6]):
        return None
    numel, _offset, rows, cols = values[2:6]
    return rows if rows > 0 and rows * cols == numel else None


def _primitive_tokens(data: bytes) -> Iterator[Any]:
    """The strings and ints a pickle pushes, in order, with memo references resolved."""
    memo: dict[int, Any] = {}
    last: Any = None
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name in ("BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "BINUNICODE8",
                        "BININT", "BININT1", "BININT2", "INT", "LONG1"):
                last = arg
                yield arg
            elif name in ("BINPUT", "LONG_BINPUT"):
                memo[arg] = last
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                last = memo.get(arg)
                yield last
            else:
                last = None
    except Exception:  # a truncated or exotic pickle: keep what was read
        return


# --- discovery ---------------------------------------------------------------------------------


def is_gsv_root(folder: str | os.PathLike) -> bool:
    """True when ``folder`` looks like a GPT-SoVITS checkout (``GPT_SoVITS/`` inside).

    Example:
        >>> import tempfile
        >>> is_gsv_root(tempfile.mkdtemp())
        False
    """
    return (Path(folder) / "GPT_SoVITS").is_dir()


def candidate_files(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Checkpoint files under a GPT-SoVITS root, folders or single files, in a stable order.

    A GPT-SoVITS root contributes its ``GPT_weights*`` and ``SoVITS_weights*`` folders and the
    pretrained bases under ``GPT_SoVITS/pretrained_models`` (not the BERT, HuBERT, speaker
    verification or vocoder files that live beside them). Any other folder contributes every
    ``.ckpt``/``.pth`` below it; a file is taken as given.

    Raises:
        CheckpointError: a source that does not exist.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a_e1_s2.pth"), "wb").write(b"01xx")
        >>> [p.name for p in candidate_files(d)]
        ['a_e1_s2.pth']
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)

    for src in sources:
        s = Path(src).expanduser()
        if s.is_file():
            add(s)
        elif not s.exists():
            raise CheckpointError(f"checkpoint folder or file not found: {s}")
        elif is_gsv_root(s):
            for d in sorted(s.iterdir()):
                if d.is_dir() and _WEIGHT_DIR.match(d.name):
                    for f in sorted(d.iterdir()):
                        if f.is_file() and f.suffix.lower() in (GPT_EXT, SOVITS_EXT):
                            add(f)
            base = s / "GPT_SoVITS" / "pretrained_models"
            for rel in PRETRAINED_FILES:
                f = base / rel
                if f.is_file():
                    add(f)
        else:
            for f in sorted(s.rglob("*")):
                if f.is_file() and f.suffix.lower() in (GPT_EXT, SOVITS_EXT) and _is_model_name(f):
                    add(f)
    return out


def _is_model_name(f: Path) -> bool:
    # Files that sit among pretrained models but are not GPT or SoVITS weights.
    lower = f.name.lower()
    return not (lower == "vocoder.pth" or lower.startswith("pretrained_eres2net")
                or "g_24kto48k" in lower)


def discover(sources: str | os.PathLike | Iterable[str | os.PathLike], *,
             with_sha256: bool = False) -> tuple[list[Checkpoint], list[tuple[str, str]]]:
    """Sniff every checkpoint under ``sources``; return ``(checkpoints, skipped)``.

    ``skipped`` holds ``(path, reason)`` for files that are not readable checkpoints.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> _ = open(os.path.join(d, "a_e1_s2.pth"), "wb").write(b"05" + bytes(10))
        >>> _ = open(os.path.join(d, "junk.pth"), "wb").write(b"hello world")
        >>> found, skipped = discover(d)
        >>> [c.version for c in found], [os.path.basename(p) for p, _ in skipped]
        (['v2Pro'], ['junk.pth'])
    """
    found: list[Checkpoint] = []
    skipped: list[tuple[str, str]] = []
    for f in candidate_files(sources):
        try:
            found.append(sniff(f, with_sha256=with_sha256))
        except CheckpointError as e:
            skipped.append((str(f), str(e)))
    return found, skipped


__all__ = [
    "PRETRAINED_FILES",
    "PRETRAINED_SOVITS_MD5",
    "SOVITS_HEADER_TAGS",
    "Checkpoint",
    "candidate_files",
    "discover",
    "is_gsv_root",
    "kind_of",
    "parse_name",
    "sniff",
    "sniff_sovits_version",
]
