"""Engines from their short text form, as the CLI's ``--engine`` and the workbench take them.

Example:
    >>> from gsv_bridge import build_engine
    >>> build_engine("http://127.0.0.1:9880").url
    'http://127.0.0.1:9880'
"""

from __future__ import annotations

from typing import Any

from gsv_bridge.api_v2 import GsvApiV2
from gsv_bridge.espeak_engine import EspeakEngine
from rasv.errors import InvalidInput


def build_engine(spec: str, index: int = 0) -> Any:
    """Make an engine from its short form: a URL, ``espeak`` or ``fake[:SECONDS]``.

    The one place the CLI's ``--engine`` and the workbench's engine list turn text into an
    engine; ``fake`` is the test double of :mod:`rasv.testing`, chosen only when asked for.

    Example:
        >>> build_engine("fake:0.01", 2).name, build_engine("fake", 2).latency_s
        ('fake-3', 0.0)
    """
    text = spec.strip()
    low = text.lower()
    if low.startswith(("http://", "https://")):
        return GsvApiV2(text)
    if low == "espeak":
        return EspeakEngine()
    if low == "fake" or low.startswith("fake:"):
        from rasv.testing import FakeEngine

        latency = 0.0
        if ":" in low:
            try:
                latency = float(low.split(":", 1)[1])
            except ValueError:
                raise InvalidInput(f"--engine {spec!r}: write fake or fake:SECONDS") from None
        return FakeEngine(f"fake-{index + 1}", latency_s=latency)
    raise InvalidInput(
        f"--engine {spec!r} is not an engine: give a GPT-SoVITS api_v2 URL "
        "(http://127.0.0.1:9880), 'espeak', or 'fake'"
    )


__all__ = ["build_engine"]
