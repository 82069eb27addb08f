"""Fixtures for the API server tests: a workspace with voices, fake GPT-SoVITS servers."""

from __future__ import annotations

import pytest

import rasv
from gsv_bridge import GsvApiV2
from rasv.serving import serve_api
from rasv.testing import make_checkpoint, make_clip

NAMES = ("温柔", "生气", "平静")


@pytest.fixture
def make_voices(ws):
    """``make_voices(n, engine_kind)``: n products of role 女-小红, each on its own
    (GPT, SoVITS) pair for GPT-SoVITS; returns their voice names."""

    def make(n: int = 3, engine_kind: str = "gpt-sovits") -> list[str]:
        role = ws.roles.create("女-小红")
        clip = ws.clips.add(role, make_clip(ws.root / "ref.wav", 4.0), text="参考音频。")
        names = []
        for i in range(n):
            kw = {}
            if engine_kind == "gpt-sovits":
                g = ws.models.add(make_checkpoint(ws.root / "models" / f"v{i}-e{i + 1}.ckpt"))
                s = ws.models.add(make_checkpoint(ws.root / "models" / f"v{i}_e{i + 1}_s9.pth"))
                kw = {"gpt": g.id, "sovits": s.id}
            ws.products.create(role, NAMES[i], clip=clip.id, engine_kind=engine_kind,
                               params=rasv.Params(seed=10 + i, top_k=5 + i), score=5 - i, **kw)
            names.append(f"女-小红/{NAMES[i]}")
        return names

    return make


@pytest.fixture
def voices(make_voices):
    return make_voices()


@pytest.fixture
def api(ws, voices, fakes):
    """A running API server on two fake GPT-SoVITS servers (inputs over 60 characters are cut)."""
    srv = serve_api(ws, [GsvApiV2(f.url) for f in fakes], port=0, block=False,
                    probe_s=0.2, chunk_chars=60)
    yield srv
    srv.stop()

