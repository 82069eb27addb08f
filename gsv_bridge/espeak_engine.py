"""``EspeakEngine``: a real, offline TTS for the demo and end-to-end tests. Not a voice cloner.

It speaks the request's text with espeak-ng (the library the PyPI package ``espeakng-loader``
ships), honours ``speed_factor``, and takes its pitch from the reference clip's median F0, so
different reference clips give audibly different takes and a reference sweep has something
to compare. Everything else a GPT-SoVITS request carries (seed, sampling, aux clips …) is
accepted, recorded by the runner, and declared ignored in its capabilities.

espeak-ng keeps a little state inside the library from one utterance to the next (the phase
of its pitch flutter), which no call resets: repeating a request gives the same words,
voice, pitch and length to within milliseconds, not the same samples.

Example:
    >>> import tempfile, os
    >>> from rasv.testing import make_clip
    >>> from rasv import SynthesisRequest
    >>> ref = make_clip(os.path.join(tempfile.mkdtemp(), "r.wav"), 4.0, f0=180.0)
    >>> eng = EspeakEngine()
    >>> a = eng.synthesize(SynthesisRequest(text="你好，世界。", text_lang="zh",
    ...                                     ref_audio_path=ref, seed=1))
    >>> a.sample_rate, 0.5 < a.duration_s < 4.0
    (32000, True)
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from pathlib import Path

import numpy as np

from gsv_bridge.espeak import synth
from rasv.audio import read, resample
from rasv.engine import Audio, Capabilities, SynthesisRequest, capabilities_for_kind
from rasv.errors import AudioError, CapabilityError, EngineRequestError
from rasv.langs import base_lang, guess_lang

#: espeak-ng voices per spoken language.
VOICES: dict[str, str] = {"zh": "cmn", "en": "en-us", "ja": "ja", "ko": "ko", "yue": "yue"}
_BASE_WPM = 175
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’\- ]*[A-Za-z0-9]|[A-Za-z]")


class EspeakEngine:
    """espeak-ng speech whose pitch follows the reference clip (kind ``espeak``).

    Args:
        sample_rate: output rate (32 kHz, like GPT-SoVITS v2).
        voices: override the espeak-ng voice per language (``{"en": "en-gb"}``).
        name: identity recorded on takes.

    Example:
        >>> caps = EspeakEngine().capabilities()
        >>> caps.voice_cloning, sorted(caps.params), caps.seed
        (False, ['speed_factor'], False)
    """

    kind = "espeak"

    def __init__(self, *, sample_rate: int = 32000, voices: dict[str, str] | None = None,
                 name: str = "espeak") -> None:
        self.sample_rate = int(sample_rate)
        self.voices = {**VOICES, **(voices or {})}
        self.name = name
        self._pitch_cache: dict[tuple[str, int, float], float] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EspeakEngine(sample_rate={self.sample_rate})"

    def capabilities(self) -> Capabilities:
        """Honours ``speed_factor`` (and the reference's pitch); declares everything else ignored.

        Example:
            >>> caps = EspeakEngine().capabilities()
            >>> caps.kind, sorted(caps.ignored({"top_k", "speed_factor", "seed"}))
            ('espeak', ['seed', 'top_k'])
        """
        # One description of espeak for task creation and runs (rasv.engine).
        return dataclasses.replace(capabilities_for_kind(self.kind), sample_rate=self.sample_rate)

    def load(self, gpt: str | os.PathLike | None, sovits: str | os.PathLike | None) -> None:
        """Nothing to load: espeak has no checkpoints (accepted so task grids still run).

        Example:
            >>> EspeakEngine().load(None, None) is None
            True
        """

    def reference_f0(self, path: str | os.PathLike) -> float:
        """Median F0 (Hz) of the voiced frames of a clip, cached per file version.

        Raises:
            AudioError: the file is missing or not audio.

        Example:
            >>> import tempfile, os
            >>> from rasv.testing import make_clip
            >>> p = make_clip(os.path.join(tempfile.mkdtemp(), "a.wav"), 3.0, f0=200.0)
            >>> 185 < EspeakEngine().reference_f0(p) < 215
            True
        """
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            raise AudioError(f"reference clip not found: {p}") from None
        key = (str(p.resolve()), st.st_size, st.st_mtime)
        with self._lock:
            if key in self._pitch_cache:
                return self._pitch_cache[key]
        f0 = _median_f0(p)
        with self._lock:
            self._pitch_cache[key] = f0
        return f0

    def synthesize(self, req: SynthesisRequest) -> Audio:
        """Speak ``req.text``; pitch from the reference, rate from ``speed_factor``.

        Chinese, Japanese, Korean and Cantonese text is read with that language's voice, with
        runs of Latin letters read by the English voice (``我爱 Python``); ``auto`` guesses the
        language per request.

        Raises:
            EngineRequestError: the text has nothing to speak (permanent).
            AudioError: the reference clip is missing or unreadable.

        Example:
            >>> import tempfile, os
            >>> from rasv.testing import make_clip
            >>> from rasv import SynthesisRequest
            >>> ref = make_clip(os.path.join(tempfile.mkdtemp(), "r.wav"), 4.0)
            >>> eng = EspeakEngine()
            >>> def say(speed):
            ...     return eng.synthesize(SynthesisRequest(
            ...         text="我爱 Python。", text_lang="zh", ref_audio_path=ref, seed=1,
            ...         speed_factor=speed)).duration_s
            >>> say(1.5) < say(1.0)
            True
        """
        text = req.text.strip()
        if not any(ch.isalnum() for ch in text):
            raise EngineRequestError(
                f"espeak: text {req.text[:40]!r} has nothing to speak", request=req,
                transient=False)
        lang = base_lang(req.text_lang)
        if lang == "auto":
            lang = guess_lang(text)
        if lang not in self.voices:
            raise CapabilityError(f"espeak has no voice for language {req.text_lang!r}")
        f0 = self.reference_f0(req.ref_audio_path)
        # Female-range references get espeak's female variant, so the pitch stays natural.
        variant = "+f3" if f0 >= 165.0 else "+m3"
        lo, hi = (150.0, 300.0) if variant == "+f3" else (70.0, 165.0)
        pitch = int(round(np.clip((f0 - lo) / (hi - lo), 0.0, 1.0) * 80 + 10))
        wpm = int(np.clip(round(_BASE_WPM * req.speed_factor), 80, 450))
        pieces = []
        for run_lang, run in _runs(text, lang):
            voice = self.voices[run_lang] + variant
            x, sr = synth(run, voice=voice, rate_wpm=wpm, pitch=pitch)
            if x.size:
                pieces.append(resample(x, sr, self.sample_rate))
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        if samples.size < self.sample_rate // 20:
            raise EngineRequestError(f"espeak produced no speech for {req.text[:40]!r}",
                                     request=req, transient=False)
        peak = float(np.max(np.abs(samples)))
        if peak > 0.95:
            samples = samples * (0.95 / peak)
        samples = _soft_ending(samples, self.sample_rate)
        meta = {"engine": self.name, "voice": self.voices[lang] + variant, "pitch": pitch,
                "rate_wpm": wpm, "ref_f0": round(f0, 1), "seed_ignored": req.seed}
        return Audio(samples.astype(np.float32), self.sample_rate, meta=meta)


def _soft_ending(x: np.ndarray, sr: int, fade_s: float = 0.03, tail_s: float = 0.2) -> np.ndarray:
    """Fade the last few milliseconds and add a short silent tail.

    espeak-ng stops some Chinese syllables abruptly; without this every demo take would look
    like a cut-off ending to the analysis (and click when played).
    """
    n = min(len(x), int(fade_s * sr))
    y = x.astype(np.float32, copy=True)
    if n > 1:
        y[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return np.concatenate([y, np.zeros(int(tail_s * sr), dtype=np.float32)])


def _runs(text: str, lang: str) -> list[tuple[str, str]]:
    """Split CJK text into (language, run) pieces: Latin words go to the English voice."""
    if lang == "en":
        return [("en", text)]
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _LATIN_RUN.finditer(text):
        if m.start() > pos and text[pos:m.start()].strip():
            out.append((lang, text[pos:m.start()]))
        out.append(("en", m.group(0)))
        pos = m.end()
    if text[pos:].strip():
        out.append((lang, text[pos:]))
    # Punctuation-only pieces make no sound; keep them only if nothing else is left.
    spoken = [(lg, r) for lg, r in out if any(ch.isalnum() for ch in r)]
    return spoken or [(lang, text)]


def _median_f0(path: Path) -> float:
    """Median F0 over the louder frames (YIN), a cheap stand-in for a pitch tracker."""
    import librosa

    x, sr = read(path, sr=16000)
    if x.size < 2048:
        raise AudioError(f"reference clip {path.name} is too short to measure its pitch")
    frame, hop = 1024, 256
    f0 = librosa.yin(x, fmin=60.0, fmax=500.0, sr=sr, frame_length=frame, hop_length=hop)
    rms = librosa.feature.rms(y=x, frame_length=frame, hop_length=hop)[0][: len(f0)]
    voiced = f0[: len(rms)][rms > 0.3 * float(rms.max() or 1.0)]
    return float(np.median(voiced)) if voiced.size else float(np.median(f0))


__all__ = ["VOICES", "EspeakEngine"]
