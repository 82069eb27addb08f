"""Cutting clips: new clips made of regions of a parent, and where to cut.

``ws.clips.split`` and ``ws.clips.suggest_cuts`` call these functions.

A split turns each *segment* (an ordered list of ``(start_s, end_s)`` regions of the parent)
into a new clip: the regions are joined in the given order, sample-exact, at the parent's
sample rate and channel count, without re-encoding lossless audio (WAV and FLAC keep their
container and sample format, other PCM files become WAV with the same samples, lossy sources
become 16-bit WAV). The new clip links
to its parent (``parent_id``, and its regions in ``segments``), inherits language and
category, starts with an empty transcript to fill in, is named ``<parent stem>-<k>``, and
gets its own 3–10 s validity. The parent is never changed. Either every segment becomes a clip
or none does.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> parent = ws.clips.add(role, make_clip(os.path.join(ws.root, "long.wav"), 12.0),
    ...                       lang="en", category="calm")
    >>> ids = split_clip(ws, parent.id, [[(0.0, 3.5)], [(4.0, 6.0), (8.0, 10.0)]])
    >>> [(c.name, c.duration_s, c.category, c.parent_id) for c in map(ws.clips.get, ids)]
    [('long-1', 3.5, 'calm', 1), ('long-2', 4.0, 'calm', 1)]
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rasv.audio import vad
from rasv.errors import AlreadyExists, AudioError, InvalidInput

if TYPE_CHECKING:
    from rasv.workspace import Workspace

Region = tuple[float, float]

# soundfile subtype -> the dtype that reads and writes it without any rounding
_EXACT_DTYPES = {
    "PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16",
    "PCM_24": "int32", "PCM_32": "int32", "FLOAT": "float32", "DOUBLE": "float64",
}
_KEPT_CONTAINERS = {"WAV": ".wav", "WAVEX": ".wav", "FLAC": ".flac"}


def normalize_segments(segments: Any) -> list[list[Region]]:
    """Accept ``[[(s, e), …], …]``; a bare ``(s, e)`` pair stands for a one-region segment.

    Raises:
        InvalidInput: not a list of segments of ``(start, end)`` number pairs.

    Example:
        >>> normalize_segments([(0, 1.5), [(2, 3), (4, 5)]])
        [[(0.0, 1.5)], [(2.0, 3.0), (4.0, 5.0)]]
    """
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence):
        raise InvalidInput("segments must be a list of segments, each a list of (start, end)")
    if len(segments) == 0:
        raise InvalidInput("give at least one segment to split into")
    out: list[list[Region]] = []
    for k, seg in enumerate(segments, 1):
        if _is_pair(seg):
            seg = [seg]
        if isinstance(seg, (str, bytes)) or not isinstance(seg, Sequence):
            raise InvalidInput(f"segment {k} must be a list of (start, end) regions")
        if len(seg) == 0:
            raise InvalidInput(f"segment {k} has no regions")
        regions = []
        for j, r in enumerate(seg, 1):
            if not _is_pair(r):
                raise InvalidInput(f"segment {k}, region {j} must be a (start, end) pair "
                                   f"of seconds, got {r!r}")
            regions.append((float(r[0]), float(r[1])))
        out.append(regions)
    return out


def _is_pair(x: Any) -> bool:
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence) or len(x) != 2:
        return False
    try:
        return all(math.isfinite(float(v)) for v in x) and not any(isinstance(v, bool) for v in x)
    except (TypeError, ValueError):
        return False


def region_samples(segments: list[list[Region]], sample_rate: int,
                   frames: int) -> list[list[tuple[int, int]]]:
    """Sample ranges ``[a, b)`` of each region (``round(t * rate)``), validated.

    Raises:
        InvalidInput: a region outside the audio, empty, reversed, or overlapping another
            region of the same segment.

    Example:
        >>> region_samples([[(0.0, 0.5), (1.0, 1.25)]], 8000, 16000)
        [[(0, 4000), (8000, 10000)]]
    """
    duration = frames / sample_rate
    out = []
    for k, seg in enumerate(segments, 1):
        spans = []
        for j, (s, e) in enumerate(seg, 1):
            where = f"segment {k}, region {j} ({s:g}–{e:g} s)"
            # Times are often rounded to milliseconds: allow that much past the end.
            if s < 0 or e > duration + 0.0005 + 0.5 / sample_rate:
                raise InvalidInput(f"{where} lies outside the clip, which is {duration:.3f} s long")
            if e <= s:
                raise InvalidInput(f"{where} is empty: its end must come after its start")
            a, b = int(round(s * sample_rate)), min(int(round(e * sample_rate)), frames)
            if b <= a:
                raise InvalidInput(f"{where} is shorter than one sample")
            spans.append((a, b))
        ordered = sorted(range(len(spans)), key=lambda i: spans[i])
        for x, y in zip(ordered, ordered[1:], strict=False):
            if spans[y][0] < spans[x][1]:
                first, second = sorted((x + 1, y + 1))
                raise InvalidInput(f"segment {k}: regions {first} and {second} overlap")
        out.append(spans)
    return out


def split_clip(ws: Workspace, clip_id: int, segments: Any) -> list[int]:
    """Make one new clip per segment of ``clip_id``; return the new ids in segment order.

    Args:
        ws: the workspace.
        clip_id: the parent clip (left untouched).
        segments: ``[[(start_s, end_s), …], …]``: each inner list is joined, in its order,
            into one new clip. A bare ``(start_s, end_s)`` is a one-region segment.

    Raises:
        ClipNotFound: no such clip.
        InvalidInput: a region is outside the clip, empty or overlaps another of its segment.
        AlreadyExists: a segment's audio is already a clip of the role (split twice).
        AudioError: the parent's audio cannot be read.

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import make_clip, raises
        >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
        >>> p = ws.clips.add(role, make_clip(os.path.join(ws.root, "x.wav"), 5.0))
        >>> raises(split_clip, ws, p.id, [[(4.0, 6.0)]])
        'InvalidInput: segment 1, region 1 (4–6 s) lies outside the clip, which is 5.000 s long'
    """
    import soundfile as sf

    parent = ws.clips.get(clip_id)
    segs = normalize_segments(segments)
    src = ws.clips.abspath(clip_id)
    samples, rate, subtype, suffix = _read_exact(src)
    spans = region_samples(segs, rate, samples.shape[0])
    stem = Path(parent.name).stem or f"clip{parent.id}"
    taken = {r[0].lower() for r in ws.store.rows(
        "SELECT name FROM clips WHERE role_id = ?", [parent.role_id])}
    names = []
    k = 1
    for _ in segs:
        while f"{stem}-{k}".lower() in taken:
            k += 1
        names.append(f"{stem}-{k}")
        taken.add(f"{stem}-{k}".lower())
    added: list[str] = []
    with tempfile.TemporaryDirectory(prefix=".split-", dir=ws.root) as tmp:
        files = []
        for i, seg_spans in enumerate(spans):
            data = np.concatenate([samples[a:b] for a, b in seg_spans], axis=0)
            path = Path(tmp) / f"{i}{suffix}"
            sf.write(str(path), data, rate, subtype=subtype)
            files.append(path)
        try:
            with ws.store.transaction():
                ids = []
                for i, (path, name) in enumerate(zip(files, names, strict=True)):
                    try:
                        child = ws.clips.add(
                            parent.role_id, path, text="", lang=parent.lang,
                            category=parent.category, name=name, parent_id=parent.id,
                            segments=[segs[i]], on_duplicate="error",
                        )
                    except AlreadyExists:
                        raise AlreadyExists(
                            f"segment {i + 1} has exactly the audio of a clip this role already "
                            "has (was it split before?)"
                        ) from None
                    added.append(child.path)
                    ids.append(child.id)
                # add() recorded the temporary file as the source; the parent is the source.
                with ws.store.cursor() as cur:
                    cur.execute("UPDATE clips SET source_path = NULL WHERE list_contains(?, id)",
                                [ids])
        except BaseException:
            # The rows are rolled back; remove the audio files the adds stored.
            ws.release_files(added)
            raise
    return ids


def _read_exact(path: Path) -> tuple[np.ndarray, int, str, str]:
    """(frames × channels samples, rate, output subtype, output suffix) without rounding."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        if info.frames <= 0:
            raise RuntimeError("no frames")
        container = str(info.format)
        subtype = str(info.subtype)
        if subtype in _EXACT_DTYPES:
            data, rate = sf.read(str(path), dtype=_EXACT_DTYPES[subtype], always_2d=True)
            if container in _KEPT_CONTAINERS:
                return data, int(rate), subtype, _KEPT_CONTAINERS[container]
            # Other PCM containers (AIFF, AU, CAF…) become WAV with the same samples; WAV has
            # no signed 8-bit format, and 16-bit holds those values exactly.
            return data, int(rate), "PCM_16" if subtype == "PCM_S8" else subtype, ".wav"
    except Exception:  # not a file libsndfile reads exactly: decode it below
        pass
    from rasv.audio.files import read

    x, rate = read(path, sr=None, mono=False)  # (channels, frames) float32
    if x.shape[-1] == 0:
        raise AudioError(f"{path} holds no samples")
    return np.ascontiguousarray(x.T), int(rate), "PCM_16", ".wav"


