"""Helpers shared by the serving tests."""

from __future__ import annotations


def tts_calls(fakes):
    """The /tts calls the fakes received for requests, without the engines' warm-up and
    prompt-reset throwaways (gsv_bridge.protocol sends those to a fresh server)."""
    from gsv_bridge.protocol import WARM_PROMPT

    return [c for f in fakes for c in f.calls_to("/tts")
            if c.body.get("prompt_text") != WARM_PROMPT]
