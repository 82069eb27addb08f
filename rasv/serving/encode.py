"""Encode served audio in the formats API clients ask for, offline (libsndfile only).

OpenAI's ``response_format`` names (``wav``, ``pcm``, ``mp3``, ``opus``, ``flac``, ``aac``)
and api_v2's ``media_type`` names (``wav``, ``raw``, ``ogg``, ``aac``) map onto what
libsndfile writes: WAV, raw 16-bit PCM, MP3 (LAME inside libsndfile ≥ 1.1), Ogg Opus,
Ogg Vorbis and FLAC. AAC needs an encoder libsndfile does not have, so it is refused with a
message naming the formats that work.

Example:
    >>> import numpy as np
    >>> data, mime = encode(np.zeros(3200, dtype=np.float32), 32000, "flac")
    >>> data[:4], mime
    (b'fLaC', 'audio/flac')
"""

from __future__ import annotations

import io

import numpy as np

from rasv.audio import resample
from rasv.errors import InvalidInput

#: Every format :func:`encode` writes, with its MIME type.
FORMATS: dict[str, str] = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "raw": "audio/pcm",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}
#: OpenAI's raw PCM is 24 kHz 16-bit little-endian; clients play it at that rate.
OPENAI_PCM_RATE = 24000
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def check_format(fmt: str) -> str:
    """The format name in lower case, or :class:`~rasv.InvalidInput` naming what works.

    Example:
        >>> check_format("MP3")
        'mp3'
        >>> try:
        ...     check_format("aac")
        ... except InvalidInput as e:
        ...     print(str(e)[:40])
        aac is not available: no offline AAC enc
    """
    name = str(fmt or "").strip().lower()
    if name == "aac":
        raise InvalidInput("aac is not available: no offline AAC encoder is installed; use "
                           "one of " + ", ".join(sorted(FORMATS)))
    if name not in FORMATS:
        raise InvalidInput(f"unsupported audio format {fmt!r}; use one of "
                           + ", ".join(sorted(FORMATS)))
    return name


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples as raw 16-bit little-endian PCM.

    Example:
        >>> pcm16(np.array([0.0, 1.0], dtype=np.float32))
        b'\\x00\\x00\\xff\\x7f'
    """
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_header(sample_rate: int, n_bytes: int = 0xFFFFFFFF - 36) -> bytes:
    """A 16-bit mono WAV header; the default length marks a stream of unknown size.

    Example:
        >>> h = wav_header(32000); h[:4], len(h)
        (b'RIFF', 44)
    """
    import struct

    return (b"RIFF" + struct.pack("<I", (n_bytes + 36) & 0xFFFFFFFF) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", n_bytes & 0xFFFFFFFF))


def encode(samples: np.ndarray, sample_rate: int, fmt: str, *,
           pcm_rate: int | None = None) -> tuple[bytes, str]:
    """Encode mono float samples; returns ``(bytes, mime type)``.

    Args:
        fmt: a name of :data:`FORMATS` (``aac`` raises :class:`~rasv.InvalidInput`).
        pcm_rate: resample ``pcm``/``raw`` output to this rate (OpenAI's is 24 kHz).

    Example:
        >>> data, mime = encode(np.zeros(3200, dtype=np.float32), 32000, "mp3")
        >>> mime, len(data) > 100
        ('audio/mpeg', True)
    """
    import soundfile as sf

    name = check_format(fmt)
    x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    if name in ("pcm", "raw"):
        if pcm_rate and pcm_rate != sample_rate:
            x = resample(x, sample_rate, pcm_rate)
        return pcm16(x), FORMATS[name]
    buf = io.BytesIO()
    if name == "wav":
        sf.write(buf, x, sample_rate, format="WAV", subtype="PCM_16")
    elif name == "flac":
        sf.write(buf, x, sample_rate, format="FLAC", subtype="PCM_16")
    elif name == "mp3":
        sf.write(buf, x, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    elif name == "ogg":
        sf.write(buf, x, sample_rate, format="OGG", subtype="VORBIS")
    else:  # opus: Ogg Opus runs at one of five rates; 48 kHz keeps every model's band
        rate = sample_rate if sample_rate in _OPUS_RATES else 48000
        if rate != sample_rate:
            x = resample(x, sample_rate, rate)
        sf.write(buf, x, rate, format="OGG", subtype="OPUS")
    return buf.getvalue(), FORMATS[name]


__all__ = ["FORMATS", "OPENAI_PCM_RATE", "check_format", "encode", "pcm16", "wav_header"]
