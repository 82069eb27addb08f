"""Embedding backends, the numpy fbank front-end, model-folder resolution and the cache."""

from __future__ import annotations

import json
import socket
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rasv
from gsv_bridge.espeak import synth
from rasv.audio.files import resample
from rasv.classify.embeddings import EmbeddingBackend, get_backend
from rasv.classify.embeddings import modelscope_sv as ms
from rasv.classify.embeddings.base import normalize_rows, weights_digest
from rasv.classify.embeddings.cache import ensure_vectors, load_vectors
from rasv.classify.embeddings.fbank import fbank, mean_normalized_fbank
from rasv.classify.embeddings.ge2e import ResemblyzerBackend
from rasv.classify.embeddings.gsv_sv import CKPT_RELPATH, GptSovitsBackend
from rasv.errors import BackendUnavailable, InvalidInput
from rasv.testing import FakeEmbeddingBackend, make_clip


def _speech(text="今天天气很好，我们一起去公园散步吧。", voice="cmn"):
    x, sr = synth(text, voice=voice)
    return resample(x, sr, 16000)


# -- fbank ----------------------------------------------------------------------------------


def test_fbank_matches_kaldi_native_fbank():
    knf = pytest.importorskip("kaldi_native_fbank")  # in the [dev] extra
    x = _speech() + np.random.default_rng(0).normal(0, 1e-3, 1).astype(np.float32)
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = 80
    online = knf.OnlineFbank(opts)
    online.accept_waveform(16000, x.tolist())
    online.input_finished()
    ref = np.stack([online.get_frame(i) for i in range(online.num_frames_ready)])
    ours = fbank(x)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 5e-3


def test_fbank_edges():
    assert fbank(np.zeros(399, np.float32)).shape == (0, 80)
    assert fbank(np.zeros(560, np.float32)).shape == (2, 80)
    assert mean_normalized_fbank(np.zeros(10)).shape == (0, 80)
    with pytest.raises(InvalidInput):
        fbank(np.zeros((2, 400)))


# -- the interface --------------------------------------------------------------------------


def test_embed_gives_unit_rows_and_nan_for_unusable_input():
    b = FakeEmbeddingBackend()
    rng = np.random.default_rng(0)
    wavs = [_speech(), np.zeros(16000, np.float32), rng.normal(0, .1, 800).astype(np.float32),
            np.full(16000, np.nan, np.float32)]
    out = b.embed(wavs)
    assert out.shape == (4, b.dim) and out.dtype == np.float32
    assert abs(np.linalg.norm(out[0]) - 1) < 1e-5
    assert np.isnan(out[1:]).all()  # silent, 50 ms, not finite
    assert b.embed([]).shape == (0, b.dim)
    with pytest.raises(InvalidInput):
        b.embed([np.zeros((2, 16000), np.float32)])


def test_normalize_rows_and_weights_digest(tmp_path):
    assert np.isnan(normalize_rows(np.array([[np.inf, 1.0]]))).all()
    p = tmp_path / "w.bin"
    p.write_bytes(b"weights")
    d1 = weights_digest(p)
    p.write_bytes(b"other weights")  # new size and mtime: hashed again
    assert weights_digest(p) != d1 and len(d1) == 12


def test_get_backend_names_and_errors(monkeypatch, tmp_path):
    fake = FakeEmbeddingBackend()
    assert get_backend(fake) is fake
    custom = get_backend("rasv.testing:FakeEmbeddingBackend")
    assert isinstance(custom, FakeEmbeddingBackend)
    assert get_backend("rasv.testing:FakeEmbeddingBackend") is custom  # shared per process
    with pytest.raises(InvalidInput, match="unknown embedding backend"):
        get_backend("wavlm")
    with pytest.raises(InvalidInput, match="gsv_root"):
        get_backend("gsv")
    with pytest.raises(InvalidInput, match="not an EmbeddingBackend"):
        get_backend("rasv.errors:RasvError")
    with pytest.raises(InvalidInput, match="cannot import"):
        get_backend("no.such.module:X")
    # nothing usable: the error names every way out
    monkeypatch.setattr(ResemblyzerBackend, "available", staticmethod(lambda: False))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    import rasv.classify.embeddings as E

    monkeypatch.setattr(E, "_INSTANCES", {})
    with pytest.raises(BackendUnavailable, match="resemblyzer.*gsv_root.*model_dir"):
        get_backend("auto")


