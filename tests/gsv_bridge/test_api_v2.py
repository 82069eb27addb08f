"""GsvApiV2 against the fake api_v2 server: requests, switching, failures, caches, locking."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from gsv_helpers import request

import rasv
from gsv_bridge import GsvApiV2
from rasv.testing import make_clip
from rasv.testing.fake_gsv import FakeGsvServer


def test_post_body_is_complete_lowercase_and_explicit(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    aux = make_clip(os.path.join(os.path.dirname(ref), "aux.wav"), 5.0, f0=220.0)
    a = eng.synthesize(request(ref, text_lang="ZH", prompt_lang="All_ZH", top_k=5,
                               aux_ref_audio_paths=[aux], seed=1234))
    tts = srv.calls_to("/tts")
    # A fresh server gets one throwaway synthesis first (gsv_bridge.protocol), then the take.
    assert len(tts) == 2 and tts[1].method == "POST" and tts[0].body["text"] == "你好。"
    body = tts[1].body
    assert body["text_lang"] == "zh" and body["prompt_lang"] == "all_zh"
    assert body["seed"] == 1234 and body["top_k"] == 5 and body["streaming_mode"] is False
    assert body["aux_ref_audio_paths"] == [aux] and body["media_type"] == "wav"
    for name in ("top_p", "temperature", "text_split_method", "repetition_penalty",
                 "sample_steps", "speed_factor", "batch_size", "fragment_interval"):
        assert name in body  # the full effective parameter set, never server defaults
    assert a.sample_rate == 32000 and a.duration_s > 1.0
    assert a.meta["version"] == "v2ProPlus" and a.meta["seed"] == 1234
    assert eng.name == srv.url


def test_same_request_same_audio_and_speed_changes_duration(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    a, b = eng.synthesize(request(ref)), eng.synthesize(request(ref))
    assert np.array_equal(a.samples, b.samples)
    fast = eng.synthesize(request(ref, speed_factor=1.5))
    assert fast.duration_s < a.duration_s * 0.8


def test_server_kind_detected(srv, v1srv):
    assert GsvApiV2(srv.url).server_info().kind == "api_v2"
    with pytest.raises(rasv.CapabilityError, match="legacy api.py"):
        GsvApiV2(v1srv.url).server_info()


def test_old_server_is_dated_by_its_schema(tmp_path):
    with FakeGsvServer(root=tmp_path, old=True) as old:
        info = GsvApiV2(old.url).server_info()
    assert info.top_k_default == 5 and not info.streaming_modes


def test_load_switches_only_what_changed_then_reprimes_reference(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    eng.load(ckpts["gpt"], ckpts["sovits"])
    assert len(srv.calls_to("/set_gpt_weights")) == 1
    assert len(srv.calls_to("/set_sovits_weights")) == 1
    eng.synthesize(request(ref))
    eng.load(ckpts["gpt2"], ckpts["sovits"])
    assert len(srv.calls_to("/set_gpt_weights")) == 2
    assert len(srv.calls_to("/set_sovits_weights")) == 1
    eng.load(None, ckpts["sovits2"])
    eng.synthesize(request(ref))
    routes = [c.route for c in srv.calls]
    i = routes.index("/set_sovits_weights", routes.index("/set_gpt_weights", 3) + 1)
    assert routes[i + 1:i + 3] == ["/set_refer_audio", "/tts"]
    assert srv.stale_ref_uses == 0
    assert srv.sovits_path == ckpts["sovits2"] and srv.gpt_path == ckpts["gpt2"]


def test_naive_client_would_reuse_stale_reference_features(srv, ref, ckpts):
    # The fake reproduces GPT-SoVITS's path-keyed cache: without /set_refer_audio after a
    # SoVITS switch, the next synthesis uses features computed by the previous model.
    import json
    import urllib.request

    def get(route):
        urllib.request.urlopen(srv.url + route).read()

    def tts():
        body = request(ref).to_api_body()
        r = urllib.request.Request(srv.url + "/tts", data=json.dumps(body).encode(),
                                   headers={"Content-Type": "application/json"})
        urllib.request.urlopen(r).read()

    get("/set_sovits_weights?weights_path=" + ckpts["sovits"])
    tts()
    get("/set_sovits_weights?weights_path=" + ckpts["sovits2"])
    tts()
    assert srv.stale_ref_uses == 1


def test_crossing_v1_v2_recomputes_the_prompt_cache(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    eng.synthesize(request(ref))
    eng.load(ckpts["gpt_v1"], ckpts["sovits_v1"])
    a = eng.synthesize(request(ref))
    assert srv.stale_prompt_uses == 0 and srv.stale_ref_uses == 0
    assert a.meta["version"] == "v1"
    assert eng.capabilities().languages == rasv.engine.V1_LANGS


def test_failed_switch_switches_back(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    srv.fail_weights(ckpts["sovits2"])
    with pytest.raises(rasv.EngineRequestError, match="switched back to ann_e8_s96.pth") as ei:
        eng.load(ckpts["gpt"], ckpts["sovits2"])
    assert ei.value.status == 400 and not ei.value.transient
    # The server had written the bad path into its config; the switch back repaired it.
    assert srv.config["vits_weights_path"] == ckpts["sovits"]
    assert "ann_e8_s96.pth" in srv.config_path.read_text()
    assert eng.loaded == (ckpts["gpt"], ckpts["sovits"])
    assert eng.synthesize(request(ref)).sample_rate == 32000


def test_failed_first_switch_leaves_state_unknown(srv, ckpts):
    eng = GsvApiV2(srv.url)
    srv.fail_weights(ckpts["gpt"])
    with pytest.raises(rasv.EngineRequestError, match="previous weights are unknown"):
        eng.load(ckpts["gpt"], None)
    assert eng.loaded == (None, None)


def test_slow_weight_switch_times_out_and_is_resent(tmp_path, ref, ckpts):
    # The switch's reply is held until the client has given up (a fixed latency just past
    # the timeout could reach a client that a loaded machine woke late).
    held = threading.Event()
    with FakeGsvServer(root=tmp_path / "gsv") as srv:
        srv.inject("timeout", route="/set_gpt_weights", seconds=60, until=held)
        eng = GsvApiV2(srv.url, switch_timeout=0.2)
        try:
            with pytest.raises(rasv.EngineUnavailable, match="no reply within"):
                eng.load(ckpts["gpt"], None)
        finally:
            held.set()
        assert eng.loaded == (None, None)  # unknown, not assumed
        eng.switch_timeout = 5.0
        eng.load(ckpts["gpt"], ckpts["sovits"])
        assert len(srv.calls_to("/set_gpt_weights")) == 2
        assert eng.synthesize(request(ref)).meta["gpt"] == ckpts["gpt"]


def test_lora_without_its_base_is_refused_by_the_server(srv, ckpts):
    eng = GsvApiV2(srv.url)
    with pytest.raises(rasv.EngineRequestError, match="LoRA"):
        eng.load(None, ckpts["sovits_v4"])


def test_bad_checkpoints_are_refused_before_sending(srv, tmp_path, ckpts):
    eng = GsvApiV2(srv.url)
    with pytest.raises(rasv.CheckpointError, match="not found"):
        eng.load(tmp_path / "missing.ckpt", None)
    with pytest.raises(rasv.CheckpointError, match="SOVITS checkpoint"):
        eng.load(ckpts["sovits"], None)
    with pytest.raises(rasv.CapabilityError, match="phoneme sets"):
        eng.load(ckpts["gpt_v1"], ckpts["sovits"])
    assert srv.calls_to("/set_gpt_weights") == []


def test_version_capabilities_follow_the_loaded_file(tmp_path, ref, ckpts):
    base = tmp_path / "gsv" / "GPT_SoVITS" / "pretrained_models"
    from rasv.testing import make_checkpoint

    make_checkpoint(base / "gsv-v4-pretrained" / "s2Gv4.pth", version="v4", lora_rank=1)
    with FakeGsvServer(root=tmp_path / "gsv") as srv:
        eng = GsvApiV2(srv.url)
        eng.load(ckpts["gpt"], ckpts["sovits_v4"])
        caps = eng.capabilities()
        assert (caps.version, caps.sample_rate, caps.aux_refs) == ("v4", 48000, False)
        assert eng.synthesize(request(ref)).sample_rate == 48000
        with pytest.raises(rasv.CapabilityError, match="transcript"):
            eng.synthesize(request(ref, prompt_text=""))
        with pytest.raises(rasv.CapabilityError, match="auxiliary"):
            eng.synthesize(request(ref, aux_ref_audio_paths=[ref]))
        eng.load(None, ckpts["sovits_v3"])
        assert eng.synthesize(request(ref)).sample_rate == 24000
        assert eng.synthesize(request(ref, super_sampling=True)).sample_rate == 48000
        srv.ap_bwe = False
        with pytest.raises(rasv.EngineRequestError, match="AP-BWE") as ei:
            eng.synthesize(request(ref, super_sampling=True, seed=8))
        assert not ei.value.transient
    assert srv.calls_to("/tts")[-1].status == 200  # GPT-SoVITS itself says nothing


def test_v1_model_refuses_korean_before_sending(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt_v1"], ckpts["sovits_v1"])
    n = len(srv.calls)
    with pytest.raises(rasv.CapabilityError, match="'ko' is not supported by gpt-sovits v1"):
        eng.synthesize(request(ref, text="안녕하세요", text_lang="ko"))
    assert len(srv.calls) == n


def test_reference_rule_checked_before_sending(srv, tmp_path, ckpts):
    eng = GsvApiV2(srv.url)
    short = make_clip(tmp_path / "short.wav", 2.5)
    with pytest.raises(rasv.ReferenceOutOfRange, match="2.50 s"):
        eng.synthesize(request(short))
    with pytest.raises(rasv.AudioError, match="not found"):
        eng.synthesize(request(str(tmp_path / "nope.wav")))
    with pytest.raises(rasv.InvalidInput, match="nothing to speak"):
        eng.synthesize(request(make_clip(tmp_path / "ok.wav", 4.0), text="。。。"))
    assert srv.calls_to("/tts") == []


def test_server_side_reference_rule_is_reported(srv, tmp_path, ref):
    # If the server sees another file than we do (path_map to a different copy), its 400
    # comes back as a clear, permanent error.
    other = tmp_path / "server_side"
    make_clip(other / "ref.wav", 12.0)
    eng = GsvApiV2(srv.url, path_map={os.path.dirname(ref): str(other)})
    # The reference is loaded explicitly first (/set_refer_audio), and refused there.
    with pytest.raises(rasv.EngineRequestError, match="set refer audio failed: 参考音频在3~10秒范围外") as ei:
        eng.synthesize(request(ref))
    assert ei.value.status == 400 and not ei.value.transient


def test_path_map_rewrites_reference_aux_and_weights(srv, tmp_path, ref, ckpts):
    # The "server" sees the same files under another prefix (a bind mount, say).
    server_view = tmp_path / "mnt"
    os.symlink(tmp_path, server_view)
    eng = GsvApiV2(srv.url, path_map={str(tmp_path): str(server_view)})
    eng.load(ckpts["gpt"], ckpts["sovits"])
    eng.synthesize(request(ref, aux_ref_audio_paths=[ref]))
    body = srv.calls_to("/tts")[-1].body
    assert body["ref_audio_path"].startswith(str(server_view))
    assert body["aux_ref_audio_paths"][0].startswith(str(server_view))
    assert srv.calls_to("/set_gpt_weights")[0].params["weights_path"].startswith(str(server_view))
    assert eng.loaded[0] == ckpts["gpt"]  # the engine reports local paths


@pytest.mark.parametrize(("fault", "status", "transient", "match"), [
    ("400", 400, False, "refused the request: tts failed: injected failure"),
    ("422", 422, False, r"invalid request fields \(top_k: Input should be a valid integer\)"),
    ("500", 500, True, "failed on the request: Internal Server Error"),
    ("silence", 200, True, "16 kHz silence"),
])
def test_error_replies_are_mapped(srv, ref, fault, status, transient, match):
    eng = GsvApiV2(srv.url)
    req = request(ref)
    eng.synthesize(req)  # past the first-take warm-up, so the fault hits the take itself
    srv.inject(fault)
    with pytest.raises(rasv.EngineRequestError, match=match) as ei:
        eng.synthesize(req)
    e = ei.value
    assert (e.status, e.transient, e.request) == (status, transient, req)
    assert rasv.engine.is_transient(e) is transient
    assert eng.synthesize(req).sample_rate == 32000  # the next request is fine


def test_symbols_only_text_gets_the_silent_reply_from_the_server(srv, ref):
    # "@#$" passes our punctuation check only if it had letters; the server's preprocessing
    # leaves nothing and answers 200 + 1 s of 16 kHz zeros, which must never become a take.
    import json
    import urllib.request

    body = request(ref, text="@#$%").to_api_body()
    r = urllib.request.Request(srv.url + "/tts", data=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json"})
    audio = rasv.Audio.from_bytes(urllib.request.urlopen(r).read())
    assert audio.sample_rate == 16000 and audio.is_silent()
    with pytest.raises(rasv.InvalidInput):
        GsvApiV2(srv.url).synthesize(request(ref, text="@#$%"))


def test_dropped_connection_and_timeout_are_transient(srv, ref):
    eng = GsvApiV2(srv.url, timeout=5.0, timeout_per_unit=0.0)
    eng.synthesize(request(ref))  # past the first-take warm-up
    eng.close()
    srv.inject("drop")
    with pytest.raises(rasv.EngineUnavailable, match="dropped the connection"):
        eng.synthesize(request(ref))
    eng.timeout = 0.3  # short only where the reply is held back, so a busy machine is not late
    held = threading.Event()  # held until the client gave up, not for a fixed time it could outwait
    srv.inject("timeout", seconds=60, until=held)
    try:
        with pytest.raises(rasv.EngineUnavailable, match="no reply within 0 s|no reply within"):
            eng.synthesize(request(ref))
    finally:
        held.set()
    eng.timeout = 5.0
    assert eng.synthesize(request(ref)).sample_rate == 32000


def test_idle_keepalive_connection_is_reopened(tmp_path, ref):
    with FakeGsvServer(root=tmp_path / "gsv", keepalive_timeout=0.2) as srv:
        eng = GsvApiV2(srv.url)
        eng.synthesize(request(ref))
        threading.Event().wait(0.5)  # the server closes the idle connection
        assert eng.synthesize(request(ref)).sample_rate == 32000


def test_crash_and_restart(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    srv.inject("crash")
    with pytest.raises(rasv.EngineUnavailable):
        eng.synthesize(request(ref))
    with pytest.raises(rasv.EngineUnavailable, match="connection refused"):
        eng.synthesize(request(ref))
    srv.restart()
    # The restarted server read its config (which it rewrote on every switch): same weights.
    assert srv.sovits_path == ckpts["sovits"]
    assert eng.synthesize(request(ref)).meta["version"] == "v2ProPlus"


def test_control_restart_keeps_weights(srv, ref, ckpts):
    eng = GsvApiV2(srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    eng.restart(timeout=10)
    assert srv.gpt_path == ckpts["gpt"] and eng.loaded == (ckpts["gpt"], ckpts["sovits"])
    assert eng.synthesize(request(ref)).sample_rate == 32000


def test_unreachable_server(tmp_path):
    import socket

    # A port we hold bound but never listen on refuses connections for the whole test (a port
    # only found free could be taken by another process meanwhile).
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        eng = GsvApiV2(f"http://127.0.0.1:{held.getsockname()[1]}", connect_timeout=0.5)
        with pytest.raises(rasv.EngineUnavailable, match="connection refused"):
            eng.server_info()
        with pytest.raises(rasv.EngineUnavailable, match="did not answer"):
            eng.wait_ready(timeout=0.3, poll_s=0.05)


def test_not_a_gsv_server(tmp_path):
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        with pytest.raises(rasv.EngineRequestError, match="not a GPT-SoVITS API server"):
            GsvApiV2(url).server_info()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_one_request_in_flight_per_server(tmp_path, ref):
    with FakeGsvServer(root=tmp_path / "gsv", latency_s=0.05) as srv:
        eng = GsvApiV2(srv.url)
        errors = []

        def work():
            try:
                for _ in range(3):
                    eng.synthesize(request(ref))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        # 12 takes and the fresh server's one throwaway warm-up synthesis
        assert srv.max_concurrent == 1 and len(srv.calls_to("/tts")) == 13


def test_streaming_is_never_requested(srv, ref):
    GsvApiV2(srv.url).synthesize(request(ref, streaming_mode=2))
    assert srv.calls_to("/tts")[-1].body["streaming_mode"] is False


def test_version_hint_for_server_only_weights(tmp_path, ref):
    with FakeGsvServer(root=tmp_path / "gsv", version="v2") as srv:
        eng = GsvApiV2(srv.url, path_map={"/nowhere/local": "/srv"}, version="v2Pro")
        assert eng.capabilities().version == "v2Pro"
    with pytest.raises(rasv.CapabilityError, match="unknown GPT-SoVITS version"):
        GsvApiV2("http://127.0.0.1:1", version="v9")


def test_silence_for_speed_factor_above_one_is_permanent(srv, ref):
    # gpt-sovits-cpufast answers speed_factor > 1 with 1 s of 16 kHz zeros: retrying is futile.
    eng = GsvApiV2(srv.url)
    eng.synthesize(request(ref))  # past the first-take warm-up
    srv.inject("silence")
    with pytest.raises(rasv.EngineRequestError, match="speed_factor 1.5") as ei:
        eng.synthesize(request(ref, speed_factor=1.5))
    assert not ei.value.transient
