"""Fixtures for engine tests: reference clips, fabricated checkpoints, fake servers."""

from __future__ import annotations

import pytest

from rasv.testing import make_checkpoint, make_clip
from rasv.testing.fake_gsv import FakeGsvApiV1Server, FakeGsvServer


@pytest.fixture
def ref(tmp_path):
    """A 4 s speech-like reference clip."""
    return make_clip(tmp_path / "clips" / "ref.wav", 4.0, f0=150.0)


@pytest.fixture
def ckpts(tmp_path):
    """Fabricated checkpoints: v2ProPlus, v1 and v3 files, and a v4 LoRA (without its base)."""
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


@pytest.fixture
def srv(tmp_path):
    """A fake api_v2 server rooted in a temporary folder."""
    with FakeGsvServer(root=tmp_path / "gsv", keepalive_timeout=5.0) as s:
        yield s


@pytest.fixture
def v1srv(tmp_path):
    """A fake legacy api.py server."""
    with FakeGsvApiV1Server(root=tmp_path / "gsv1") as s:
        yield s
