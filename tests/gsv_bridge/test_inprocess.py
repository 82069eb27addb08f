"""GsvInProcess with a stand-in TTS_infer_pack package written into a temporary GPT-SoVITS root."""

from __future__ import annotations

import numpy as np
import pytest
from gsv_helpers import PYTHON, request

import rasv
from gsv_bridge import GsvInProcess

# A stand-in for GPT_SoVITS/TTS_infer_pack/TTS.py: same class names, same run() contract
# (a generator of (sample_rate, int16 array)), the same quirks (1 s of 16 kHz zeros before
# re-raising, prompt cache keyed by text), and plenty of print() noise on stdout.
STANDIN_TTS = r'''
import os, sys, time
import numpy as np
import yaml

RATES = {"v1": 32000, "v2": 32000, "v2Pro": 32000, "v2ProPlus": 32000, "v3": 24000, "v4": 48000}
TAGS = {b"00": "v1", b"01": "v2", b"02": "v3", b"03": "v3", b"04": "v4", b"05": "v2Pro",
        b"06": "v2ProPlus"}

class TTS_Config:
    def __init__(self, configs):
        with open(configs, encoding="utf-8") as f:
            c = yaml.safe_load(f)["custom"]
        self.__dict__.update(c)
        self.configs_path = configs

class TTS:
    def __init__(self, configs):
        print("loading models...")  # stdout noise must not reach the protocol
        self.configs = configs if isinstance(configs, TTS_Config) else TTS_Config(configs)
        if os.environ.get("STANDIN_FAIL_INIT"):
            raise RuntimeError("CUDA error: no kernel image is available")
        self.prompt_cache = {"ref_audio_path": None, "prompt_text": None}
        self.ref_sets = 0
        self.init_t2s_weights(self.configs.t2s_weights_path)
        self.init_vits_weights(self.configs.vits_weights_path)

    def init_t2s_weights(self, path):
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        if "broken" in path:
            raise RuntimeError("Error(s) in loading state_dict: size mismatch")
        self.configs.t2s_weights_path = path

    def init_vits_weights(self, path):
        with open(path, "rb") as f:
            head = f.read(2)
        if head not in TAGS:
            raise RuntimeError("bad sovits file")
        self.configs.vits_weights_path = path
        self.configs.version = TAGS[head]

    def set_ref_audio(self, path):
        self.ref_sets += 1
        self.prompt_cache["ref_audio_path"] = path

    def run(self, inputs):
        print("running", inputs["text"])
        if "hang" in inputs["text"]:
            time.sleep(30)
        if "die" in inputs["text"]:
            os._exit(9)
        assert inputs["text_lang"] in ("zh", "en", "ja", "all_zh", "auto")
        if "boom" in inputs["text"]:
            yield 16000, np.zeros(16000, dtype=np.int16)
            raise RuntimeError("CUDA out of memory")
        if not os.path.exists(inputs["ref_audio_path"]):
            raise ValueError(inputs["ref_audio_path"] + " not exists")
        # Like GPT-SoVITS: the reference is loaded inside run only when its path changed.
        loaded_here = self.prompt_cache["ref_audio_path"] != inputs["ref_audio_path"]
        if loaded_here:
            self.set_ref_audio(inputs["ref_audio_path"])
        sr = RATES[self.configs.version]
        n = int(sr * 0.1 * len(inputs["text"]) / inputs["speed_factor"])
        rng = np.random.default_rng(inputs["seed"])
        x = (rng.standard_normal(n) * 3000).astype(np.int16)
        x[0] = 0 if loaded_here else self.ref_sets   # lets the test see the reference loads
        yield sr, x
'''


@pytest.fixture
def gsv_root(tmp_path):
    root = tmp_path / "GPT-SoVITS"
    pack = root / "GPT_SoVITS" / "TTS_infer_pack"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text("")
    (pack / "TTS.py").write_text(STANDIN_TTS, encoding="utf-8")
    return root


@pytest.fixture
def eng(gsv_root, ckpts, tmp_path):
    e = GsvInProcess(gsv_root, python=PYTHON, device="cpu", gpt=ckpts["gpt"],
                     sovits=ckpts["sovits"], workdir=tmp_path / "run", timeout=20,
                     startup_timeout=30)
    yield e
    e.close()


