"""Fixtures for engine tests: reference clips, fabricated checkpoints, fake servers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from rasv import SynthesisRequest
from rasv.testing import make_checkpoint, make_clip
from rasv.testing.fake_gsv import FakeGsvApiV1Server, FakeGsvServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ref(tmp_path):
    """A 4 s speech-like reference clip."""
    return make_clip(tmp_path / "clips" / "ref.wav", 4.0, f0=150.0)


@pytest.fixture
def ckpts(tmp_path):
    """Fabricated checkpoints: v2ProPlus, v1 and v3 pairs, and a v4 LoRA with its base."""
    d = tmp_path / "weights"
    return {
        "gpt": make_checkpoint(d / "ann-e10.ckpt", version="v2"),
        "gpt2": make_checkpoint(d / "ann-e15.ckpt", version="v2"),
        "sovits": make_checkpoint(d / "ann_e8_s96.pth", version="v2ProPlus"),
        "sovits2": make_checkpoint(d / "ann_e12_s144.pth", version="v2ProPlus"),
        "gpt_v1": make_checkpoint(d / "old-e5.ckpt", version="v1"),
        "sovits_v1": make_checkpoint(d / "old_e5_s50.pth", version="v1"),
        "sovits_v3": make_checkpoint(d / "three_e2_s20.pth", version="v3"),
        "sovits_v4": make_checkpoint(d / "four_e2_s20_l32.pth", version="v4", lora_rank=32),
    }


def request(ref: str, **kw) -> SynthesisRequest:
    """A full request like the runner sends: explicit seed, the clip's transcript."""
    fields = dict(text="今天天气很好，我们出去走走吧。", text_lang="zh", ref_audio_path=ref,
                  prompt_text="这是参考音频的文本", prompt_lang="zh", seed=7)
    fields.update(kw)
    return SynthesisRequest(**fields)


@pytest.fixture
def srv(tmp_path):
    with FakeGsvServer(root=tmp_path / "gsv", keepalive_timeout=5.0) as s:
        yield s


@pytest.fixture
def v1srv(tmp_path):
    with FakeGsvApiV1Server(root=tmp_path / "gsv1") as s:
        yield s


def subprocess_env() -> dict[str, str]:
    """Environment for child processes that import rasv from this checkout."""
    return {**os.environ, "PYTHONPATH": str(REPO)}


PYTHON = sys.executable
