"""The engine contract: what rasv asks of a TTS engine and what it gets back.

rasv never speaks HTTP itself; engines (``gsv_bridge.GsvApiV2``, ``gsv_bridge.EspeakEngine``,
``rasv.testing.FakeEngine`` …) implement :class:`Engine` and are handed to the runner.

Example:
    >>> req = SynthesisRequest(text="你好", text_lang="ZH", ref_audio_path="a.wav",
    ...                        prompt_text="参考", prompt_lang="zh", seed=7)
    >>> req.text_lang, req.to_api_body()["seed"]
    ('zh', 7)
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rasv.errors import AudioError, CapabilityError, EngineError, ReferenceOutOfRange
from rasv.langs import API_LANGS, V1_LANGS, normalize_lang
from rasv.params import API_V2_DEFAULTS, Params

#: GPT-SoVITS's reference-duration rule (inclusive, silence included).
REF_MIN_S = 3.0
REF_MAX_S = 10.0
#: GPT-SoVITS counts the reference in 16 kHz samples (48000..160000).
_RULE_RATE = 16000


def reference_in_range(duration_s: float, bounds: tuple[float, float] = (REF_MIN_S, REF_MAX_S),
                       ) -> bool:
    """GPT-SoVITS's reference rule, the one place it is written: 3 s ≤ duration ≤ 10 s.

    The server counts samples at 16 kHz (48000 ≤ n ≤ 160000), so a duration is rounded to
    16 kHz samples first: a header's float noise never decides, and the catalogue, task
    validation and the engine's pre-check all agree on the edges.

    Example:
        >>> reference_in_range(3.0), reference_in_range(10.0), reference_in_range(10.0001)
        (True, True, False)
        >>> reference_in_range(2.99997)  # 47999.5 samples round to 48000
        True
    """
    lo, hi = bounds
    n = int(round(float(duration_s) * _RULE_RATE))
    return int(round(lo * _RULE_RATE)) <= n <= int(round(hi * _RULE_RATE))


@dataclass(frozen=True)
class SynthesisRequest:
    """One synthesis request, in ``api_v2``'s ``/tts`` field names and defaults.

    Language codes are normalised to lowercase API codes on construction. ``seed`` -1 means
    random on the server; the runner always sends an explicit seed.

    Example:
        >>> r = SynthesisRequest(text="hi", text_lang="EN", ref_audio_path="r.wav",
        ...                      prompt_lang="en")
        >>> r.top_k, r.text_split_method, r.media_type
        (15, 'cut5', 'wav')
    """

    text: str
    text_lang: str
    ref_audio_path: str
    prompt_text: str = ""
    prompt_lang: str = "zh"  # api_v2 requires it; rasv always sends the clip's language
    aux_ref_audio_paths: tuple[str, ...] = ()
    top_k: int = API_V2_DEFAULTS["top_k"]
    top_p: float = API_V2_DEFAULTS["top_p"]
    temperature: float = API_V2_DEFAULTS["temperature"]
    text_split_method: str = API_V2_DEFAULTS["text_split_method"]
    batch_size: int = API_V2_DEFAULTS["batch_size"]
    batch_threshold: float = API_V2_DEFAULTS["batch_threshold"]
    split_bucket: bool = API_V2_DEFAULTS["split_bucket"]
    speed_factor: float = API_V2_DEFAULTS["speed_factor"]
    fragment_interval: float = API_V2_DEFAULTS["fragment_interval"]
    seed: int = API_V2_DEFAULTS["seed"]
    media_type: str = API_V2_DEFAULTS["media_type"]
    streaming_mode: int = API_V2_DEFAULTS["streaming_mode"]
    parallel_infer: bool = API_V2_DEFAULTS["parallel_infer"]
    repetition_penalty: float = API_V2_DEFAULTS["repetition_penalty"]
    sample_steps: int = API_V2_DEFAULTS["sample_steps"]
    super_sampling: bool = API_V2_DEFAULTS["super_sampling"]
    overlap_length: int = API_V2_DEFAULTS["overlap_length"]
    min_chunk_length: int = API_V2_DEFAULTS["min_chunk_length"]
    #: Engine-specific or future parameters, sent as extra body fields by HTTP engines.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text_lang", normalize_lang(self.text_lang))
        object.__setattr__(self, "prompt_lang", normalize_lang(self.prompt_lang))
        object.__setattr__(self, "ref_audio_path", str(self.ref_audio_path))
        object.__setattr__(
            self, "aux_ref_audio_paths", tuple(str(p) for p in self.aux_ref_audio_paths)
        )
        object.__setattr__(self, "extra", dict(self.extra))

    @classmethod
    def from_params(
        cls,
        params: Params,
        *,
        text: str,
        text_lang: str,
        ref_audio_path: str | Path,
        prompt_text: str,
        prompt_lang: str,
        aux_ref_audio_paths: tuple[str, ...] | list[str] = (),
        seed: int | None = None,
    ) -> SynthesisRequest:
        """Build the request for one take from its effective :class:`Params`.

        Example:
            >>> r = SynthesisRequest.from_params(Params(top_k=5, seed=3), text="t",
            ...     text_lang="en", ref_audio_path="r.wav", prompt_text="p", prompt_lang="en")
            >>> r.top_k, r.seed
            (5, 3)
        """
        s = params.seed if seed is None else seed
        # Every sampling field both records share, by name: a parameter added to Params and
        # to API_V2_DEFAULTS reaches the request without another edit here.
        shared = ({f.name for f in dataclasses.fields(cls)} & set(API_V2_DEFAULTS)) - {"seed"}
        return cls(
            text=text,
            text_lang=text_lang,
            ref_audio_path=str(ref_audio_path),
            prompt_text=prompt_text,
            prompt_lang=prompt_lang,
            aux_ref_audio_paths=tuple(str(p) for p in aux_ref_audio_paths),
            **{name: getattr(params, name) for name in shared if hasattr(params, name)},
            seed=-1 if s is None else s,
            extra=dict(params.extra),
        )

    def replace(self, **changes: Any) -> SynthesisRequest:
        """Return a copy with some fields changed.

        Example:
            >>> SynthesisRequest(text="a", text_lang="en", ref_audio_path="r",
            ...                  prompt_lang="en").replace(seed=9).seed
            9
        """
        return dataclasses.replace(self, **changes)

    def to_api_body(self) -> dict[str, Any]:
        """The exact JSON body for ``POST /tts`` of ``api_v2`` (``extra`` merged in).

        Example:
            >>> body = SynthesisRequest(text="a", text_lang="en", ref_audio_path="r",
            ...                         prompt_lang="en").to_api_body()
            >>> body["aux_ref_audio_paths"], body["streaming_mode"]
            ([], 0)
        """
        body = dataclasses.asdict(self)
        extra = body.pop("extra")
        body["aux_ref_audio_paths"] = list(self.aux_ref_audio_paths)
        body.update(extra)
        return body


@dataclass(frozen=True)
class Audio:
    """Synthesised audio: float32 mono samples in [-1, 1] and their sample rate.

    ``meta`` holds what the engine reports about the take (seed used, server version …).

    Example:
        >>> a = Audio(np.zeros(16000, dtype=np.float32), 16000)
        >>> a.duration_s
        1.0
    """

    samples: np.ndarray
    sample_rate: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.samples)
        if x.ndim == 2:
            # Engines may hand back (n, channels); rasv works in mono.
            x = x.mean(axis=1)
        if x.ndim != 1:
            raise AudioError(f"audio must be mono or (frames, channels), got shape {x.shape}")
        if np.issubdtype(x.dtype, np.integer):
            x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
        object.__setattr__(self, "samples", np.ascontiguousarray(x, dtype=np.float32))
        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        object.__setattr__(self, "meta", dict(self.meta))
        if self.sample_rate <= 0:
            raise AudioError(f"sample rate must be positive, got {self.sample_rate}")

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def is_silent(self, threshold: float = 1e-4) -> bool:
        """True when every sample is below ``threshold`` in magnitude (or there are none).

        Example:
            >>> Audio(np.zeros(10, dtype=np.float32), 8000).is_silent()
            True
        """
        return self.samples.size == 0 or float(np.max(np.abs(self.samples))) < threshold

    def to_wav_bytes(self) -> bytes:
        """Encode as a 16-bit PCM WAV file in memory.

        Example:
            >>> Audio(np.zeros(8, dtype=np.float32), 8000).to_wav_bytes()[:4]
            b'RIFF'
        """
        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, np.clip(self.samples, -1.0, 1.0), self.sample_rate, format="WAV",
                 subtype="PCM_16")
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, meta: Mapping[str, Any] | None = None) -> Audio:
        """Decode a WAV/FLAC/OGG file held in memory.

        Raises:
            AudioError: if the bytes are not a readable audio file.

        Example:
            >>> a = Audio(np.ones(8, dtype=np.float32) * 0.5, 8000)
            >>> Audio.from_bytes(a.to_wav_bytes()).sample_rate
            8000
        """
        import soundfile as sf

        try:
            x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, TypeError …
            raise AudioError(f"not a readable audio file ({len(data)} bytes): {e}") from None
        return cls(x.mean(axis=1), sr, meta or {})


@dataclass(frozen=True)
class Capabilities:
    """What an engine (with the model it has loaded) honours.

    ``params`` names the request fields that change the audio; a task that varies any other
    field is refused before it runs, unless forced.

    Example:
        >>> caps = capabilities_for_version("v2")
        >>> "sample_steps" in caps.params, caps.sample_rate, caps.aux_refs
        (False, 32000, True)
    """

    kind: str
    version: str | None = None
    params: frozenset[str] = frozenset()
    languages: tuple[str, ...] = API_LANGS
    sample_rate: int | None = None
    aux_refs: bool = False
    sample_steps_range: tuple[int, int] | None = None
    super_sampling: bool = False
    prompt_text_required: bool = False
    seed: bool = True
    ref_duration_s: tuple[float, float] | None = (REF_MIN_S, REF_MAX_S)
    voice_cloning: bool = True
    notes: str = ""

    def check(self, req: SynthesisRequest) -> None:
        """Raise :class:`~rasv.CapabilityError` for a request this engine cannot honour.

        Only hard refusals are raised here (unsupported language, missing prompt text where
        required); ignored sampling parameters are a planning-time warning, not an error.

        Example:
            >>> caps = capabilities_for_version("v1")
            >>> caps.check(SynthesisRequest(text="x", text_lang="ko", ref_audio_path="r",
            ...                             prompt_text="p", prompt_lang="zh"))
            Traceback (most recent call last):
            ...
            rasv.errors.CapabilityError: text_lang 'ko' is not supported by gpt-sovits v1 ...
        """
        who = f"{self.kind} {self.version}" if self.version else self.kind
        for name in ("text_lang", "prompt_lang"):
            code = getattr(req, name)
            if code not in self.languages:
                raise CapabilityError(
                    f"{name} {code!r} is not supported by {who} "
                    f"(it takes {', '.join(self.languages)})"
                )
        if self.prompt_text_required and not req.prompt_text.strip():
            raise CapabilityError(f"{who} needs the reference clip's transcript (prompt_text)")
        if req.aux_ref_audio_paths and not self.aux_refs:
            raise CapabilityError(f"{who} does not use auxiliary reference clips")

    def ignored(self, names: set[str] | frozenset[str]) -> set[str]:
        """The subset of ``names`` this engine ignores.

        Example:
            >>> sorted(capabilities_for_version("v2").ignored({"top_k", "sample_steps"}))
            ['sample_steps']
        """
        out = {n for n in names if n not in self.params}
        if "aux" in names and self.aux_refs:
            out.discard("aux")
        return out


@runtime_checkable
class Engine(Protocol):
    """A TTS engine the runner can drive.

    ``name`` identifies the engine instance on every take it makes (e.g. the server URL).
    ``load`` switches checkpoints (a no-op for engines without them); ``synthesize`` returns
    the audio or raises an :class:`~rasv.EngineError`.
    """

    name: str

    def capabilities(self) -> Capabilities: ...

    def load(self, gpt: Path | None, sovits: Path | None) -> None: ...

    def synthesize(self, req: SynthesisRequest) -> Audio: ...


# --- failures: transient or permanent (the runner's retry policy) -----------------------------


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same request later may succeed.

    Engine errors say so themselves (``EngineUnavailable`` always; ``EngineRequestError``
    for 5xx replies, timeouts and GPT-SoVITS's silent-failure reply). Bare connection and
    timeout errors from an engine that did not wrap them count as transient; everything else
    (bad input, capability refusals, 4xx replies) is permanent and is recorded on the take.

    Example:
        >>> from rasv.errors import EngineUnavailable, EngineRequestError
        >>> is_transient(EngineUnavailable("down")), is_transient(TimeoutError())
        (True, True)
        >>> is_transient(EngineRequestError("bad language", status=400))
        False
    """
    if isinstance(exc, EngineError):
        return bool(exc.transient)
    return isinstance(exc, (ConnectionError, TimeoutError))


