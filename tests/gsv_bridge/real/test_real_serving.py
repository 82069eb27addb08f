"""``rasv api`` on the real GPT-SoVITS: a product served through the OpenAI and api_v2 shapes
gives the audio the server itself gives for the product's exported request."""

from __future__ import annotations

import io

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from realkit import replay_export

import rasv
from gsv_bridge import GsvApiV2
from rasv.serving import serve_api

pytestmark = pytest.mark.gsv

TEXT = "今天天气很好。"


def test_served_product_matches_the_servers_own_audio(gsv, refs, gsv_server, tmp_path):
    ws = rasv.open(tmp_path / "ws")
    role = ws.roles.create("女声-ann")
    clip = ws.clips.add(role, refs["a"], text="参考音频的文本。", lang="zh")
    g, s = (ws.models.add(p, role=role) for p in gsv.weights["v2"])
    product = ws.products.create(role, "温柔", clip=clip.id, gpt=g.id, sovits=s.id,
                                 params=rasv.Params(seed=7))
    # A fresh engine on the shared server: it warms the server with its own throwaway
    # synthesis before the first request, so every served request below is a steady-state one.
    engine = GsvApiV2(gsv_server.url, timeout=300)
    try:
        with serve_api(ws, [engine], port=0, block=False, timeout_s=600) as api:
            client = openai.OpenAI(base_url=api.url + "/v1", api_key="unused", max_retries=0,
                                   timeout=600)
            said = []
            for _ in range(2):
                data = client.audio.speech.create(model="tts-1", voice="女声-ann/温柔",
                                                  input=TEXT, response_format="wav").read()
                x, sr = sf.read(io.BytesIO(data), dtype="float32")
                said.append((x, sr))
            body = ws.products.export_request(product.id, TEXT, "zh")
            r = httpx.post(api.url + "/tts", json={**body, "product": product.id}, timeout=600)
            assert r.status_code == 200, r.text
            via_api_v2 = rasv.Audio.from_bytes(r.content)
        # Replayed after the served requests: the server is warm and the explicit
        # /set_refer_audio reloads the reference outside the seeded request, so the direct
        # call is in the same state as the served ones.
        direct = replay_export(gsv_server.url, ws, product, body)
    finally:
        # We switched weights and the reference behind the shared engine's back.
        gsv_server.engine.assume_loaded(None, None)
    (x1, sr1), (x2, sr2) = said
    assert sr1 == sr2 == direct.sample_rate and len(x1) > sr1 // 10
    assert np.array_equal(x1, x2)  # determinism holds through the API
    # The OpenAI wav is 16-bit: the same audio as the server's, up to that rounding.
    assert len(x1) == len(direct.samples)
    assert np.max(np.abs(x1 - direct.samples)) <= 1.5 / 32768
    assert np.array_equal(via_api_v2.samples, direct.samples)
    assert via_api_v2.sample_rate == direct.sample_rate
    ws.close()
