"""One rule for create, preview, edit and run: what a run would refuse, creation refuses first."""

from __future__ import annotations

import pytest

import rasv
from gsv_bridge.espeak_engine import EspeakEngine
from rasv.testing import make_clip


@pytest.fixture
def clip(ws, role, tmp_path):
    return ws.clips.add(role, make_clip(tmp_path / "a.wav", 4.0), text="参考。")


def test_espeak_task_varying_top_k_is_refused_at_create_and_preview(ws, role, clip):
    with pytest.raises(rasv.IgnoredParams) as err:
        ws.tasks.create(role, "k", ["你好。"], clips=[clip], engine="espeak",
                        vary={"top_k": [5, 15]})
    assert err.value.names == ("top_k",)
    assert ws.tasks.list().empty  # nothing was created
    with pytest.raises(rasv.IgnoredParams):
        ws.tasks.preview(role, ["你好。"], clips=[clip], engine="espeak", vary={"top_k": [5, 15]})


def test_forced_task_warns_at_create_and_runs(ws, role, clip):
    with pytest.warns(rasv.RasvWarning, match="espeak ignores top_k"):
        task = ws.tasks.create(role, "k", ["你好。"], clips=[clip], engine="espeak",
                               vary={"top_k": [5, 15]}, force=True)
    run = ws.tasks.run(task, EspeakEngine())
    assert run.progress.done == 2


def test_what_create_accepts_run_accepts(ws, role, clip):
    task = ws.tasks.create(role, "s", ["你好。"], clips=[clip], engine="espeak",
                           vary={"speed_factor": [0.9, 1.1]})
    assert ws.tasks.run(task, EspeakEngine()).progress.done == 2


def test_edit_into_an_ignored_dimension_is_refused(ws, role, clip):
    task = ws.tasks.create(role, "s", ["你好。"], clips=[clip], engine="espeak")
    with pytest.raises(rasv.IgnoredParams):
        ws.tasks.edit(task, vary={"temperature": [0.5, 1.0]})


def test_engine_capabilities_come_from_the_kind_table():
    caps = EspeakEngine(sample_rate=24000).capabilities()
    assert caps.params == rasv.engine.capabilities_for_kind("espeak").params
    assert caps.sample_rate == 24000