# -- Resemblyzer ----------------------------------------------------------------------------


@pytest.mark.ml
def test_resemblyzer_batches_match_its_own_per_clip_embedding():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import VoiceEncoder, preprocess_wav

    b = get_backend("resemblyzer")
    assert b.name == "resemblyzer" and b.dim == 256 and b.version.startswith("0.")
    wavs = [_speech(), _speech("The quick brown fox jumps over the lazy dog.", "en-us"),
            _speech("你好", "cmn+f3")]
    ours = b.embed(wavs)
    enc = VoiceEncoder("cpu", verbose=False)
    ref = np.stack([enc.embed_utterance(preprocess_wav(w)) for w in wavs])
    assert np.abs(ours - ref).max() < 1e-5
    assert get_backend("auto") is b


# -- GPT-SoVITS's ERes2NetV2 ----------------------------------------------------------------

_FAKE_ERES2NETV2 = '''
import torch
import torch.nn as nn
import pooling_layers
from fusion import Mix


class ERes2NetV2(nn.Module):
    """A stand-in with the real constructor and forward signature (random weights)."""

    def __init__(self, baseWidth=26, scale=2, expansion=2, feat_dim=80, embedding_size=192):
        super().__init__()
        self.proj = nn.Linear(feat_dim, 64)
        self.mix = Mix(64)
        self.pool = pooling_layers.TSTP()
        self.seg_1 = nn.Linear(128, embedding_size)

    def forward(self, x):
        h = self.mix(torch.relu(self.proj(x)))  # (B, T, 64)
        return self.seg_1(self.pool(h.transpose(1, 2)))
'''
_FAKE_POOLING = '''
import torch
import torch.nn as nn


class TSTP(nn.Module):
    def forward(self, x):
        return torch.cat([x.mean(-1), torch.sqrt(x.var(-1) + 1e-8)], 1)
'''
_FAKE_FUSION = '''
import torch.nn as nn


class Mix(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, n)

    def forward(self, x):
        return x + self.lin(x)
'''


@pytest.fixture
def gsv_root(tmp_path):
    torch = pytest.importorskip("torch")
    root = tmp_path / "GPT-SoVITS"
    code = root / "GPT_SoVITS" / "eres2net"
    code.mkdir(parents=True)
    (code / "ERes2NetV2.py").write_text(_FAKE_ERES2NETV2)
    (code / "pooling_layers.py").write_text(_FAKE_POOLING)
    (code / "fusion.py").write_text(_FAKE_FUSION)
    sys.path.insert(0, str(code))
    try:
        torch.manual_seed(0)
        import ERes2NetV2 as mod  # the file as GPT-SoVITS itself imports it

        state = mod.ERes2NetV2(baseWidth=24, scale=4, expansion=4).state_dict()
    finally:
        sys.path.remove(str(code))
        for name in ("ERes2NetV2", "pooling_layers", "fusion"):
            sys.modules.pop(name, None)
    ckpt = root / CKPT_RELPATH
    ckpt.parent.mkdir(parents=True)
    torch.save(state, ckpt)
    return root


@pytest.mark.ml
def test_gsv_backend_loads_the_folder_code_and_weights(gsv_root):
    b = GptSovitsBackend(gsv_root, device="cpu")
    assert b.name == "gsv-eres2netv2" and b.dim == 192 and len(b.version) == 12
    wavs = [_speech(), _speech("你好", "cmn+f3"), np.zeros(100, np.float32)]
    out = b.embed(wavs)
    assert out.shape == (3, 192)
    assert np.allclose(np.linalg.norm(out[:2], axis=1), 1, atol=1e-5)
    assert np.isnan(out[2]).all() and b.device == "cpu"
    assert np.array_equal(out[:2], GptSovitsBackend(gsv_root).embed(wavs[:2]))  # deterministic
    for name in ("pooling_layers", "fusion", "ERes2NetV2"):
        assert name not in sys.modules
    assert get_backend("auto", gsv_root=gsv_root).name == "gsv-eres2netv2"


