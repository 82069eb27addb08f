"""Audio: files on disk, voice activity, and spectrograms for review.

Modules, leaves first: ``files`` (header info, decoding, resampling, atomic WAV writing, hashing,
the content-addressed :class:`BlobStore`) ← ``vad`` (where speech is, where to cut) and
``spectrogram`` (mel images and envelopes at display resolution, cached per take). Nothing here
knows about the workspace's tables.

Example:
    >>> import numpy as np
    >>> from rasv.audio import resample
    >>> resample(np.zeros(32000, dtype="float32"), 32000, 16000).shape
    (16000,)
"""

from __future__ import annotations

from rasv.audio import files, spectrogram, vad
from rasv.audio.files import BlobStore, file_lock, info, read, resample, sha256_file, write_wav
from rasv.audio.spectrogram import (
    VISUALS_DIR,
    Envelope,
    Spectrogram,
    VisualCache,
    compute_spectrogram,
)
from rasv.audio.vad import speech_segments

__all__ = [
    "BlobStore",
    "Envelope",
    "Spectrogram",
    "VISUALS_DIR",
    "VisualCache",
    "compute_spectrogram",
    "file_lock",
    "files",
    "info",
    "read",
    "resample",
    "sha256_file",
    "spectrogram",
    "speech_segments",
    "vad",
    "write_wav",
]