def test_synthesize_and_protocol_isolation(eng, ref):
    a = eng.synthesize(request(ref, seed=3))
    b = eng.synthesize(request(ref, seed=3))
    assert a.sample_rate == 32000 and a.duration_s == pytest.approx(1.5, abs=0.01)
    assert np.array_equal(a.samples[1:], b.samples[1:])
    assert eng.capabilities().version == "v2ProPlus" and eng.kind == "gpt-sovits"
    assert "loading models..." in eng.log_tail()  # GPT-SoVITS's prints go to the log


def test_switch_reloads_the_reference_explicitly_and_version_follows(eng, ref, ckpts):
    # Never inside a run (it would draw random numbers after the seed): before it.
    def loads(audio):  # the stand-in writes the reference-load count into sample 0
        return round(float(audio.samples[0]) * 32768)

    first = eng.synthesize(request(ref))
    assert loads(first) == 1 and eng.cache.counts == {"set_ref": 1, "warm": 1}
    eng.load(ckpts["gpt"], ckpts["sovits_v3"])
    a = eng.synthesize(request(ref))
    assert loads(a) == 2  # loaded again under the new model, before the run
    assert a.sample_rate == 24000 and eng.version == "v3"
    assert loads(eng.synthesize(request(ref))) == 2  # and not again afterwards
    assert eng.cache.counts == {"set_ref": 2, "warm": 1} and eng.switches["sovits"] == 1


def test_generator_error_after_silence_is_reported(eng, ref):
    with pytest.raises(rasv.EngineRequestError, match="CUDA out of memory") as ei:
        eng.synthesize(request(ref, text="boom boom"))
    assert ei.value.transient
    assert eng.synthesize(request(ref)).sample_rate == 32000  # the child keeps serving


def test_failed_switch_loads_previous(eng, tmp_path, ckpts, ref):
    from rasv.testing import make_checkpoint

    eng.start()
    broken = make_checkpoint(tmp_path / "weights" / "broken-e1.ckpt")  # fine here, refused there
    with pytest.raises(rasv.EngineRequestError, match="size mismatch.*loaded ann-e10.ckpt again"):
        eng.load(broken, None)
    assert eng.synthesize(request(ref)).meta["gpt"] == ckpts["gpt"]


def test_child_crash_and_timeout_restart_it(eng, ref):
    eng.timeout, eng.timeout_per_unit = 20.0, 0.0
    # The dying child must be seen to end, not outlasted by a short timeout on a busy machine.
    with pytest.raises(rasv.EngineUnavailable, match="ended during synthesis"):
        eng.synthesize(request(ref, text="die now"))
    eng.timeout = 1.0  # short only where the child hangs (for 30 s)
    with pytest.raises(rasv.EngineUnavailable, match="no answer within 1 s"):
        eng.synthesize(request(ref, text="hang on"))
    eng.timeout = 20.0
    a = eng.synthesize(request(ref))
    assert a.sample_rate == 32000 and eng.restarts == 2
    assert a.meta["sovits"].endswith("ann_e8_s96.pth")  # restarted with the same weights


def test_startup_failure_is_clear(gsv_root, tmp_path):
    e = GsvInProcess(gsv_root, python=PYTHON, device="cpu", workdir=tmp_path / "r2",
                     env={"STANDIN_FAIL_INIT": "1"}, startup_timeout=30)
    with pytest.raises(rasv.EngineUnavailable, match="no kernel image"):
        e.start()
    assert not e.running
    e2 = GsvInProcess(tmp_path, python=PYTHON, device="cpu", workdir=tmp_path / "r3",
                      startup_timeout=30)
    with pytest.raises(rasv.EngineUnavailable, match="TTS_infer_pack"):
        e2.start()


def test_checks_before_running(eng, tmp_path, ref):
    from rasv.testing import make_clip

    with pytest.raises(rasv.ReferenceOutOfRange):
        eng.synthesize(request(make_clip(tmp_path / "long.wav", 11.0)))
    with pytest.raises(rasv.CapabilityError, match="streaming"):
        eng.synthesize(request(ref, streaming_mode=1))
    assert not eng.running  # nothing was started for refused requests