def test_gsv_backend_says_what_is_missing(tmp_path):
    with pytest.raises(BackendUnavailable, match="pretrained_eres2netv2w24s4ep4.ckpt"):
        GptSovitsBackend(tmp_path)
    ckpt = tmp_path / CKPT_RELPATH
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"x")
    with pytest.raises(BackendUnavailable, match="ERes2NetV2.py"):
        GptSovitsBackend(tmp_path)


# -- ModelScope -----------------------------------------------------------------------------

_CAMPP_CONFIG = {
    "framework": "pytorch", "task": "speaker-verification",
    "model": {"type": "cam++-sv",
              "model_config": {"sample_rate": 16000, "fbank_dim": 80, "emb_size": 192},
              "pretrained_model": "campplus_cn_common.bin", "yesOrno_thr": 0.31},
    "pipeline": {"type": "speaker-verification"},
}


def _model_folder(path: Path, config=_CAMPP_CONFIG, weights=b"w") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "configuration.json").write_text(json.dumps(config))
    (path / config["model"]["pretrained_model"]).write_bytes(weights)
    return path


@pytest.mark.parametrize("layout", [
    "models/iic/speech_campplus_sv_zh-cn_16k-common",
    "iic/speech_campplus_sv_zh-cn_16k-common",
    "hub/damo/speech_campplus_sv_zh-cn_16k-common",
])
def test_modelscope_cache_layouts(tmp_path, monkeypatch, layout):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "cache"))
    folder = _model_folder(tmp_path / "cache" / layout)
    assert ms.find_model_dir(ms.MODEL_IDS["campplus"]) == folder


