"""ASR backends: discovery of model folders, clear errors, and the metric with a fake recogniser."""

from __future__ import annotations

import numpy as np
import pytest

from rasv.analysis.asr import (
    PARAFORMER_DIR,
    AsrErrors,
    FasterWhisper,
    find_models,
    model_kind,
    open_recognizer,
)
from rasv.analysis.take_signal import TakeSignal
from rasv.errors import BackendUnavailable


class Scripted:
    """A recogniser that hears what it is told to."""

    name = "scripted"
    version = "1"

    def __init__(self, heard):
        self.heard = heard
        self.calls = []

    def transcribe(self, samples, lang):
        self.calls.append((len(samples), lang))
        return self.heard


def _gsv_root(tmp_path):
    models = tmp_path / "GPT-SoVITS" / "tools" / "asr" / "models"
    para = models / PARAFORMER_DIR
    para.mkdir(parents=True)
    (para / "model.pt").write_bytes(b"")
    (para / "config.yaml").write_text("model: Paraformer\n")
    fw = models / "faster-whisper-large-v3"
    fw.mkdir()
    (fw / "model.bin").write_bytes(b"")
    (fw / "config.json").write_text("{}")
    (models / "not-a-model").mkdir()
    return tmp_path / "GPT-SoVITS"


def test_models_found_in_a_gpt_sovits_root(tmp_path):
    root = _gsv_root(tmp_path)
    found = find_models([root])
    assert [k for k, _ in found] == ["paraformer", "faster-whisper"]
    assert model_kind(found[1][1]) == "faster-whisper"
    assert model_kind(root) is None


def test_missing_runtime_is_a_clear_error(tmp_path):
    root = _gsv_root(tmp_path)
    # Without the runtimes installed the error names the install; with them, the fake (empty)
    # weights cannot load and the error names the folder.
    for lang in ("zh", "en"):
        with pytest.raises(BackendUnavailable, match="pip install|cannot load"):
            open_recognizer(root, lang=lang)


def test_no_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("RASV_ASR_MODEL", raising=False)
    with pytest.raises(BackendUnavailable, match="RASV_ASR_MODEL"):
        open_recognizer("auto")
    with pytest.raises(BackendUnavailable, match="tools/asr/models"):
        open_recognizer(tmp_path)
    with pytest.raises(BackendUnavailable):
        FasterWhisper(tmp_path)


def test_a_recognizer_object_is_used_as_it_is():
    r = Scripted("x")
    assert open_recognizer(r) is r


def test_asr_metrics_split_like_seed_tts_eval():
    rec = Scripted("我们一起一起去公园")
    sig = TakeSignal(np.zeros(22050, dtype=np.float32), 22050, text="我们一起去公园散步", lang="zh")
    m = {x.name: x for x in AsrErrors(rec).measure(sig)}
    assert rec.calls == [(16000, "zh")]  # 16 kHz samples, the take's language
    assert m["asr_insertions"].value == pytest.approx(2 / 9, abs=1e-4)
    assert m["asr_deletions"].value == pytest.approx(2 / 9, abs=1e-4)
    assert m["asr_substitutions"].value == 0.0
    assert m["asr_error_rate"].value == pytest.approx(4 / 9, abs=1e-4)
    assert m["asr_error_rate"].detail["hypothesis"] == "我们一起一起去公园"
    assert m["asr_deletions"].detail["deleted"] == ["散", "步"]


def test_asr_without_text_gives_none():
    sig = TakeSignal(np.zeros(1600, dtype=np.float32), 16000)
    assert all(m.value is None for m in AsrErrors(Scripted("x")).measure(sig))
