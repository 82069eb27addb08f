"""``FakeEngine``: a deterministic in-process engine for tests and benchmarks.

Its audio depends only on the request: duration grows with the text's spoken units and
shrinks with ``speed_factor``; the seed and the reference path jitter it a little; the pitch
follows the reference path, so different clips give different takes. Every call is recorded,
so tests can assert what the engine received.

Example:
    >>> from rasv import SynthesisRequest
    >>> eng = FakeEngine()
    >>> req = SynthesisRequest(text="你好世界", text_lang="zh", ref_audio_path="r.wav",
    ...                        prompt_text="p", prompt_lang="zh", seed=1)
    >>> a = eng.synthesize(req); b = eng.synthesize(req)
    >>> a.duration_s == b.duration_s, len(eng.calls)
    (True, 2)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rasv.engine import Audio, Capabilities, SynthesisRequest
from rasv.errors import EngineRequestError
from rasv.langs import count_units

_ALL_PARAMS = frozenset(
    {
        "top_k", "top_p", "temperature", "text_split_method", "speed_factor", "sample_steps",
        "super_sampling", "repetition_penalty", "batch_size", "fragment_interval", "seed",
        "parallel_infer", "split_bucket", "batch_threshold", "aux",
    }
)


def _unit_hash(*parts: object) -> float:
    h = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


class FakeEngine:
    """A deterministic engine; optionally slow or failing, for runner tests and benches.

    Args:
        name: identity recorded on takes.
        latency_s: seconds each ``synthesize`` sleeps (simulates a server).
        load_latency_s: seconds each weight change sleeps.
        sample_rate: output rate.
        fail: a predicate on the request; when it returns an exception instance (or True),
            the call raises it (True raises a permanent ``EngineRequestError``).
        seconds_per_unit: base duration per spoken unit at speed 1.

    Example:
        >>> eng = FakeEngine(fail=lambda r: "boom" in r.text)
        >>> from rasv import SynthesisRequest, EngineRequestError
        >>> try:
        ...     eng.synthesize(SynthesisRequest(text="boom", text_lang="en",
        ...                    ref_audio_path="r", prompt_lang="en", seed=1))
        ... except EngineRequestError as e:
        ...     print("failed")
        failed
    """

    def __init__(
        self,
        name: str = "fake",
        *,
        latency_s: float = 0.0,
        load_latency_s: float = 0.0,
        sample_rate: int = 32000,
        fail: Callable[[SynthesisRequest], object] | None = None,
        seconds_per_unit: float = 0.2,
        version: str | None = None,
    ) -> None:
        self.name = name
        self.latency_s = latency_s
        self.load_latency_s = load_latency_s
        self.sample_rate = sample_rate
        self.fail = fail
        self.seconds_per_unit = seconds_per_unit
        self.version = version
        self.calls: list[SynthesisRequest] = []
        self.loads: list[tuple[str | None, str | None]] = []
        self.current: tuple[str | None, str | None] = (None, None)
        self._lock = threading.Lock()

    def capabilities(self) -> Capabilities:
        return Capabilities(
            kind="fake",
            version=self.version,
            params=_ALL_PARAMS,
            sample_rate=self.sample_rate,
            aux_refs=True,
            sample_steps_range=(1, 256),
            super_sampling=True,
            voice_cloning=False,
            notes="test double: deterministic tones, not speech",
        )

    def load(self, gpt: Path | None, sovits: Path | None) -> None:
        pair = (None if gpt is None else str(gpt), None if sovits is None else str(sovits))
        if pair == self.current:
            return
        if self.load_latency_s:
            time.sleep(self.load_latency_s)
        with self._lock:
            self.loads.append(pair)
            self.current = pair

    def synthesize(self, req: SynthesisRequest) -> Audio:
        with self._lock:
            self.calls.append(req)
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.fail is not None:
            outcome = self.fail(req)
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome:
                raise EngineRequestError("fake engine refused the request", status=400,
                                         body="refused", request=req)
        units = max(count_units(req.text), 1)
        jitter = 0.9 + 0.2 * _unit_hash(req.seed, req.ref_audio_path, req.top_k, req.top_p,
                                        req.temperature, req.repetition_penalty,
                                        tuple(req.aux_ref_audio_paths), self.current)
        duration = units * self.seconds_per_unit * jitter / req.speed_factor
        n = max(int(duration * self.sample_rate), 1)
        f0 = 100.0 + 150.0 * _unit_hash(req.ref_audio_path)
        t = np.arange(n) / self.sample_rate
        x = 0.2 * np.sin(2 * np.pi * f0 * t) * np.hanning(n)
        return Audio(x.astype(np.float32), self.sample_rate,
                     meta={"seed": req.seed, "engine": self.name})


__all__ = ["FakeEngine"]
