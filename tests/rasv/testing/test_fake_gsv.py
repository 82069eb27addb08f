"""The fake GPT-SoVITS servers speak the real protocol: routes, validation, error shapes, habits."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from rasv import Audio
from rasv.testing import make_checkpoint, make_clip
from rasv.testing.fake_gsv import FakeGsvApiV1Server, FakeGsvServer

REPO = Path(__file__).resolve().parents[3]


def call(url, route, *, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + route, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


@pytest.fixture
def srv(tmp_path):
    with FakeGsvServer(root=tmp_path) as s:
        yield s


@pytest.fixture
def ref(tmp_path):
    return make_clip(tmp_path / "ref.wav", 4.0)


def body(ref, **kw):
    b = {"text": "你好世界", "text_lang": "zh", "ref_audio_path": ref, "prompt_text": "参考",
         "prompt_lang": "zh", "seed": 1}
    b.update(kw)
    return b


@pytest.mark.parametrize(("change", "message"), [
    ({"ref_audio_path": ""}, "ref_audio_path is required"),
    ({"text": ""}, "text is required"),
    ({"text_lang": ""}, "text_lang is required"),
    ({"text_lang": "xx"}, "text_lang: xx is not supported in version v2"),
    ({"prompt_lang": None}, "prompt_lang is required"),
    ({"media_type": "mp3"}, "media_type: mp3 is not supported"),
    ({"text_split_method": "cut9"}, "text_split_method:cut9 is not supported"),
    ({"streaming_mode": 7}, "the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)"),
])
def test_check_params_messages(srv, ref, change, message):
    status, _, raw = call(srv.url, "/tts", body=body(ref, **change))
    assert status == 400 and json.loads(raw) == {"message": message}


def test_pipeline_errors_and_quirks(srv, ref, tmp_path):
    status, _, raw = call(srv.url, "/tts", body=body(ref, text_lang="ZH"))
    assert status == 400 and json.loads(raw) == {"message": "tts failed", "Exception": ""}
    short = make_clip(tmp_path / "s.wav", 2.0)
    status, _, raw = call(srv.url, "/tts", body=body(short))
    assert json.loads(raw)["Exception"] == "参考音频在3~10秒范围外，请更换！"
    status, _, raw = call(srv.url, "/tts", body=body(str(tmp_path / "no.wav")))
    assert json.loads(raw)["Exception"].endswith("no.wav not exists")
    status, _, raw = call(srv.url, "/tts", body=body(ref, text="。。。"))
    assert json.loads(raw)["Exception"] == "请输入有效文本"
    status, _, raw = call(srv.url, "/tts", body=body(ref, top_k="many"))
    assert status == 422 and json.loads(raw)["detail"][0]["loc"] == ["body", "top_k"]


def test_get_tts_lowercases_and_500s_without_languages(srv, ref):
    q = f"/tts?text=hi&text_lang=EN&prompt_lang=EN&prompt_text=hey&ref_audio_path={ref}"
    status, ctype, raw = call(srv.url, q)
    assert status == 200 and ctype == "audio/wav" and Audio.from_bytes(raw).sample_rate == 32000
    status, ctype, raw = call(srv.url, f"/tts?text=hi&ref_audio_path={ref}")
    assert status == 500 and raw == b"Internal Server Error"


def test_routes_methods_and_control(srv):
    assert call(srv.url, "/nope")[0] == 404
    assert call(srv.url, "/set_gpt_weights", body={})[0] == 405  # GET only
    status, _, raw = call(srv.url, "/set_gpt_weights")
    assert (status, json.loads(raw)) == (400, {"message": "gpt weight path is required"})
    assert json.loads(call(srv.url, "/control")[2]) == {"message": "command is required"}
    assert call(srv.url, "/control?command=dance")[2] == b"null"
    assert call(srv.url, "/control?command=exit")[0] == 500
    deadline = time.monotonic() + 30  # the server stops on a thread of its own, soon after
    while srv.running:
        assert time.monotonic() < deadline, "the server did not exit"
        time.sleep(0.01)


def test_weight_switch_rewrites_yaml_even_when_it_fails(srv, tmp_path):
    good = make_checkpoint(tmp_path / "w" / "a-e1.ckpt")
    status, _, _ = call(srv.url, "/set_gpt_weights?weights_path=" + good)
    assert status == 200 and srv.gpt_path == good
    bad = str(tmp_path / "w" / "missing-e2.ckpt")
    status, _, raw = call(srv.url, "/set_gpt_weights?weights_path=" + bad)
    assert status == 400 and json.loads(raw)["message"] == "change gpt weight failed"
    assert srv.gpt_path == good  # the old model keeps serving …
    custom = yaml.safe_load(srv.config_path.read_text())["custom"]
    assert custom["t2s_weights_path"] == bad  # … but the config points at the bad file


def test_missing_configured_weights_fall_back_silently(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"custom": {"version": "v2", "vits_weights_path": "/nope.pth"}}))
    with FakeGsvServer(root=tmp_path, config_path=cfg) as s:
        assert s.sovits_path.endswith("s2G2333k.pth")


def test_streaming_reply_is_header_then_raw_pcm(srv, ref):
    status, _, raw = call(srv.url, "/tts", body=body(ref, streaming_mode=1))
    assert status == 200 and raw[:4] == b"RIFF" and len(raw) > 1000
    status, _, raw = call(srv.url, "/tts", body=body(ref, streaming_mode=1, text_lang="ZH"))
    assert status == 200 and raw == b""  # pipeline errors in streaming mode: 200 and nothing


def test_requests_are_served_one_at_a_time(tmp_path, ref):
    import threading

    # The first request to be served is held until all three are in: they are there together
    # however late a loaded machine starts the threads, and we can look while one is served.
    held = threading.Event()
    with FakeGsvServer(root=tmp_path) as s:
        s.inject("timeout", seconds=60, until=held)
        replies = []
        threads = [threading.Thread(target=lambda: replies.append(
            call(s.url, "/tts", body=body(ref)))) for _ in range(3)]
        try:
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while len(s.calls_to("/tts")) < 3:
                assert time.monotonic() < deadline, "the requests never arrived"
                time.sleep(0.01)
            assert s.max_concurrent == 3  # they arrived together …
            time.sleep(0.2)  # (room for a server that did not wait to answer the others)
            # … and while the first is served the others wait: none got as far as its body.
            assert [c.body for c in s.calls_to("/tts")] == [None] * 3
        finally:
            held.set()
        for t in threads:
            t.join()
        assert [r[0] for r in replies] == [200] * 3
        assert all(c.body is not None for c in s.calls_to("/tts"))


def test_legacy_api_quirks(tmp_path, ref):
    with FakeGsvApiV1Server(root=tmp_path) as s:
        status, _, raw = call(s.url, "/", body={"text": "hi", "text_language": "en"})
        assert status == 400 and json.loads(raw)["message"] == "未指定参考音频且接口无预设"
        b = {"refer_wav_path": ref, "prompt_text": "p", "prompt_language": "zh", "text": "你好",
             "text_language": "zh"}
        status, _, raw = call(s.url, "/", body=dict(b, refer_wav_path=str(tmp_path / "no.wav")))
        assert status == 200 and raw == b""
        assert call(s.url, "/change_refer", body={"refer_wav_path": ref})[0] == 200
        assert s.default_ref == {"refer_wav_path": ref, "prompt_text": None, "prompt_language": None}
        status, _, raw = call(s.url, "/set_model", body={"gpt_model_path": "x.ckpt"})
        assert status == 400 and json.loads(raw)["code"] == 400


def test_runs_as_a_process(tmp_path, ref):
    import re

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Port 0: the process binds a free port itself and says which (a port found free here
    # could be taken by another process before the child, slow to start, binds it).
    proc = subprocess.Popen([sys.executable, "-m", "rasv.testing.fake_gsv", "--port", "0",
                             "--root", str(tmp_path), "--latency", "0.01"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        line = proc.stdout.readline().decode()
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:([0-9]+))", line)
        assert found and int(found.group(2)) > 0, line
        url = found.group(1)
        status, _, raw = call(url, "/tts", body=body(ref))
        assert status == 200 and Audio.from_bytes(raw).duration_s > 0.3
        assert (tmp_path / "GPT_SoVITS" / "configs" / "tts_infer.yaml").is_file()
        call(url, "/control?command=exit")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_restart_waits_for_its_port_while_another_socket_holds_it(monkeypatch):
    # The port is "held" by refusing the bind, not by a real socket: in the full suite the
    # kernel could refuse a real second socket on that port for reasons of its own (CI twice).
    srv = FakeGsvServer().start()
    port = srv.port
    start = FakeGsvServer.start
    refusals = []

    def held_for(times):
        def bind(self):
            if len(refusals) < times:
                refusals.append(port)
                raise OSError(errno.EADDRINUSE, "Address already in use")
            return start(self)
        return bind

    try:
        monkeypatch.setattr(FakeGsvServer, "start", held_for(3))
        srv.restart()
        assert len(refusals) == 3  # it waited through three refused binds
        assert srv.running and srv.port == port
        assert call(srv.url, "/openapi.json")[0] == 200
        refusals.clear()
        monkeypatch.setattr(FakeGsvServer, "start", held_for(10 ** 6))
        with pytest.raises(OSError):
            srv.restart(rebind_s=0.3)  # held for good: the error is not swallowed
        assert not srv.running
    finally:
        monkeypatch.setattr(FakeGsvServer, "start", start)
        srv.stop()
