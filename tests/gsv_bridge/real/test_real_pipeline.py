"""The real pipeline's own behaviour through rasv: versions, refusals, streaming, long text,
replayed exports, the fork's speed bug."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from realkit import make_task, post_tts, replay_export, take_audio

import rasv
from gsv_bridge import GsvApiV2
from rasv.audio import write_wav

pytestmark = pytest.mark.gsv

LOADER_VERSIONS = r"""
import json, sys, torch
import gpt_sovits_cpufast.runtime as r
r.configure_runtime()
from process_ckpt import get_sovits_version_from_path_fast, load_sovits_new
out = {}
for path in sys.argv[1:]:
    if path.endswith(".pth"):   # what TTS.init_vits_weights decides
        _, model_version, _ = get_sovits_version_from_path_fast(path)
        w = load_sovits_new(path)["weight"]
        v = "v1" if w["enc_p.text_embedding.weight"].shape[0] == 322 else "v2"
        out[path] = model_version if "Pro" in model_version else v
    else:                       # a GPT's phoneme vocabulary
        vocab = torch.load(path, map_location="cpu", weights_only=False)["config"]["model"]
        out[path] = "v1" if vocab["phoneme_vocab_size"] == 512 else "v2"
print(json.dumps(out))
"""


def test_scan_reads_the_versions_the_loader_uses(gsv, tmp_path):
    ws = rasv.open(tmp_path / "ws")
    df = ws.models.scan(None, gsv.root)
    paths = sorted(df.path)
    proc = subprocess.run([str(gsv.python), "-c", LOADER_VERSIONS, *paths], cwd=gsv.root,
                          env={**gsv.env, "GPT_SOVITS_DATA_DIR": str(gsv.root)},
                          capture_output=True, text=True, timeout=600, check=True)
    loader = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = dict(zip(df.path, df.version, strict=True))
    for path, version in loader.items():
        if path.endswith(".ckpt"):   # a GPT file only knows v1 or v2+ vocabulary
            assert (ours[path] == "v1") == (version == "v1"), path
        else:
            assert ours[path] == version, path
    assert set(df[df.kind == "sovits"].version) == {"v1", "v2", "v2Pro", "v2ProPlus"}
    ws.close()


def test_real_refusals_end_as_failed_takes_with_their_reason(gsv, refs, gsv_server, tmp_path):
    ws = rasv.open(tmp_path / "ws")
    role = ws.roles.create("女声-ann")
    clip = ws.clips.add(role, refs["a"], text="参考音频的文本。", lang="zh")
    # v1 files: an untagged file whose pickle cannot be read is v1 by its size, so rasv's own
    # v1/v2 pairing check passes and the server is the one that refuses.
    g, s = gsv.weights["v1"]
    gpt = ws.models.add(g, role=role)
    bad = tmp_path / "weights"
    bad.mkdir()
    gpt_as_sovits = bad / "gptfile_e1_s1.pth"   # a GPT checkpoint in the SoVITS slot
    shutil.copy(g, gpt_as_sovits)
    truncated = bad / "cut_e1_s1.pth"            # an unreadable (truncated) checkpoint
    truncated.write_bytes(s.read_bytes()[:4096])
    combos = [{"gpt": gpt, "sovits": ws.models.add(p, role=role)}
              for p in (gpt_as_sovits, truncated)]
    task = ws.tasks.create(role, "bad", ["今天天气很好。"], clips=[clip], combos=combos,
                           seeds=[1])
    run = ws.tasks.run(task, gsv_server, retries=1, backoff_s=0.01)
    assert (run.progress.done, run.progress.failed) == (0, 2)
    errors = ws.sql("SELECT error FROM takes").error.tolist()
    assert all("change sovits weight failed" in e for e in errors), errors
    assert gsv_server.engine.switches["sovits"] >= 2
    eng = gsv_server.engine
    eng.load(g, s)  # the server is fine afterwards
    assert eng.synthesize(rasv.SynthesisRequest(text="你好。", text_lang="zh",
                                                ref_audio_path=refs["a"], seed=1)).duration_s > 0
    ws.close()


def test_reference_and_language_refusals(gsv, refs, gsv_server, tmp_path):
    eng = gsv_server.engine
    g, s = gsv.weights["v2"]
    eng.load(g, s)
    # The server sees another, 12 s file under the same name: it refuses it itself.
    other = tmp_path / "server_view"
    other.mkdir()
    write_wav(other / "a.wav", np.zeros(12 * 16000, dtype=np.float32) + 0.01, 16000)
    mapped = GsvApiV2(gsv_server.url, path_map={str(tmp_path / "local"): str(other)},
                      timeout=300)
    (tmp_path / "local").mkdir()
    shutil.copy(refs["a"], tmp_path / "local" / "a.wav")
    mapped.assume_loaded(g, s)
    with pytest.raises(rasv.EngineRequestError, match="3~10|3-10") as ei:
        mapped.synthesize(rasv.SynthesisRequest(text="你好。", text_lang="zh",
                                                ref_audio_path=str(tmp_path / "local/a.wav")))
    assert not ei.value.transient
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk" * 100)
    with pytest.raises(rasv.AudioError):
        eng.synthesize(rasv.SynthesisRequest(text="你好。", text_lang="zh",
                                             ref_audio_path=str(broken)))
    eng.load(*gsv.weights["v1"])
    with pytest.raises(rasv.CapabilityError, match="ko"):
        eng.synthesize(rasv.SynthesisRequest(text="안녕하세요.", text_lang="ko",
                                             ref_audio_path=refs["a"]))


def test_speed_factor_above_one_is_a_failed_take(gsv, refs, gsv_server, tmp_path):
    # The fork answers speed_factor > 1 with 200 and 1 s of 16 kHz zeros.
    ws = rasv.open(tmp_path / "ws")
    task = make_task(ws, gsv, refs, versions=("v2",), fixed={"speed_factor": 1.5})
    run = ws.tasks.run(task, gsv_server, retries=2, backoff_s=0.01)
    assert (run.progress.done, run.progress.failed) == (0, 1)
    row = ws.sql("SELECT attempts, error FROM takes")
    assert row.attempts[0] == 1 and "speed_factor 1.5" in row.error[0]
    ws.close()


def test_streaming_modes_and_rasv_never_streams(gsv, refs, gsv_server):
    eng = gsv_server.engine
    eng.load(*gsv.weights["v2"])
    req = rasv.SynthesisRequest(text="今天天气很好。", text_lang="zh", ref_audio_path=refs["a"],
                                prompt_text="参考音频的文本。", prompt_lang="zh", seed=5)
    whole = eng.synthesize(req)
    for mode in (1, 2, 3):
        body = {**req.to_api_body(), "streaming_mode": mode, "media_type": "wav"}
        status, data = post_tts(gsv_server.url, body)
        assert status == 200 and data[:4] == b"RIFF" and len(data) > 44 + 3200, mode
    # rasv renders whole takes: a streaming request gives the same audio as mode 0.
    assert np.array_equal(eng.synthesize(replace(req, streaming_mode=2)).samples, whole.samples)


def test_long_text_renders(gsv, refs, gsv_server, tmp_path):
    ws = rasv.open(tmp_path / "ws")
    task = make_task(ws, gsv, refs, versions=("v2",))
    ws.tasks.run(task, gsv_server, retries=0)
    [take_id] = take_audio(ws)
    text = ("今天天气很好，我们去公园散步吧。公园里有很多花，红的黄的都有。"
            "走累了就坐在长椅上休息一会儿。傍晚的时候，我们一起回家吃饭。") * 2
    run = ws.longtext.render(take_id, text, gsv_server.engine, method="cut5", lang="zh")
    assert run.status == "done" and len(run.chunks) >= 8
    assert run.duration_s and run.duration_s > 2.0
    ws.close()


def test_exported_request_replayed_gives_the_product_audio(gsv, refs, gsv_server, tmp_path):
    ws = rasv.open(tmp_path / "ws")
    task = make_task(ws, gsv, refs, versions=("v2Pro",))
    ws.tasks.run(task, gsv_server, retries=0)
    [(take_id, samples)] = take_audio(ws).items()
    product = ws.products.create_from_take(take_id, "温柔")
    body = ws.products.export_request(product.id, "今天天气很好。", "zh")
    audio = replay_export(gsv_server.url, ws, product, body)
    assert np.array_equal(audio.samples, samples)
    gsv_server.engine.assume_loaded(None, None)  # we switched behind the engine's back
    ws.close()
