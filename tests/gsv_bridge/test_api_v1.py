"""GsvApiV1 against the fake legacy api.py server."""

from __future__ import annotations

import numpy as np
import pytest
from gsv_helpers import request

import rasv
from gsv_bridge import GsvApiV1


def test_capabilities_declare_the_limits(v1srv, ckpts):
    eng = GsvApiV1(v1srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    caps = eng.capabilities()
    assert not caps.seed and not caps.aux_refs and caps.prompt_text_required
    assert caps.ignored({"seed", "top_k", "repetition_penalty", "aux"}) == {
        "seed", "repetition_penalty", "aux"}
    assert caps.kind == "gpt-sovits-api" != "gpt-sovits"


def test_synthesize_sends_api_py_keys(v1srv, ref, ckpts):
    eng = GsvApiV1(v1srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    a = eng.synthesize(request(ref, text_split_method="cut5", speed_factor=1.2, top_k=9))
    body = v1srv.calls_to("/")[-1].body
    assert body["refer_wav_path"] == ref and body["prompt_language"] == "zh"
    assert body["cut_punc"] == ",.;?!、，。？！；：…" and body["speed"] == 1.2
    assert body["top_k"] == 9 and "seed" not in body
    assert a.sample_rate == 32000 and a.meta["seed_ignored"] == 7


def test_takes_are_not_reproducible_without_a_seed(v1srv, ref):
    eng = GsvApiV1(v1srv.url)
    a, b = eng.synthesize(request(ref)), eng.synthesize(request(ref))
    assert not np.array_equal(a.samples, b.samples)


def test_set_model_sends_both_and_only_on_change(v1srv, ckpts):
    eng = GsvApiV1(v1srv.url)
    with pytest.raises(rasv.CapabilityError, match="needs both"):
        eng.load(None, ckpts["sovits"])
    eng.load(ckpts["gpt"], ckpts["sovits"])
    eng.load(ckpts["gpt"], ckpts["sovits"])
    eng.load(ckpts["gpt2"], None)  # the other one is known now
    calls = v1srv.calls_to("/set_model")
    assert len(calls) == 2
    assert calls[-1].body == {"gpt_model_path": ckpts["gpt2"], "sovits_model_path": ckpts["sovits"]}


def test_failed_set_model_loads_the_previous_pair(v1srv, ckpts):
    eng = GsvApiV1(v1srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits"])
    v1srv.fail_weights(ckpts["gpt2"])
    with pytest.raises(rasv.EngineRequestError, match="loaded the previous pair again") as ei:
        eng.load(ckpts["gpt2"], ckpts["sovits"])
    assert ei.value.status == 400 and "injected load failure" in str(ei.value)
    assert v1srv.gpt_path == ckpts["gpt"] and v1srv.model_loads == 2


@pytest.mark.parametrize(("change", "match"), [
    ({"text_split_method": "cut1"}, "cannot split text like cut1"),
    ({"prompt_text": ""}, "transcript"),
    ({"aux_ref_audio_paths": ["x.wav"]}, "auxiliary"),
])
def test_refusals_before_sending(v1srv, ref, change, match):
    with pytest.raises(rasv.CapabilityError, match=match):
        GsvApiV1(v1srv.url).synthesize(request(ref, **change))
    assert v1srv.calls_to("/") == []


def test_sample_steps_that_api_py_would_replace_are_refused(v1srv, tmp_path, ref, ckpts):
    from rasv.testing import make_checkpoint

    make_checkpoint(tmp_path / "gsv1" / "GPT_SoVITS" / "pretrained_models" / "gsv-v4-pretrained"
                    / "s2Gv4.pth", version="v4", lora_rank=1)
    eng = GsvApiV1(v1srv.url)
    eng.load(ckpts["gpt"], ckpts["sovits_v4"])
    with pytest.raises(rasv.CapabilityError, match="sample_steps 64"):
        eng.synthesize(request(ref, sample_steps=64))
    assert eng.synthesize(request(ref, sample_steps=8)).sample_rate == 48000


def test_empty_200_is_a_failure(v1srv, tmp_path, ref):
    # The server cannot see the file (a wrong path map): api.py answers 200 with nothing.
    eng = GsvApiV1(v1srv.url, path_map={str(tmp_path / "clips"): "/server/clips"})
    with pytest.raises(rasv.EngineRequestError, match="200 with no audio") as ei:
        eng.synthesize(request(ref))
    assert ei.value.transient


def test_api_v2_server_is_refused(srv, ref):
    with pytest.raises(rasv.CapabilityError, match="api_v2.py"):
        GsvApiV1(srv.url).synthesize(request(ref))
