"""The OpenAI Python client against rasv's API server (fake GPT-SoVITS engines behind it)."""

from __future__ import annotations

import io

import httpx
import openai
import pytest
import soundfile as sf

from tests.rasv.serving.serving_helpers import tts_calls


def client(api, key="unused"):
    return openai.OpenAI(base_url=api.url + "/v1", api_key=key, max_retries=0)


def test_speech_create_wav_has_the_products_seed_and_models(api, fakes, voices):
    out = client(api).audio.speech.create(model="tts-1", voice=voices[1], input="今天天气很好。",
                                          response_format="wav")
    x, sr = sf.read(io.BytesIO(out.read()))
    assert sr == 32000 and len(x) > 3200
    calls = tts_calls(fakes)
    assert [c.body["seed"] for c in calls] == [11]
    assert calls[0].body["top_k"] == 6
    assert any(c.params["weights_path"].endswith("v1_e2_s9.pth")
               for f in fakes for c in f.calls_to("/set_sovits_weights"))


def test_every_offline_format_decodes(api, voices):
    for fmt, magic in (("mp3", None), ("flac", b"fLaC"), ("opus", b"OggS"), ("wav", b"RIFF")):
        data = client(api).audio.speech.create(model="x", voice=voices[0], input="Hello there.",
                                               response_format=fmt).read()
        if magic:
            assert data[:4] == magic
        x, sr = sf.read(io.BytesIO(data))
        assert len(x) / sr > 0.2, fmt


def test_pcm_is_24khz_16bit(api, voices):
    wav = client(api).audio.speech.create(model="x", voice=voices[0], input="Hello there.",
                                          response_format="wav").read()
    x, sr = sf.read(io.BytesIO(wav))
    pcm = client(api).audio.speech.create(model="x", voice=voices[0], input="Hello there.",
                                          response_format="pcm").read()
    assert abs(len(pcm) / 2 / 24000 - len(x) / sr) < 0.01


def test_speed_reaches_the_engine(api, fakes, voices):
    client(api).audio.speech.create(model="x", voice=voices[0], input="Hi there.", speed=1.5,
                                    response_format="wav")
    assert [c.body["speed_factor"] for c in tts_calls(fakes)] == [1.5]


def test_unique_product_name_is_a_voice(api, voices):
    data = client(api).audio.speech.create(model="x", voice="平静", input="Hi.",
                                           response_format="wav").read()
    assert data[:4] == b"RIFF"


def test_long_input_is_chunked_and_joined(api, fakes, voices):
    text = "This is a sentence of a long text, spoken in parts. " * 6
    data = client(api).audio.speech.create(model="x", voice=voices[0], input=text,
                                           response_format="wav").read()
    x, sr = sf.read(io.BytesIO(data))
    texts = [c.body["text"] for c in tts_calls(fakes)]
    assert len(texts) >= 4 and all(len(t) <= 60 for t in texts)
    assert sorted(" ".join(texts).split()) == sorted(text.split())
    assert len(x) / sr > 5


BAD_OPENAI = [
    ({"voice": "nobody/none", "input": "hi"}, 404, "voice_not_found"),
    ({"input": "", "voice": "平静"}, 400, "invalid_request"),
    ({"input": "x" * 5000, "voice": "平静"}, 400, "invalid_request"),
    ({"input": "hi", "voice": "平静", "response_format": "aac"}, 400, "invalid_request"),
    ({"input": "hi", "voice": "平静", "response_format": "ogg"}, 400, "invalid_request"),
    ({"input": "hi", "voice": "平静", "speed": 9}, 400, "invalid_request"),
]


def test_bad_requests_are_clear_4xx_and_the_next_works(api, voices):
    c = client(api)
    for kwargs, status, code in BAD_OPENAI:
        with pytest.raises(openai.APIStatusError) as err:
            c.audio.speech.create(model="x", **kwargs)
        assert err.value.status_code == status, kwargs
        assert err.value.body["code"] == code and err.value.body["message"]
        assert c.audio.speech.create(model="x", voice=voices[0], input="Fine.",
                                     response_format="wav").read()[:4] == b"RIFF"


def test_malformed_bodies(api, voices):
    for body in (b"{not json", b"[1, 2]", b"", b"\"text\""):
        r = httpx.post(api.url + "/v1/audio/speech", content=body,
                       headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 411), body
        assert r.json()["error"]["message"]
    big = httpx.post(api.url + "/v1/audio/speech", content=b"x" * (300 * 1024))
    assert big.status_code == 413
    assert httpx.get(api.url + "/health").status_code == 200


def test_listings(api, voices):
    models = client(api).models.list()
    assert "tts-1" in [m.id for m in models.data]
    got = httpx.get(api.url + "/v1/audio/voices").json()["voices"]
    assert [v["id"] for v in got] == voices
    health = httpx.get(api.url + "/health").json()
    assert health["alive"] == 2 and health["queue"] == 0 and health["voices"] == 3


def test_unknown_route_and_method(api):
    assert httpx.get(api.url + "/etc/passwd").status_code == 404
    assert httpx.get(api.url + "/v1/audio/speech").status_code == 405
    assert httpx.get(api.url + "/ref.wav").status_code == 404
