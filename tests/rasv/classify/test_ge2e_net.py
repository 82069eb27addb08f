"""The numpy GE2E encoder: its weights' provenance, its front-end, and its vectors against
Resemblyzer's own torch model (where the ``[ml]`` extra and resemblyzer are installed)."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gsv_bridge.espeak import synth
from rasv.audio import resample
from rasv.classify.embeddings import ge2e_net, get_backend
from rasv.classify.embeddings.ge2e import ResemblyzerBackend
from rasv.errors import BackendUnavailable, InvalidInput

ROOT = Path(__file__).resolve().parents[3]


def _speech(text: str, voice: str) -> np.ndarray:
    x, sr = synth(text, voice=voice)
    return resample(x, sr, 16000).astype(np.float32)


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    """Speech in three voices, a clip with a long pause, a clipped-loud one, and a short
    noise burst: every branch of the front-end."""
    a = _speech("The quick brown fox jumps over the lazy dog.", "en-us")
    b = _speech("今天天气很好，我们一起去公园散步吧。", "cmn+f3")
    c = _speech("Please call me back when you get home.", "en-us+m7")
    pause = np.concatenate([a, np.zeros(32000, np.float32), c])
    loud = b * 8  # peaks beyond 16 bits after volume normalisation
    burst = np.random.default_rng(0).normal(0, 0.01, 4000).astype(np.float32)
    return [a, b, c, pause, loud, burst, _speech("好的。", "cmn")]


def _resemblyzer_pt() -> Path | None:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(spec.submodule_search_locations[0]) / "pretrained.pt"
    return p if p.is_file() else None


# -- no torch needed -------------------------------------------------------------------------


def test_the_shipped_weights_and_their_notice():
    w = ge2e_net.load_weights()
    assert w.source == "resemblyzer 0.1.4" and w.version == "0.1.4+39373b86598f"
    assert [a.shape for a in w.lstm[0]] == [(1024, 40), (1024, 256), (1024,), (1024,)]
    assert all(a.dtype == np.float32 for layer in w.lstm for a in layer)
    notice = ge2e_net.WEIGHTS_PATH.with_suffix(".NOTICE").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in notice and w.source_sha256 in notice
    assert "Apache License" in (ge2e_net.WEIGHTS_PATH.parent / "LICENSE-Apache-2.0.txt").read_text()


def test_backend_runs_without_torch_and_keeps_resemblyzers_cache_key(tmp_path):
    # A process where torch cannot be imported, as after `pip install -e .` alone.
    script = textwrap.dedent("""
        import importlib.abc, sys

        class NoTorch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "torch":
                    raise ModuleNotFoundError(f"No module named {name!r}")

        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        import rasv
        from rasv.classify.embeddings import get_backend
        from rasv.testing import make_clip
        from rasv.errors import BackendUnavailable
        b = get_backend("auto")
        ws = rasv.open(sys.argv[1])
        role = ws.roles.create("r")
        for i, f0 in enumerate([120, 125, 240]):
            ws.clips.add(role, make_clip(f"{sys.argv[1]}/{i}.wav", 3.0, f0=f0, seed=i))
        print(ws.classify.embed(role))
        print(b.name, b.version, b.device, ws.classify.cluster(role).cluster.nunique() >= 1)
        try:
            get_backend("resemblyzer", device="cuda")
        except BackendUnavailable as e:
            print("refused:", e)
        print("torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ws")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # the key the torch-based backend used: resemblyzer's version + its pretrained.pt digest
    assert lines[0] == "resemblyzer 0.1.4+39373b86598f.b1: 3 clips, 3 computed, 0 cached, 0 failed"
    assert lines[1] == "resemblyzer 0.1.4+39373b86598f.b1 cpu True"
    assert "needs torch" in lines[2] and "pytorch.org" in lines[2] and "device='cpu'" in lines[2]
    assert lines[3] == "False"


def test_same_clip_same_vector_in_any_batch(clips):
    b = ResemblyzerBackend(device="cpu")
    together = b.embed(clips)
    alone = np.stack([b.embed([c])[0] for c in clips[:3]])
    assert np.abs(together[:3] - alone).max() < 1e-5


