"""Audio files: header info, decoding, atomic writing, hashing and content-addressed storage.

Header reads go through libsndfile (WAV, FLAC, OGG, MP3 in libsndfile ≥ 1.1) and never decode
samples; formats it cannot open (M4A/AAC …) fall back to a full decode through librosa's
audioread backend.

Example:
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "a.wav")
    >>> write_wav(p, np.zeros(16000, dtype=np.float32), 16000)
    >>> info(p).duration_s
    1.0
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from rasv.errors import AudioError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says: length, rate, channels and container format.

    Example:
        >>> AudioInfo(duration_s=2.0, sample_rate=16000, channels=1, frames=32000,
        ...           format="WAV").frames
        32000
    """

    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    format: str


def info(path: str | os.PathLike) -> AudioInfo:
    """Read duration, sample rate and channels from a file header (decode only as a fallback).

    Raises:
        AudioError: if the file is missing or is not audio.

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "b.wav")
        >>> write_wav(p, np.zeros(8000, dtype=np.float32), 8000)
        >>> info(p).sample_rate
        8000
    """
    import soundfile as sf

    p = Path(path)
    if p.is_dir():
        raise AudioError(f"{p} is a folder, not an audio file")
    if not p.is_file():
        raise AudioError(f"audio file not found: {p}")
    try:
        i = sf.info(str(p))
        if i.frames > 0 and i.samplerate > 0:
            return AudioInfo(
                duration_s=i.frames / i.samplerate,
                sample_rate=int(i.samplerate),
                channels=int(i.channels),
                frames=int(i.frames),
                format=str(i.format),
            )
    except Exception:  # libsndfile does not know the container: decode instead
        pass
    x, sr = _decode_fallback(p)
    channels = 1 if x.ndim == 1 else x.shape[0]
    frames = x.shape[-1]
    return AudioInfo(frames / sr, int(sr), int(channels), int(frames), p.suffix.lstrip(".").upper())


def _decode_fallback(p: Path) -> tuple[np.ndarray, int]:
    import warnings

    try:
        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, sr = librosa.load(str(p), sr=None, mono=False)
    except Exception as e:
        detail = str(e).strip() or type(e).__name__  # audioread's errors have no message
        raise AudioError(
            f"cannot read audio {p} ({detail}); WAV, FLAC, OGG and MP3 are read directly, "
            "other formats need ffmpeg on the PATH"
        ) from None
    if x.size == 0:
        raise AudioError(f"audio file {p} holds no samples")
    return x, int(sr)


