"""The espeak evaluation set, built once per session, and a helper that puts takes in a task."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rasv.analysis.clipping import Clipping
from rasv.analysis.ending import Ending
from rasv.analysis.noise import Noise
from rasv.analysis.pace import Pace
from rasv.analysis.repetition import Repetition
from rasv.analysis.silence import Silence
from rasv.analysis.take_signal import TakeSignal
from rasv.audio import write_wav
from rasv.testing.evalset import build_eval_set


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
    return _add_task


def _add_task(ws, takes, *, name="analysis test", status="done", write_audio=True):
    """A task whose takes are the given evaluation takes (rows written the runner's way)."""
    role = ws.roles.create(f"test-{name}")
    with ws.store.transaction() as cur:
        task_id = cur.execute(
            "INSERT INTO tasks (role_id, name, spec) VALUES (?, ?, '{}') RETURNING id",
            [role.id, name],
        ).fetchone()[0]
    for i, t in enumerate(takes):
        take_id = f"{name.replace(' ', '_')}-{t.id}"
        rel = f"audio/takes/{take_id}.wav"
        if write_audio:
            write_wav(ws.abspath(rel), np.asarray(t.samples), t.sample_rate)
        with ws.store.transaction() as cur:
            cur.execute(
                "INSERT INTO takes (id, engine_kind, text, text_lang, params, status, audio_path,"
                " duration_s, sample_rate, speed_factor) VALUES (?, 'espeak', ?, ?, ?, ?, ?, ?, ?, 1.0)",
                [take_id, t.text, t.lang, json.dumps({}), status, rel, t.duration_s,
                 t.sample_rate],
            )
            cur.execute("INSERT INTO task_takes (task_id, take_id, ord) VALUES (?, ?, ?)",
                        [task_id, take_id, i])
    return task_id
