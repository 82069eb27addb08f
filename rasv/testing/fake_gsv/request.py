"""GPT-SoVITS's ``TTS_Request`` as the fake validates it: fields, lax coercion, 422 errors.

Example:
    >>> TTS_FIELDS["top_k"], coerce("true", bool, from_query=True)
    ((<class 'int'>, 15), (True, True))
"""

from __future__ import annotations

from typing import Any

#: ``TTS_Request``'s fields with their types and defaults (current GPT-SoVITS ``main``).
TTS_FIELDS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "text": (str, None),
    "text_lang": (str, None),
    "ref_audio_path": (str, None),
    "aux_ref_audio_paths": (list, None),
    "prompt_lang": (str, None),
    "prompt_text": (str, ""),
    "top_k": (int, 15),
    "top_p": (float, 1.0),
    "temperature": (float, 1.0),
    "text_split_method": (str, "cut5"),
    "batch_size": (int, 1),
    "batch_threshold": (float, 0.75),
    "split_bucket": (bool, True),
    "speed_factor": (float, 1.0),
    "fragment_interval": (float, 0.3),
    "seed": (int, -1),
    "media_type": (str, "wav"),
    "streaming_mode": ((bool, int), False),
    "parallel_infer": (bool, True),
    "repetition_penalty": (float, 1.35),
    "sample_steps": (int, 32),
    "super_sampling": (bool, False),
    "overlap_length": (int, 2),
    "min_chunk_length": (int, 16),
}


def coerce(value: Any, typ: Any, *, from_query: bool) -> tuple[Any, bool]:
    """Pydantic-like lax coercion of a query (``from_query``) or JSON value: ``(value, ok)``.

    Example:
        >>> coerce("1", (bool, int), from_query=True), coerce(3.0, int, from_query=False)
        ((1, True), (3, True))
        >>> coerce("x", int, from_query=True)
        ('x', False)
    """
    types = typ if isinstance(typ, tuple) else (typ,)
    if from_query and isinstance(value, str):
        if bool in types:
            low = value.lower()
            if low in ("true", "1", "yes", "on"):
                return (1 if int in types and low == "1" else True), True
            if low in ("false", "0", "no", "off"):
                return (0 if int in types and low == "0" else False), True
        if int in types:
            try:
                return int(value), True
            except ValueError:
                pass
        if float in types:
            try:
                return float(value), True
            except ValueError:
                return value, False
        if str in types:
            return value, True
        return value, False
    if str in types:
        return value, isinstance(value, str)
    if list in types:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value, ok
    if bool in types and int not in types:
        if isinstance(value, bool):
            return value, True
        if isinstance(value, int) and value in (0, 1):
            return bool(value), True
        return value, False
    if int in types:
        if isinstance(value, bool):
            return value, True
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and value.is_integer():
            return int(value), True
        return value, False
    if float in types:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), True
        return value, False
    return value, True


def type_error(name: str, value: Any, typ: Any, *, where: str) -> dict[str, Any]:
    """FastAPI's 422 ``detail`` entry for a value of the wrong type.

    Example:
        >>> type_error("top_k", "x", int, where="query")["msg"]
        'Input should be a valid integer'
    """
    types = typ if isinstance(typ, tuple) else (typ,)
    word = {str: "a valid string", int: "a valid integer", float: "a valid number",
            bool: "a valid boolean", list: "a valid list"}[types[0]]
    return {"type": "type_error", "loc": [where, name], "msg": f"Input should be {word}",
            "input": value}


__all__ = ["TTS_FIELDS", "coerce", "type_error"]
