"""rasv's API with the real, offline espeak-ng engine behind it."""

from __future__ import annotations

import io

import openai
import soundfile as sf

from gsv_bridge import EspeakEngine
from rasv.serving import serve_api


def test_openai_client_hears_espeak(ws, make_voices):
    voices = make_voices(2, engine_kind="espeak")
    with serve_api(ws, [EspeakEngine()], port=0, block=False) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
        slow = c.audio.speech.create(model="tts-1", voice=voices[0], response_format="wav",
                                     input="The quick brown fox jumps over the lazy dog.",
                                     speed=0.75).read()
        fast = c.audio.speech.create(model="tts-1", voice=voices[0], response_format="wav",
                                     input="The quick brown fox jumps over the lazy dog.",
                                     speed=1.5).read()
    x, sr = sf.read(io.BytesIO(slow))
    y, _ = sf.read(io.BytesIO(fast))
    assert abs(x).max() > 0.05
    assert len(x) > 1.5 * len(y)