def read(path: str | os.PathLike, sr: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Decode a file to float32 samples; resample to ``sr`` when given.

    Returns ``(samples, sample_rate)``; samples are 1-D when ``mono`` else (channels, frames).

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "c.wav")
        >>> write_wav(p, np.zeros(16000, dtype=np.float32), 16000)
        >>> x, rate = read(p, sr=8000)
        >>> len(x), rate
        (8000, 8000)
    """
    import soundfile as sf

    p = Path(path)
    if not p.is_file():
        raise AudioError(f"audio file not found: {p}")
    try:
        x, rate = sf.read(str(p), dtype="float32", always_2d=True)
        x = x.T  # (channels, frames)
    except Exception:
        x, rate = _decode_fallback(p)
        x = np.atleast_2d(x).astype(np.float32)
    if mono:
        x = x.mean(axis=0)
    if sr is not None and sr != rate:
        x = resample(x, rate, sr)
        rate = sr
    return np.ascontiguousarray(x, dtype=np.float32), int(rate)


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis with soxr (high quality, fast).

    Example:
        >>> resample(np.zeros(16000, dtype=np.float32), 16000, 8000).shape
        (8000,)
    """
    if orig_sr == target_sr:
        return x
    import soxr

    if x.ndim == 1:
        return soxr.resample(x, orig_sr, target_sr).astype(np.float32)
    return np.stack([soxr.resample(c, orig_sr, target_sr) for c in x]).astype(np.float32)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int,
              subtype: str = "PCM_16", *, tmp_prefix: str = ".tmp-") -> None:
    """Write a WAV atomically: to a temporary name in the same folder, fsync, then rename.

    A crash leaves either the old file or the new one, never a half-written file (only a
    temporary file starting with ``tmp_prefix``, which a writer may name after itself so a
    later run can tell whose leftovers they are).
    ``samples`` is 1-D (mono) or (frames, channels).

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "d.wav")
        >>> write_wav(p, np.zeros(10, dtype=np.float32), 8000); os.path.exists(p)
        True
    """
    import soundfile as sf

    data = np.asarray(samples)
    if data.dtype.kind == "f":
        data = np.clip(data, -1.0, 1.0)
    with _atomic_writer(path, prefix=tmp_prefix, suffix=".wav") as f:
        sf.write(f, data, int(sample_rate), format="WAV", subtype=subtype)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write bytes atomically (temporary name, fsync, rename).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> write_bytes_atomic(p, b"ok"); open(p, "rb").read()
        b'ok'
    """
    with _atomic_writer(path) as f:
        f.write(data)


@contextlib.contextmanager
def _atomic_writer(path: str | os.PathLike, *, prefix: str = ".tmp-",
                   suffix: str = "") -> Iterator[BinaryIO]:
    """A temporary file next to ``path``; when the block ends cleanly, fsync it and rename it over ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """Stream a file through SHA-256 and return the hex digest.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "e.bin"); open(p, "wb").write(b"abc")
        3
        >>> sha256_file(p)[:8]
        'ba7816bf'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made, with its folder, if missing).

    Processes that share a cache folder take turns through it. Where the OS has no ``fcntl``
    (Windows) it does not lock: callers must stay correct without it (write to a private
    temporary file, then rename), and only waste work.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "cache", "x.lock")
        >>> with file_lock(p):
        ...     os.path.exists(p)
        True
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:  # "a": never truncate a lock another process holds
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _unlink_quietly(p: str | os.PathLike) -> None:
    with contextlib.suppress(OSError):
        os.unlink(p)


class BlobStore:
    """Content-addressed audio storage under a workspace: ``<root>/<sha[:2]>/<sha>.<ext>``.

    The same content is stored once, and GPT-SoVITS's path-keyed reference cache can never
    serve stale audio because a path always names the same bytes.

    Example:
        >>> import tempfile, os
        >>> root = tempfile.mkdtemp()
        >>> src = os.path.join(root, "in.wav"); open(src, "wb").write(b"RIFF....")
        8
        >>> store = BlobStore(root, "audio/clips")
        >>> sha, rel, created = store.put(src)
        >>> rel.startswith("audio/clips/"), created
        (True, True)
    """

    def __init__(self, workspace_root: str | os.PathLike, prefix: str) -> None:
        self.root = Path(workspace_root)
        self.prefix = prefix.strip("/")

    def relpath(self, sha256: str, ext: str) -> str:
        """The workspace-relative path (POSIX separators) for a digest and extension."""
        ext = ext.lower().lstrip(".") or "bin"
        return f"{self.prefix}/{sha256[:2]}/{sha256}.{ext}"

    def put(self, src: str | os.PathLike, sha256: str | None = None) -> tuple[str, str, bool]:
        """Copy ``src`` into the store unless the same content is there already.

        Returns ``(sha256, relative_path, created)``; ``created`` tells whether a new file
        was written (callers undo only what they created when a later step fails).
        """
        src = Path(src)
        digest = sha256 or sha256_file(src)
        rel = self.relpath(digest, src.suffix)
        dest = self.root / rel
        if dest.exists():
            return digest, rel, False
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return digest, rel, True

    def put_bytes(self, data: bytes, ext: str) -> tuple[str, str, bool]:
        """Store bytes (e.g. a rendered WAV); same return value as :meth:`put`."""
        digest = hashlib.sha256(data).hexdigest()
        rel = self.relpath(digest, ext)
        dest = self.root / rel
        if dest.exists():
            return digest, rel, False
        write_bytes_atomic(dest, data)
        return digest, rel, True

    def find(self, sha256: str) -> str | None:
        """The relative path of the stored file with this content hash, whatever its extension.

        Example:
            >>> import tempfile
            >>> BlobStore(tempfile.mkdtemp(), "audio/clips").find("ab" * 32) is None
            True
        """
        shard = self.root / self.prefix / sha256[:2]
        found = sorted(shard.glob(f"{sha256}.*")) if sha256 and shard.is_dir() else []
        return f"{self.prefix}/{sha256[:2]}/{found[0].name}" if found else None

    def remove(self, rel: str) -> None:
        """Delete a stored file (missing files are ignored) and its folder once empty."""
        target = self.root / rel
        _unlink_quietly(target)
        shard = target.parent
        if shard.parent == self.root / self.prefix:  # only the <sha[:2]> folders
            with contextlib.suppress(OSError):  # not empty, or already gone
                shard.rmdir()


__all__ = [
    "AudioInfo",
    "BlobStore",
    "file_lock",
    "info",
    "read",
    "resample",
    "sha256_file",
    "write_bytes_atomic",
    "write_wav",
]