def check_reference(path: str | Path, caps: Capabilities) -> float | None:
    """Check a local reference clip against the engine's duration rule; return its length.

    GPT-SoVITS refuses references outside 3–10 s (inclusive, silence counted) only after
    loading them, with a localised message; checking here gives a clear error before
    anything is sent. Engines without the rule (``caps.ref_duration_s`` is None) skip it.

    Raises:
        ReferenceOutOfRange: the clip is shorter or longer than the rule allows.
        AudioError: the file is missing or not audio.

    Example:
        >>> import tempfile, os
        >>> from rasv.audio.files import write_wav
        >>> p = os.path.join(tempfile.mkdtemp(), "r.wav")
        >>> write_wav(p, np.zeros(16000 * 2, dtype=np.float32), 16000)
        >>> check_reference(p, capabilities_for_version("v2"))
        Traceback (most recent call last):
        ...
        rasv.errors.ReferenceOutOfRange: reference clip r.wav is 2.00 s long; GPT-SoVITS takes 3-10 s references (silence included)
    """
    from rasv.audio.files import info

    if caps.ref_duration_s is None:
        return None
    duration = info(path).duration_s
    lo, hi = caps.ref_duration_s
    if not reference_in_range(duration, (lo, hi)):
        raise ReferenceOutOfRange(
            f"reference clip {Path(path).name} is {duration:.2f} s long; GPT-SoVITS takes "
            f"{lo:g}-{hi:g} s references (silence included)"
        )
    return duration


