"""The Products tab's Serve switch, driven headlessly."""

from __future__ import annotations

import openai
import pytest

import rasv
from rasv.testing import FakeEngine, make_clip
from widgets.context import Context
from widgets.products import ProductsPanel


@pytest.fixture
def panel(ws):
    role = ws.roles.create("女-小红")
    clip = ws.clips.add(role, make_clip(ws.root / "a.wav", 4.0), text="参考。")
    ws.products.create(role, "温柔", clip=clip.id, engine_kind="fake",
                       params=rasv.Params(seed=3))
    ctx = Context(ws, lang="en", engines=[FakeEngine()])
    ctx.role = role
    p = ProductsPanel(ctx)
    p.serve.port.value = 0
    yield p
    p.close()


def test_switch_serves_the_products_and_shows_how(panel):
    panel.serve.toggle.value = True
    url = panel.serve.url
    assert url and url in panel.serve.info.value
    assert "女-小红/温柔" in panel.serve.info.value and "curl" in panel.serve.info.value
    c = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    audio = c.audio.speech.create(model="tts-1", voice="女-小红/温柔", input="Hello.",
                                  response_format="wav").read()
    assert audio[:4] == b"RIFF"
    assert panel.serve.toggle.description == "Stop serving"
    server = panel.serve.server
    panel.serve.toggle.value = False
    assert panel.serve.url is None and panel.serve.info.value == ""
    assert server.httpd.socket.fileno() == -1  # the listening socket is closed


def test_switch_without_engines_says_so_and_stays_off(panel):
    panel.ctx.engines = []
    panel.serve.toggle.value = True
    assert panel.serve.toggle.value is False and panel.serve.url is None
    assert "Engines tab" in panel.ctx.notice.value


def test_switch_speaks_chinese(ws):
    ctx = Context(ws, lang="zh", engines=[FakeEngine()])
    assert ProductsPanel(ctx).serve.toggle.description == "对外提供语音服务"