def test_modelscope_home_cache_and_dotted_names(tmp_path, monkeypatch):
    monkeypatch.delenv("MODELSCOPE_CACHE", raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    folder = _model_folder(tmp_path / ".cache/modelscope/hub/models/iic/sv___v1___5")
    assert ms.find_model_dir("iic/sv.v1.5") == folder


def test_modelscope_missing_model_fails_fast_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    tried = []

    def no_network(*args, **kwargs):
        tried.append(args)
        raise OSError("no network in this test")

    # Never waits on a network: any attempt to reach one fails the test (a time limit here
    # would fail on a loaded machine instead).
    with monkeypatch.context() as m:
        m.setattr(socket, "getaddrinfo", no_network)
        m.setattr(socket, "create_connection", no_network)
        m.setattr(socket.socket, "connect", no_network)
        with pytest.raises(BackendUnavailable, match="modelscope download --model iic/"):
            ms.ModelScopeBackend("campplus")
    assert tried == [], "the backend tried the network"
    with pytest.raises(BackendUnavailable, match="no configuration.json"):
        ms.ModelScopeBackend(model_dir=tmp_path)
    with pytest.raises(InvalidInput):
        ms.find_model_dir("no-owner")


def test_modelscope_bad_folders(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "configuration.json").write_text("{not json")
    with pytest.raises(BackendUnavailable, match="not a speaker-verification configuration"):
        ms.ModelScopeBackend(model_dir=bad)
    other = _model_folder(tmp_path / "asr", {**_CAMPP_CONFIG, "model": {
        **_CAMPP_CONFIG["model"], "type": "generic-asr"}})
    with pytest.raises(BackendUnavailable, match="not a speaker model"):
        ms.ModelScopeBackend(model_dir=other)
    noweights = _model_folder(tmp_path / "nw")
    (noweights / "campplus_cn_common.bin").unlink()
    with pytest.raises(BackendUnavailable, match="lacks its weights"):
        ms.ModelScopeBackend(model_dir=noweights)


def test_modelscope_needs_the_package(tmp_path, monkeypatch):
    folder = _model_folder(tmp_path / "m")
    real = ms.importlib.util.find_spec
    monkeypatch.setattr(ms.importlib.util, "find_spec",
                        lambda name, *a: None if name == "modelscope" else real(name, *a))
    # an install that works from a clone (no rasv on PyPI)
    with pytest.raises(BackendUnavailable, match=r'pip install -e "\.\[modelscope\]" in the rasv'):
        ms.ModelScopeBackend(model_dir=folder)


_FAKE_DTDNN = '''
import torch
import torch.nn as nn
import torchaudio.compliance.kaldi as Kaldi  # as modelscope's SV modules do


class CAMPPlus(nn.Module):
    def __init__(self, feat_dim=80, embedding_size=512):
        super().__init__()
        self.lin = nn.Linear(feat_dim * 2, embedding_size)

    def forward(self, x):
        return self.lin(torch.cat([x.mean(1), x.std(1)], 1))


class SpeakerVerificationCAMPPlus(nn.Module):
    def __init__(self, model_dir, model_config, *args, **kwargs):
        super().__init__()
        assert kwargs["device"] == "cpu"
        self.embedding_model = CAMPPlus(model_config["fbank_dim"], model_config["emb_size"])
        state = torch.load(model_dir + "/" + kwargs["pretrained_model"], map_location="cpu")
        self.embedding_model.load_state_dict(state)
'''


@pytest.fixture
def fake_modelscope(tmp_path, monkeypatch):
    """A minimal ``modelscope`` package whose SV module imports torchaudio at the top."""
    pytest.importorskip("torch")
    pkg = tmp_path / "site" / "modelscope" / "models" / "audio" / "sv"
    pkg.mkdir(parents=True)
    for d in [pkg, *list(pkg.parents)[:3]]:
        (d / "__init__.py").write_text("")
    (pkg / "DTDNN.py").write_text(textwrap.dedent(_FAKE_DTDNN))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield
    for name in [m for m in sys.modules if m == "modelscope" or m.startswith("modelscope.")]:
        del sys.modules[name]


@pytest.mark.ml
def test_modelscope_backend_runs_a_local_folder(tmp_path, fake_modelscope):
    import torch

    torch.manual_seed(0)
    folder = tmp_path / "speech_campplus_sv_zh-cn_16k-common"
    folder.mkdir()
    (folder / "configuration.json").write_text(json.dumps(_CAMPP_CONFIG))
    state = {"lin.weight": torch.randn(192, 160), "lin.bias": torch.zeros(192)}
    torch.save(state, folder / "campplus_cn_common.bin")
    had_torchaudio = "torchaudio" in sys.modules
    b = ms.ModelScopeBackend(model_dir=folder)
    assert b.name == "modelscope/speech_campplus_sv_zh-cn_16k-common"
    assert b.dim == 192 and abs(b.threshold - 0.69) < 1e-9
    out = b.embed([_speech(), _speech("你好呀，朋友们", "cmn+f3")])
    assert out.shape == (2, 192)
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    # the torchaudio stand-in is gone again once the module is imported
    assert ("torchaudio" in sys.modules) == had_torchaudio


# -- the cache ------------------------------------------------------------------------------


def test_cache_computes_once_and_keys_by_version(ws, tmp_path):
    a = make_clip(tmp_path / "a.wav", 2.0, f0=120)
    b = make_clip(tmp_path / "b.wav", 2.0, f0=220)
    silent = tmp_path / "s.wav"
    rasv.audio.files.write_wav(silent, np.zeros(16000, np.float32), 16000)
    items = [("a", a), ("b", b), ("a", a), ("s", silent), ("m", tmp_path / "missing.wav")]
    backend = FakeEmbeddingBackend()
    calls = []
    first = ensure_vectors(ws, items, backend, batch_size=1,
                           progress=lambda d, t: calls.append((d, t)))
    assert (first.computed, first.cached) == (2, 0)
    assert sorted(s for s, _ in first.failed) == ["m", "s"]
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
    again = ensure_vectors(ws, items, backend)
    assert (again.computed, again.cached) == (0, 2)
    assert backend.clips_embedded == 2  # the second run embedded nothing
    assert np.array_equal(again.vectors["a"], first.vectors["a"])

    class NewVersion(FakeEmbeddingBackend):
        version = "2"

    assert load_vectors(ws.store, ["a"], NewVersion()) == {}
    assert ensure_vectors(ws, items[:1], NewVersion()).computed == 1


def test_custom_backend_through_the_interface(ws, tmp_path):
    class Pitchless(EmbeddingBackend):
        name, version, dim = "const", "1", 3

        def _embed(self, wavs):
            return np.ones((len(wavs), 3))

    got = ensure_vectors(ws, [("x", make_clip(tmp_path / "x.wav", 1.0))], Pitchless())
    assert np.allclose(got.vectors["x"], 1 / np.sqrt(3))