# --- GPT-SoVITS model versions (research/gsv-bridge.md §3) -----------------------------------

_COMMON = frozenset(
    {
        "top_k",
        "top_p",
        "temperature",
        "text_split_method",
        "speed_factor",
        "repetition_penalty",
        "batch_size",
        "fragment_interval",
        "seed",
        "parallel_infer",
        "split_bucket",
        "batch_threshold",
        "aux",
    }
)

#: Versions GPT-SoVITS knows, oldest first.
GSV_VERSIONS: tuple[str, ...] = ("v1", "v2", "v2Pro", "v2ProPlus", "v3", "v4")


def capabilities_for_kind(kind: str) -> Capabilities | None:
    """What every engine of ``kind`` honours, known before any engine is reached.

    ``None`` when it depends on the engine (GPT-SoVITS: on the model version, see
    :func:`capabilities_for_version`) or the kind is not one rasv ships. Task creation checks
    against this and the run against the live engine, with the same rule.

    Example:
        >>> sorted(capabilities_for_kind("espeak").params), capabilities_for_kind("gpt-sovits")
        (['speed_factor'], None)
    """
    if kind == "espeak":
        return Capabilities(
            kind="espeak",
            version=None,
            params=frozenset({"speed_factor"}),
            languages=API_LANGS,
            sample_rate=32000,
            aux_refs=False,
            seed=False,
            ref_duration_s=None,
            voice_cloning=False,
            notes=("espeak-ng formant synthesis for demos and tests, not a voice cloner: the "
                   "reference clip only sets the pitch; seed, sampling and aux clips are "
                   "ignored"),
        )
    return None


