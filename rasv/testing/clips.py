"""Tiny generated audio and ``.list`` files for tests.

Example:
    >>> import tempfile, os
    >>> p = make_clip(os.path.join(tempfile.mkdtemp(), "a.flac"), 3.5, sample_rate=22050)
    >>> import soundfile as sf; round(sf.info(p).duration, 2)
    3.5
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rasv.engine import SynthesisRequest


def make_voice(duration_s: float, sample_rate: int = 16000, f0: float = 140.0,
               seed: int = 0, syllable_s: float = 0.22, pause_every: int = 0,
               noise_db: float | None = None) -> np.ndarray:
    """A speech-like float32 signal: a harmonic tone with syllable-rate amplitude bumps.

    Not speech, but it has a pitch (``f0``), voiced "syllables" separated by short dips
    and, if ``pause_every`` > 0, a 0.4 s pause after every ``pause_every`` syllables, so VAD,
    pitch trackers and duration statistics behave sensibly on it.

    Example:
        >>> x = make_voice(1.0, 8000)
        >>> x.dtype, x.shape
        (dtype('float32'), (8000,))
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    vibrato = 1.0 + 0.02 * np.sin(2 * np.pi * 5.0 * t + rng.uniform(0, 6.28))
    phase = 2 * np.pi * np.cumsum(f0 * vibrato) / sample_rate
    x = sum((0.6 / k) * np.sin(k * phase + rng.uniform(0, 6.28)) for k in range(1, 6))
    env = np.zeros(n)
    syl = max(int(syllable_s * sample_rate), 1)
    pos, count = int(0.05 * sample_rate), 0
    while pos < n:
        length = int(syl * rng.uniform(0.8, 1.2))
        end = min(pos + length, n)
        env[pos:end] = np.hanning(end - pos) if end - pos > 1 else 1.0
        pos = end + int(0.04 * sample_rate)
        count += 1
        if pause_every and count % pause_every == 0:
            pos += int(0.4 * sample_rate)
    y = 0.3 * x * env
    if noise_db is not None:
        y = y + rng.normal(0, 10 ** (noise_db / 20), n)
    return np.clip(y, -1, 1).astype(np.float32)


def make_clip(path: str | os.PathLike, duration_s: float, *, sample_rate: int = 16000,
              channels: int = 1, f0: float = 140.0, seed: int = 0,
              subtype: str | None = None) -> str:
    """Write a speech-like clip; the format follows the extension (wav, flac, ogg, mp3).

    Returns the path as a string.

    Example:
        >>> import tempfile, os
        >>> p = make_clip(os.path.join(tempfile.mkdtemp(), "s.wav"), 2.0, channels=2)
        >>> import soundfile as sf; sf.info(p).channels
        2
    """
    import soundfile as sf

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    x = make_voice(duration_s, sample_rate, f0=f0, seed=seed)
    data = x if channels == 1 else np.stack([x * (0.9 ** c) for c in range(channels)], axis=1)
    kwargs = {}
    if subtype:
        kwargs["subtype"] = subtype
    sf.write(str(p), data, sample_rate, **kwargs)
    return str(p)


def make_request(folder: str | os.PathLike | None = None, **fields: Any) -> SynthesisRequest:
    """A full synthesis request on a fresh 4 s reference clip (written into ``folder``).

    Chinese text, the clip's transcript as prompt, seed 7, like the runner sends; ``fields``
    override any of them.

    Example:
        >>> req = make_request(seed=3)
        >>> req.text, req.seed, os.path.getsize(req.ref_audio_path) > 0
        ('今天天气很好。', 3, True)
    """
    folder = folder if folder is not None else tempfile.mkdtemp(prefix="rasv-request-")
    ref = make_clip(Path(folder) / "ref.wav", 4.0)
    return SynthesisRequest(**{"text": "今天天气很好。", "text_lang": "zh", "ref_audio_path": ref,
                               "prompt_text": "参考音频。", "prompt_lang": "zh", "seed": 7,
                               **fields})


def write_list(path: str | os.PathLike, rows: Iterable[Sequence[str]], *,
               encoding: str = "utf-8", bom: bool = False, newline: str = "\n") -> str:
    """Write a GPT-SoVITS ``.list`` file from ``(audio_path, speaker, lang, text)`` rows.

    Rows may also be plain strings (written as they are, to build malformed lines).

    Example:
        >>> import tempfile, os
        >>> p = write_list(os.path.join(tempfile.mkdtemp(), "a.list"),
        ...                [("a.wav", "s", "EN", "hi")], encoding="utf-16")
        >>> open(p, "rb").read()[:2]
        b'\\xff\\xfe'
    """
    lines = [r if isinstance(r, str) else "|".join(str(f) for f in r) for r in rows]
    text = newline.join(lines) + newline
    data = text.encode(encoding)
    if bom and encoding.lower().replace("-", "") in ("utf8",):
        data = b"\xef\xbb\xbf" + data
    Path(path).write_bytes(data)
    return str(path)


__all__ = ["make_clip", "make_request", "make_voice", "write_list"]