def test_front_end_pieces():
    assert ge2e_net.window_starts(0) == [0]
    assert ge2e_net.window_starts(16000 * 3) == [0, 77, 154]
    # the last window is dropped when the audio covers less than 75 % of it
    assert ge2e_net.window_starts(int(16000 * 2.5)) == [0, 77]
    silent = np.zeros(16000, np.float32)
    assert len(ge2e_net.trim_long_silences(silent)) == 0
    # all "silence" to the VAD: kept whole, only louder
    hum = ge2e_net.preprocess(np.full(8000, 1e-3, np.float32))
    assert len(hum) == 8000 and abs(float(np.sqrt(np.mean(hum ** 2))) - 0.0316) < 1e-3
    loud = np.full(100, 0.5, np.float32)
    assert ge2e_net.normalize_volume(loud) is not None
    assert np.array_equal(ge2e_net.normalize_volume(loud), loud)  # never lowered
    with pytest.raises(InvalidInput):
        ge2e_net.forward(ge2e_net.load_weights(), np.zeros((2, 10, 39), np.float32))
    assert ge2e_net.forward(ge2e_net.load_weights(), np.zeros((0, 160, 40))).shape == (0, 256)


def test_bad_weights_files_are_refused(tmp_path):
    with pytest.raises(BackendUnavailable, match="missing"):
        ge2e_net.load_weights(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(BackendUnavailable, match="not a GE2E weights file"):
        ge2e_net.load_weights(tmp_path / "other.npz")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInput):
        ge2e_net.read_checkpoint(tmp_path / "bad.pt")


def test_the_checkpoint_reader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    p = tmp_path / "evil.pt"
    with open(p, "wb") as f:
        for obj in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(obj, f, protocol=2)
        pickle.dump({"model_state": Evil()}, f, protocol=2)
    with pytest.raises(InvalidInput, match="unexpected object .*print"):
        ge2e_net.read_checkpoint(p)


# -- against Resemblyzer itself ---------------------------------------------------------------


@pytest.mark.ml
def test_shipped_weights_are_resemblyzers_converted_without_torch(tmp_path):
    import torch

    pt = _resemblyzer_pt()
    if pt is None:
        pytest.skip("resemblyzer is not installed (pip install --no-deps resemblyzer)")
    ours = ge2e_net.read_checkpoint(pt)
    ref = torch.load(pt, map_location="cpu", weights_only=False)["model_state"]
    assert set(ours) == set(ref)
    for k, v in ref.items():
        assert np.array_equal(ours[k], v.numpy()), k
    out = ge2e_net.convert_checkpoint(pt, tmp_path / "w.npz", "resemblyzer 0.1.4")
    shipped, again = ge2e_net.load_weights(), ge2e_net.load_weights(out)
    assert again.source_sha256 == shipped.source_sha256 and again.version == shipped.version
    pairs = [*zip(sum(shipped.lstm, ()), sum(again.lstm, ()), strict=True),
             (shipped.linear_w, again.linear_w), (shipped.linear_b, again.linear_b)]
    assert all(np.array_equal(a, b) for a, b in pairs)


@pytest.mark.ml
def test_numpy_and_torch_match_resemblyzer_per_clip(clips):
    import warnings

    if _resemblyzer_pt() is None:
        pytest.skip("resemblyzer is not installed (pip install --no-deps resemblyzer)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import VoiceEncoder, normalize_volume, preprocess_wav
    enc = VoiceEncoder("cpu", verbose=False)
    ref = []
    for w in clips:
        p = preprocess_wav(w)
        # rasv keeps a clip the VAD finds all silent, volume-normalised (the noise burst)
        ref.append(enc.embed_utterance(p if len(p) >= 160 else normalize_volume(w, -30, True)))
    ref = np.stack(ref)
    numpy_v = ResemblyzerBackend(device="cpu").embed(clips)
    assert (1.0 - (numpy_v * ref).sum(axis=1)).max() < 1e-4
    # the torch port of the same network (what a GPU runs), here on the CPU
    b = ResemblyzerBackend(device="cpu", engine="torch")
    torch_v = b.embed(clips)
    assert (1.0 - (torch_v * ref).sum(axis=1)).max() < 1e-4
    assert get_backend("resemblyzer").version == b.version