def capabilities_for_version(version: str | None, kind: str = "gpt-sovits") -> Capabilities:
    """The capabilities of a GPT-SoVITS model version (``None``: unknown, assume v2-like).

    Example:
        >>> c = capabilities_for_version("v3")
        >>> c.sample_rate, c.super_sampling, c.prompt_text_required, c.aux_refs
        (24000, True, True, False)
    """
    if version is not None and version not in GSV_VERSIONS:
        raise CapabilityError(
            f"unknown GPT-SoVITS version {version!r}; known: {', '.join(GSV_VERSIONS)}"
        )
    if version in ("v3", "v4"):
        params = (_COMMON - {"aux"}) | {"sample_steps"}
        if version == "v3":
            params = params | {"super_sampling"}
        return Capabilities(
            kind=kind,
            version=version,
            params=frozenset(params),
            languages=API_LANGS,
            sample_rate=24000 if version == "v3" else 48000,
            aux_refs=False,
            sample_steps_range=(4, 128) if version == "v3" else (4, 32),
            super_sampling=version == "v3",
            prompt_text_required=True,
            notes="v3/v4 use only the last ~5 s of the reference as the acoustic prompt",
        )
    return Capabilities(
        kind=kind,
        version=version,
        params=_COMMON,
        languages=V1_LANGS if version == "v1" else API_LANGS,
        sample_rate=32000,
        aux_refs=True,
    )


__all__ = [
    "GSV_VERSIONS",
    "REF_MAX_S",
    "REF_MIN_S",
    "reference_in_range",
    "Audio",
    "Capabilities",
    "capabilities_for_kind",
    "Engine",
    "SynthesisRequest",
    "capabilities_for_version",
    "check_reference",
    "is_transient",
]
