"""Helpers shared by the engine tests (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from rasv import SynthesisRequest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def request(ref: str, **kw) -> SynthesisRequest:
    """A full request like the runner sends: explicit seed, the clip's transcript."""
    fields = dict(text="今天天气很好，我们出去走走吧。", text_lang="zh", ref_audio_path=ref,
                  prompt_text="这是参考音频的文本", prompt_lang="zh", seed=7)
    fields.update(kw)
    return SynthesisRequest(**fields)