def suggest_cuts(ws: Workspace, clip_id: int, *, min_s: float = 3.0, max_s: float = 10.0,
                 min_silence_s: float = vad.SLICER_MIN_INTERVAL_S,
                 keep_silence_s: float = vad.SLICER_MAX_SIL_KEPT_S / 2,
                 backend: str = "auto") -> list[Region]:
    """Suggested pieces of a clip, ``[(start_s, end_s), …]``, cut in the middle of silences.

    Pieces last ``min_s``–``max_s`` (GPT-SoVITS's 3–10 s reference rule by default); cuts
    fall in silences of at least ``min_silence_s``, and each piece keeps at most
    ``keep_silence_s`` of silence at either end. Speech is found by silero-vad when it is
    installed, else by GPT-SoVITS's RMS slicer rule (``backend="rms"`` forces it); see
    :func:`rasv.audio.vad.suggest_pieces`. Pass the result to :func:`split_clip` as
    ``[[p] for p in pieces]``.

    Example:
        >>> import rasv, tempfile, os
        >>> import numpy as np, soundfile as sf
        >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
        >>> sr = 16000; t = np.arange(4 * sr) / sr
        >>> talk = 0.3 * np.sin(2 * np.pi * 180 * t); pause = np.zeros(sr)
        >>> path = os.path.join(ws.root, "in.wav")
        >>> sf.write(path, np.concatenate([talk, pause, talk, pause, talk]), sr)
        >>> c = ws.clips.add(role, path)
        >>> suggest_cuts(ws, c.id, backend="rms")
        [(0.0, 4.25), (4.75, 9.25), (9.75, 14.0)]
    """
    from rasv.audio.files import read

    ws.clips.get(clip_id)  # ClipNotFound before any decoding
    x, rate = read(ws.clips.abspath(clip_id), sr=vad.VAD_RATE)
    return vad.suggest_pieces(x, rate, min_s=min_s, max_s=max_s, min_silence_s=min_silence_s,
                              keep_silence_s=keep_silence_s, backend=backend)


__all__ = ["normalize_segments", "region_samples", "split_clip", "suggest_cuts"]
