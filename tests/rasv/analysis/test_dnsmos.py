"""DNSMOS through our own onnxruntime code: windows, agreement with speechmos, noise sensitivity."""

from __future__ import annotations

import numpy as np
import pytest

from rasv.analysis.dnsmos import WINDOW, Dnsmos, dnsmos, model_dir, windows
from rasv.analysis.take_signal import TakeSignal
from rasv.audio.files import resample


def test_windows_are_non_overlapping_and_short_takes_repeat():
    x = np.arange(WINDOW * 2 + WINDOW // 2, dtype=np.float32)
    w = windows(x)
    assert w.shape == (3, WINDOW)
    assert w[1][0] == WINDOW and w[2][0] == 2 * WINDOW
    assert w[2][WINDOW // 2] == 2 * WINDOW  # the remainder repeats itself
    short = windows(np.arange(100, dtype=np.float32))
    assert short.shape == (1, WINDOW) and short[0][100] == 0
    assert windows(np.ones(WINDOW + 10, dtype=np.float32)).shape == (1, WINDOW)


def test_model_files_found_in_speechmos():
    assert (model_dir() / "sig_bak_ovr.onnx").is_file()


def test_same_scores_as_speechmos_on_one_window(eval_set):
    speechmos = pytest.importorskip("speechmos.dnsmos")
    t = eval_set[0]
    x = resample(t.samples, t.sample_rate, 16000)
    ours = dnsmos(x, 16000)
    ref = speechmos.run(np.clip(x, -1, 1), 16000)
    assert ours["dnsmos_sig"] == pytest.approx(ref["sig_mos"], abs=1e-3)
    assert ours["dnsmos_bak"] == pytest.approx(ref["bak_mos"], abs=1e-3)
    assert ours["dnsmos_ovrl"] == pytest.approx(ref["ovrl_mos"], abs=1e-3)
    assert ours["dnsmos_p808"] == pytest.approx(float(ref["p808_mos"]), abs=1e-3)


def test_background_noise_lowers_bak(eval_set):
    t = eval_set[3]
    rng = np.random.default_rng(0)
    noisy = t.samples + rng.normal(0, 0.03, len(t.samples)).astype(np.float32)
    det = Dnsmos()
    clean_bak = {m.name: m.value for m in det.measure(TakeSignal(t.samples, t.sample_rate))}
    noisy_bak = {m.name: m.value for m in det.measure(TakeSignal(noisy, t.sample_rate))}
    assert noisy_bak["dnsmos_bak"] < clean_bak["dnsmos_bak"] - 1.0
    assert all(1.0 <= v <= 5.0 for v in clean_bak.values())
