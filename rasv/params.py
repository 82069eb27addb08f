"""Sampling parameters, with GPT-SoVITS ``api_v2``'s defaults.

``Params`` is what a comparison task fixes or varies besides the clip, the text and the
checkpoints. It is frozen; change it with :meth:`Params.replace`.

Example:
    >>> p = Params(top_k=5)
    >>> p.top_k, p.top_p, p.text_split_method
    (5, 1.0, 'cut5')
    >>> p.replace(temperature=0.7).temperature
    0.7
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from rasv.errors import InvalidInput

#: GPT-SoVITS's text cut methods (``text_split_method``).
SPLIT_METHODS: tuple[str, ...] = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")

#: GPT-SoVITS ``api_v2``'s ``/tts`` defaults, the one table both :class:`Params` and
#: :class:`rasv.engine.SynthesisRequest` take theirs from (research/gsv-bridge.md §2; top_k is
#: 15 since upstream's 2025-12 change). ``tests/rasv/test_params.py`` pins it to upstream's
#: documented values.
API_V2_DEFAULTS: dict[str, Any] = {
    "top_k": 15,
    "top_p": 1.0,
    "temperature": 1.0,
    "text_split_method": "cut5",
    "batch_size": 1,
    "batch_threshold": 0.75,
    "split_bucket": True,
    "speed_factor": 1.0,
    "fragment_interval": 0.3,
    "seed": -1,
    "media_type": "wav",
    "streaming_mode": 0,
    "parallel_infer": True,
    "repetition_penalty": 1.35,
    "sample_steps": 32,
    "super_sampling": False,
    "overlap_length": 2,
    "min_chunk_length": 16,
}

#: Parameters that change the audio and that a task may vary (besides clip, models, aux, text).
VARIABLE_PARAMS: tuple[str, ...] = (
    "top_k",
    "top_p",
    "temperature",
    "text_split_method",
    "speed_factor",
    "sample_steps",
    "super_sampling",
    "repetition_penalty",
    "batch_size",
    "fragment_interval",
    "seed",
)


@dataclass(frozen=True)
class Params:
    """One full set of GPT-SoVITS sampling parameters.

    Defaults are those of ``api_v2``'s ``/tts`` on current GPT-SoVITS (top_k 15 since 2025-12).
    ``seed`` of ``None`` means "chosen by the task" (the runner always sends an explicit seed).
    ``extra`` carries engine-specific or future parameters; they enter the take id too.

    Example:
        >>> Params(top_k=10, extra={"noise_scale": 0.4}).as_dict()["extra"]
        {'noise_scale': 0.4}
    """

    top_k: int = API_V2_DEFAULTS["top_k"]
    top_p: float = API_V2_DEFAULTS["top_p"]
    temperature: float = API_V2_DEFAULTS["temperature"]
    text_split_method: str = API_V2_DEFAULTS["text_split_method"]
    speed_factor: float = API_V2_DEFAULTS["speed_factor"]
    sample_steps: int = API_V2_DEFAULTS["sample_steps"]
    super_sampling: bool = API_V2_DEFAULTS["super_sampling"]
    repetition_penalty: float = API_V2_DEFAULTS["repetition_penalty"]
    batch_size: int = API_V2_DEFAULTS["batch_size"]
    fragment_interval: float = API_V2_DEFAULTS["fragment_interval"]
    parallel_infer: bool = API_V2_DEFAULTS["parallel_infer"]
    split_bucket: bool = API_V2_DEFAULTS["split_bucket"]
    batch_threshold: float = API_V2_DEFAULTS["batch_threshold"]
    # None, not api_v2's -1: "chosen by the task"; the runner always sends an explicit seed.
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Coerce numeric types so that Params(top_p=1) and Params(top_p=1.0) hash alike.
        for name in ("top_p", "temperature", "speed_factor", "repetition_penalty",
                     "fragment_interval", "batch_threshold"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("top_k", "sample_steps", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value:
                raise InvalidInput(f"{name} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("super_sampling", "parallel_infer", "split_bucket"):
            object.__setattr__(self, name, bool(getattr(self, name)))
        if self.seed is not None:
            if isinstance(self.seed, bool) or int(self.seed) != self.seed:
                raise InvalidInput(f"seed must be a whole number, got {self.seed!r}")
            object.__setattr__(self, "seed", int(self.seed))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~rasv.InvalidInput` for values GPT-SoVITS would reject or misuse."""
        if self.top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise InvalidInput(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0.0 < self.temperature <= 2.0:
            raise InvalidInput(f"temperature must be in (0, 2], got {self.temperature}")
        if self.text_split_method not in SPLIT_METHODS:
            raise InvalidInput(
                f"text_split_method must be one of {', '.join(SPLIT_METHODS)}, "
                f"got {self.text_split_method!r}"
            )
        if not 0.25 <= self.speed_factor <= 4.0:
            raise InvalidInput(f"speed_factor must be in [0.25, 4], got {self.speed_factor}")
        if not 1 <= self.sample_steps <= 256:
            raise InvalidInput(f"sample_steps must be in [1, 256], got {self.sample_steps}")
        if self.repetition_penalty <= 0:
            raise InvalidInput(f"repetition_penalty must be positive, got {self.repetition_penalty}")
        if self.batch_size < 1:
            raise InvalidInput(f"batch_size must be at least 1, got {self.batch_size}")
        if self.fragment_interval < 0:
            raise InvalidInput(f"fragment_interval must be >= 0, got {self.fragment_interval}")
        if self.seed is not None and not -1 <= self.seed < 2**32:
            raise InvalidInput(f"seed must be in [-1, 2**32), got {self.seed}")
        try:
            json.dumps(self.extra, sort_keys=True)
        except TypeError as e:
            raise InvalidInput(f"extra must hold JSON values only: {e}") from None

    def replace(self, **changes: Any) -> Params:
        """Return a copy with some fields changed; an unknown name is an error.

        Example:
            >>> Params().replace(top_k=3).top_k
            3
        """
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InvalidInput(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (``extra`` copied).

        Example:
            >>> Params().as_dict()["top_k"]
            15
        """
        d = dataclasses.asdict(self)
        d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Params:
        """Build from a dict; keys that are not fields go to ``extra``.

        Example:
            >>> Params.from_dict({"top_k": 5, "noise_scale": 0.3}).extra
            {'noise_scale': 0.3}
        """
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names and k != "extra"}
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in names})
        return cls(**known, extra=extra)

    def canonical(self) -> dict[str, Any]:
        """A JSON-stable dict used in take ids: floats rounded, ``extra`` sorted.

        Example:
            >>> Params(top_p=0.8).canonical()["top_p"]
            0.8
        """
        d = self.as_dict()
        for k, v in list(d.items()):
            if isinstance(v, float):
                d[k] = round(v, 6)
        d["extra"] = json.loads(json.dumps(self.extra, sort_keys=True))
        return d


__all__ = ["API_V2_DEFAULTS", "Params", "SPLIT_METHODS", "VARIABLE_PARAMS"]
