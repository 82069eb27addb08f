"""Turn the three request shapes clients send into one :class:`Speech`.

- OpenAI ``POST /v1/audio/speech``: ``input``, ``voice`` (``"<role>/<product>"``),
  ``response_format`` (default ``mp3``, as OpenAI's), ``speed`` 0.25–4.0 → ``speed_factor``.
- GSVI ``/tts``: ``character`` (a role), ``emotion`` (a product), ``text``,
  ``text_language``, ``format``, ``stream`` and the sampling overrides ``top_k``, ``top_p``,
  ``temperature``, ``batch_size``, ``speed``, ``seed``.
- api_v2 ``/tts`` with ``product=``: every api_v2 field; the product's preset fills the rest.
  A ``ref_audio_path`` or ``aux_ref_audio_paths`` may only name clips of the workspace.

Values from a query string arrive as text and are converted by the field's type; a value
that does not convert is a clear :class:`~rasv.InvalidInput`.

Example:
    >>> args = coerce({"top_k": "5", "split_bucket": "false"}, {"top_k", "split_bucket"})
    >>> args
    {'top_k': 5, 'split_bucket': False}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rasv.engine import SynthesisRequest
from rasv.errors import InvalidInput
from rasv.langs import normalize_lang
from rasv.serving.catalog import Catalog, Voice
from rasv.serving.encode import OPENAI_PCM_RATE, check_format

#: Sampling fields a request may set (api_v2's names); the product's values fill the rest.
SAMPLING_FIELDS = frozenset({
    "top_k", "top_p", "temperature", "text_split_method", "batch_size", "batch_threshold",
    "split_bucket", "speed_factor", "fragment_interval", "seed", "parallel_infer",
    "repetition_penalty", "sample_steps", "super_sampling", "overlap_length",
    "min_chunk_length"})
#: Reference fields an api_v2 request may set (clips of the workspace only).
REFERENCE_FIELDS = frozenset({"ref_audio_path", "aux_ref_audio_paths", "prompt_text",
                              "prompt_lang"})
_TYPES = {f.name: type(f.default) for f in dataclasses.fields(SynthesisRequest)
          if f.default is not dataclasses.MISSING}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_CUTS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")


@dataclass(frozen=True)
class Speech:
    """One request to speak, whatever API it came through.

    Example:
        >>> v = Voice(1, 1, "a-b", "b", "p", "fake", None, "")
        >>> Speech("openai", v, "hi", None, "wav").stream
        False
    """

    api: str
    voice: Voice
    text: str
    text_lang: str | None
    fmt: str
    stream: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: Resample raw PCM to this rate (OpenAI's pcm is 24 kHz).
    pcm_rate: int | None = None


def coerce(args: Mapping[str, Any], names: frozenset[str] | set[str]) -> dict[str, Any]:
    """The fields of ``args`` named in ``names``, converted to api_v2's types.

    Raises:
        InvalidInput: a value of the wrong type, or an unknown ``text_split_method``.

    Example:
        >>> try:
        ...     coerce({"top_k": "many"}, {"top_k"})
        ... except InvalidInput as e:
        ...     print(e)
        top_k must be an integer, got 'many'
    """
    out: dict[str, Any] = {}
    for name in args:
        if name not in names or args[name] is None:
            continue
        value, typ = args[name], _TYPES.get(name, str)
        out[name] = _convert(name, value, typ)
    if "text_split_method" in out and out["text_split_method"] not in _CUTS:
        raise InvalidInput(f"text_split_method must be one of {', '.join(_CUTS)}, got "
                           f"{out['text_split_method']!r}")
    if "prompt_lang" in out:
        out["prompt_lang"] = normalize_lang(out["prompt_lang"])
    return out


def _convert(name: str, value: Any, typ: type) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise InvalidInput(f"{name} must be true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise InvalidInput(f"{name} must be an integer, got {value!r}")
        try:
            f = float(value)
            if f != int(f):
                raise ValueError
            return int(f)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(f"{name} must be an integer, got {value!r}") from None
    if typ is float:
        if isinstance(value, bool):
            raise InvalidInput(f"{name} must be a number, got {value!r}")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{name} must be a number, got {value!r}") from None
        if f != f or f in (float("inf"), float("-inf")):
            raise InvalidInput(f"{name} must be a finite number, got {value!r}")
        return f
    if typ is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"{name} must be a list of paths")
        return tuple(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, got {type(value).__name__}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required: the text to speak")
    return value


def _lang(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    return normalize_lang(str(value))


def from_openai(body: Any, catalog: Catalog) -> Speech:
    """An OpenAI speech request (a parsed JSON object).

    Example:
        >>> import rasv, tempfile
        >>> catalog = Catalog(rasv.open(tempfile.mkdtemp()))
        >>> from_openai({"input": "hi", "voice": "x"}, catalog)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rasv.errors.ProductNotFound: product x does not exist in this workspace: ...
    """
    if not isinstance(body, Mapping):
        raise InvalidInput("the body must be a JSON object with input and voice")
    text = _text(body.get("input"), "input")
    voice = body.get("voice")
    if isinstance(voice, Mapping):  # newer clients may send {"id": "..."}
        voice = voice.get("id")
    if not isinstance(voice, str) or not voice.strip():
        raise InvalidInput("voice is required: '<role>/<product>' (see GET /v1/audio/voices)")
    if body.get("stream_format") not in (None, "audio"):
        raise InvalidInput("stream_format 'sse' is not supported; use 'audio'")
    fmt = check_format(body.get("response_format") or "mp3")
    if fmt in ("raw", "ogg"):
        raise InvalidInput(f"response_format must be one of aac, flac, mp3, opus, pcm, wav; "
                           f"got {fmt!r}")
    overrides: dict[str, Any] = {}
    if body.get("speed") is not None:
        speed = _convert("speed", body["speed"], float)
        if not 0.25 <= speed <= 4.0:
            raise InvalidInput(f"speed must be between 0.25 and 4.0, got {speed:g}")
        overrides["speed_factor"] = speed
    return Speech("openai", catalog.find(voice), text, _lang(body.get("language")), fmt,
                  stream=False, overrides=overrides, pcm_rate=OPENAI_PCM_RATE)


def from_gsvi(args: Mapping[str, Any], catalog: Catalog) -> Speech:
    """A GSVI ``/tts`` request (query or JSON body).

    Example:
        >>> import rasv, tempfile
        >>> from_gsvi({"character": "", "text": "hi"}, Catalog(rasv.open(tempfile.mkdtemp())))
        Traceback (most recent call last):
        rasv.errors.InvalidInput: name a character (a role with products; see /character_list)
    """
    voice = catalog.find_character(args.get("character"), args.get("emotion"))
    text = _text(args.get("text"), "text")
    overrides = coerce(args, {"top_k", "top_p", "temperature", "batch_size", "seed",
                              "text_split_method"})
    if args.get("speed") is not None:
        overrides["speed_factor"] = _convert("speed", args["speed"], float)
    lang = args.get("text_language") or args.get("text_lang")
    stream = _convert("stream", args.get("stream", False), bool)
    return Speech("gsvi", voice, text, _lang(lang), check_format(args.get("format") or "wav"),
                  stream=stream, overrides=overrides)


def from_api_v2(args: Mapping[str, Any], catalog: Catalog) -> Speech:
    """An api_v2 ``/tts`` request naming ``product`` (an id, a name or a voice).

    Example:
        >>> import rasv, tempfile
        >>> try:
        ...     from_api_v2({"product": "9", "text": "hi", "text_lang": "en"},
        ...                 Catalog(rasv.open(tempfile.mkdtemp())))
        ... except rasv.ProductNotFound as e:
        ...     print(str(e)[:24])
        product 9 does not exist
    """
    voice = catalog.find(args.get("product"))
    text = _text(args.get("text"), "text")
    overrides = coerce(args, SAMPLING_FIELDS | REFERENCE_FIELDS)
    if "ref_audio_path" in overrides:
        overrides["ref_audio_path"] = catalog.workspace_audio(overrides["ref_audio_path"])
    if "aux_ref_audio_paths" in overrides:
        overrides["aux_ref_audio_paths"] = tuple(
            catalog.workspace_audio(p) for p in overrides["aux_ref_audio_paths"])
    mode = args.get("streaming_mode", 0)
    mode = int(mode) if isinstance(mode, bool) else _convert("streaming_mode", mode, int)
    if mode not in (0, 1, 2, 3):
        raise InvalidInput("the value of streaming_mode must be 0, 1, 2, 3(int) or "
                           "true/false(bool)")
    fmt = check_format(args.get("media_type") or "wav")
    return Speech("api_v2", voice, text, _lang(args.get("text_lang")), fmt, stream=mode > 0,
                  overrides=overrides)


__all__ = ["REFERENCE_FIELDS", "SAMPLING_FIELDS", "Speech", "coerce", "from_api_v2",
           "from_gsvi", "from_openai"]
