"""GSVI and api_v2 request shapes over httpx; auth, queue, failover and the request log."""

from __future__ import annotations

import io
import threading
import time

import httpx
import numpy as np
import pytest
import soundfile as sf

import rasv
from gsv_bridge import GsvApiV2
from rasv.serving import serve_api
from rasv.testing import FakeEngine
from rasv.testing.fake_gsv import FakeGsvServer
from tests.rasv.serving.serving_helpers import tts_calls


def test_character_list_is_roles_to_product_names(api, voices):
    assert httpx.get(api.url + "/character_list").json() == {"女-小红": ["温柔", "生气", "平静"]}


def test_gsvi_get_and_post(api, fakes):
    r = httpx.get(api.url + "/tts", params={"character": "小红", "emotion": "生气",
                                            "text": "你好。", "text_language": "中文",
                                            "top_k": "3", "speed": "1.2"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    r2 = httpx.post(api.url + "/tts", json={"character": "女-小红", "text": "Hello.",
                                            "format": "flac"})
    assert r2.status_code == 200 and r2.content[:4] == b"fLaC"
    bodies = [c.body for c in tts_calls(fakes)]
    by_seed = {b["seed"]: b for b in bodies}
    assert by_seed[11]["top_k"] == 3 and by_seed[11]["speed_factor"] == 1.2
    assert by_seed[11]["text_lang"] == "all_zh"
    assert by_seed[10]["top_k"] == 5  # no emotion: the best-scored product, its own top_k


def test_gsvi_stream_is_a_playable_wav(api):
    with httpx.stream("GET", api.url + "/tts", params={
            "character": "女-小红", "emotion": "温柔", "stream": "true",
            "text": "First part of the text, then more. " * 4}) as r:
        assert r.status_code == 200 and r.headers.get("transfer-encoding") == "chunked"
        data = r.read()
    assert data[:4] == b"RIFF"
    pcm = np.frombuffer(data[44:], "<i2")
    assert len(pcm) / 32000 > 2


def test_api_v2_product_fills_missing_fields(api, fakes):
    r = httpx.post(api.url + "/tts", json={"product": "生气", "text": "Good night.",
                                           "text_lang": "en", "temperature": 0.7,
                                           "media_type": "raw"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/pcm"
    body = [c.body for c in tts_calls(fakes)][-1]
    assert (body["seed"], body["top_k"], body["temperature"], body["prompt_text"]) == \
        (11, 6, 0.7, "参考音频。")
    r = httpx.get(api.url + "/tts", params={"product": "女-小红/平静", "text": "Hi.",
                                            "text_lang": "en", "streaming_mode": "1"})
    assert r.status_code == 200 and r.content[:4] == b"RIFF"


def test_api_v2_reference_must_be_workspace_content(api, ws, fakes):
    clip_path = ws.sql("SELECT path FROM clips").path[0]
    ok = httpx.post(api.url + "/tts", json={"product": "温柔", "text": "Hi.", "text_lang": "en",
                                            "ref_audio_path": clip_path})
    assert ok.status_code == 200
    for bad in ("/etc/passwd", "../../etc/passwd", str(ws.root / "rasv.duckdb"),
                str(ws.root / "ref.wav"), "ref.wav"):
        r = httpx.post(api.url + "/tts", json={"product": "温柔", "text": "Hi.",
                                               "text_lang": "en", "ref_audio_path": bad})
        assert r.status_code == 400, bad
        assert "not audio of this workspace" in r.json()["message"]
    r = httpx.post(api.url + "/tts", json={"product": "温柔", "text": "Hi.", "text_lang": "en",
                                           "aux_ref_audio_paths": ["/etc/hosts"]})
    assert r.status_code == 400


BAD_TTS = [
    ({"text": "hi"}, 400),  # neither product nor character
    ({"product": "nope", "text": "hi"}, 404),
    ({"product": "温柔", "text": ""}, 400),
    ({"product": "温柔", "text": "hi", "top_k": "many"}, 400),
    ({"product": "温柔", "text": "hi", "text_split_method": "cut9"}, 400),
    ({"product": "温柔", "text": "hi", "streaming_mode": "7"}, 400),
    ({"product": "温柔", "text": "hi", "text_lang": "xx"}, 400),
    ({"product": "温柔", "text": "hi", "media_type": "aac"}, 400),
    ({"character": "nobody", "text": "hi"}, 404),
]


def test_api_v2_and_gsvi_bad_input(api):
    for params, status in BAD_TTS:
        r = httpx.get(api.url + "/tts", params=params)
        assert r.status_code == status, (params, r.text)
        assert r.json()["message"]
        assert httpx.get(api.url + "/tts", params={"product": "温柔", "text": "Fine.",
                                                   "text_lang": "en"}).status_code == 200
    r = httpx.post(api.url + "/tts", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]


def test_api_key_required_on_every_route(ws, voices, fakes):
    with serve_api(ws, [GsvApiV2(fakes[0].url)], port=0, block=False,
                   api_key="s3cret") as srv:
        for path in ("/health", "/v1/audio/voices", "/character_list", "/products"):
            assert httpx.get(srv.url + path).status_code == 401
            assert httpx.get(srv.url + path, headers={
                "Authorization": "Bearer wrong"}).status_code == 401
        r = httpx.post(srv.url + "/v1/audio/speech", json={"input": "hi", "voice": "温柔"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        ok = httpx.post(srv.url + "/v1/audio/speech", headers={"Authorization": "Bearer s3cret"},
                        json={"input": "hi", "voice": "温柔", "response_format": "wav"})
        assert ok.status_code == 200


def test_other_hosts_need_a_key(ws, fakes):

    with pytest.raises(rasv.InvalidInput, match="API key"):
        serve_api(ws, [GsvApiV2(fakes[0].url)], host="0.0.0.0", port=0, block=False)


def test_full_queue_answers_503_with_retry_after(ws, voices):

    # The engine's first synthesis is held until the queue has been seen full: with a fixed
    # latency a loaded machine could start the requests so late that none ever waited.
    held = threading.Event()
    with FakeGsvServer() as slow, serve_api(
            ws, [GsvApiV2(slow.url)], port=0, block=False, max_queue=1) as srv:
        slow.inject("timeout", seconds=60, until=held)
        results = []

        def call():
            results.append(httpx.post(srv.url + "/v1/audio/speech", timeout=60, json={
                "input": "Hello.", "voice": "温柔", "response_format": "wav"}))

        def until(what, done):
            deadline = time.monotonic() + 30
            while not done():
                assert time.monotonic() < deadline, f"never: {what}"
                time.sleep(0.01)

        threads = [threading.Thread(target=call) for _ in range(2)]
        try:
            threads[0].start()
            until("the engine took the first request", lambda: slow.calls_to("/tts"))
            threads[1].start()
            until("the second request waited",
                  lambda: httpx.get(srv.url + "/health").json()["queue"] == 1)
            call(), call()  # the engine busy and the queue full: both turned away at once
        finally:
            held.set()
        for t in threads:
            t.join()
        codes = [r.status_code for r in results]
        assert codes == [503, 503, 200, 200]
        busy = next(r for r in results if r.status_code == 503)
        assert int(busy.headers["Retry-After"]) >= 1
        assert busy.json()["error"]["code"] == "queue_full"


def test_a_with_block_serves_with_one_loop_and_stops_it(ws):
    # serve_api(block=False) returns a started server and ``with`` enters it: started twice,
    # the second serving loop outlived stop() and spun on the closed socket for good.
    before = set(threading.enumerate())
    with serve_api(ws, [FakeEngine()], port=0, block=False) as srv:
        loops = [t for t in threading.enumerate()
                 if t not in before and t.name == "rasv-api-http"]
        assert httpx.get(srv.url + "/health").json()["status"] == "ok"
    assert len(loops) == 1 and not loops[0].is_alive()


def test_a_request_answered_as_the_server_stops_is_still_logged(ws, voices, fakes):
    # A request logs itself after its reply has left; here the log row comes only once
    # stop() has begun (and a moment later): stop() must wait for it before the last flush.
    srv = serve_api(ws, [GsvApiV2(fakes[0].url)], port=0, block=False)
    stopping = threading.Event()
    record, shutdown = srv.service.record, srv.httpd.shutdown

    def late_record(**kw):
        stopping.wait(30)
        time.sleep(0.5)  # (room for a stop() that did not wait to flush first)
        record(**kw)

    srv.service.record = late_record
    srv.httpd.shutdown = lambda: (shutdown(), stopping.set())
    try:
        r = httpx.post(srv.url + "/v1/audio/speech", timeout=60, json={
            "input": "Hello.", "voice": voices[0], "response_format": "wav"})
        assert r.status_code == 200
    finally:
        srv.stop()
    assert ws.sql("SELECT status FROM api_requests").status.tolist() == [200]


def test_dead_engine_is_taken_out_and_brought_back(api, fakes, voices):
    fakes[0].crash()
    for _ in range(4):
        r = httpx.post(api.url + "/v1/audio/speech", timeout=30, json={
            "input": "Still here.", "voice": voices[0], "response_format": "wav"})
        assert r.status_code == 200
    health = httpx.get(api.url + "/health").json()
    assert health["alive"] == 1
    fakes[0].restart()
    deadline = time.monotonic() + 10
    while httpx.get(api.url + "/health").json()["alive"] < 2:
        assert time.monotonic() < deadline, "the engine never came back"
        time.sleep(0.1)


def test_every_request_is_recorded(api, ws, voices):
    httpx.post(api.url + "/v1/audio/speech", json={"input": "Hello.", "voice": voices[2],
                                                   "response_format": "wav"})
    httpx.post(api.url + "/v1/audio/speech", json={"input": "Hello.", "voice": "nobody"})
    httpx.get(api.url + "/tts", params={"character": "小红", "emotion": "温柔", "text": "你好"})
    deadline = time.monotonic() + 10
    while True:  # a request is logged right after its reply is sent
        api.service.recorder.flush()
        if ws.sql("SELECT count(*) AS n FROM api_requests").n[0] == 3:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    df = ws.sql("SELECT api, voice, product_id, chars, status, engine, seconds, audio_s"
                " FROM api_requests ORDER BY id")
    assert df.api.tolist() == ["openai", "openai", "gsvi"]
    assert df.status.tolist() == [200, 404, 200]
    assert df.voice[0] == voices[2] and df.chars[0] == 6 and df.audio_s[0] > 0
    assert df.engine[0].startswith("http://127.0.0.1:") and df.seconds[0] > 0


def test_same_request_same_audio(api, voices):
    def say():
        return httpx.post(api.url + "/v1/audio/speech", json={
            "input": "Same words.", "voice": voices[0], "response_format": "wav"}).content
    a, b = say(), say()
    x, _ = sf.read(io.BytesIO(a))
    y, _ = sf.read(io.BytesIO(b))
    assert np.array_equal(x, y)


def test_a_product_made_while_serving_is_a_voice_at_once(api, ws):
    role = ws.roles.get("女-小红")
    clip = int(ws.sql("SELECT id FROM clips").id[0])
    ws.products.create(role, "新来的", clip=clip, params=rasv.Params(seed=99))
    r = httpx.post(api.url + "/v1/audio/speech", json={"input": "Hello.", "voice": "女-小红/新来的",
                                                       "response_format": "wav"})
    assert r.status_code == 200
    voices = [v["id"] for v in httpx.get(api.url + "/v1/audio/voices").json()["voices"]]
    assert "女-小红/新来的" in voices
