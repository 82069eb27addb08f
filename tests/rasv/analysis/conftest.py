"""The espeak evaluation set, built once per session, and a helper that puts takes in a task."""

from __future__ import annotations

import pytest

from rasv.analysis.clipping import Clipping
from rasv.analysis.ending import Ending
from rasv.analysis.noise import Noise
from rasv.analysis.pace import Pace
from rasv.analysis.repetition import Repetition
from rasv.analysis.silence import Silence
from rasv.analysis.take_signal import TakeSignal
from rasv.testing.evalset import add_eval_task, build_eval_set


@pytest.fixture(scope="session")
def eval_set():
    """Clean espeak takes of eight texts (zh, en, ja) plus one take per injected defect."""
    from gsv_bridge.espeak import synth

    return build_eval_set(synth)


@pytest.fixture(scope="session", params=["energy", "auto"])
def eval_measured(eval_set, request):
    """Every DSP detector's measurements of every evaluation take: id -> (values, details),
    once with the energy VAD and once with the default one (silero where installed)."""
    vad = request.param
    dets = [Silence(vad=vad), Clipping(), Noise(vad=vad), Ending(vad=vad), Repetition(vad=vad),
            Pace(vad=vad)]
    out = {}
    for t in eval_set:
        sig = TakeSignal(t.samples, t.sample_rate, text=t.text, lang=t.lang, vad=vad)
        ms = [m for d in dets for m in d.measure(sig)]
        out[t.id] = ({m.name: m.value for m in ms}, {m.name: m.detail for m in ms if m.detail})
    return out


@pytest.fixture
def add_task():
    """``add_task(ws, takes, name=..., status=...)`` -> task id, rows written as the runner does."""

    def add(ws, takes, *, name="analysis test", status="done"):
        return add_eval_task(ws, takes, name.replace(" ", "_"), status=status)

    return add
