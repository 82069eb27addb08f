"""The stand-in GPT-SoVITS folder drives both process-starting engines through a real task."""

from __future__ import annotations

import sys

from gsv_bridge import GsvInProcess, GsvServer
from rasv.testing import make_gsv_root
from tests.rasv.taskkit import clip, model


def test_a_task_runs_on_a_started_server_and_in_process(ws, role, tmp_path):
    root = make_gsv_root(tmp_path / "GPT-SoVITS")
    c = clip(ws, role, 4.0)
    task = ws.tasks.create(role, "gsv", ["今天天气真好。", "好的。"], clips=[c],
                           gpt=model(ws, "gpt"), sovits=model(ws, "sovits", "v2Pro"))
    with GsvServer(root, python=sys.executable, device="cpu", workdir=tmp_path / "srv",
                   startup_timeout=60) as srv:
        run = ws.tasks.run(task, srv.engine)
    assert run.progress.done == 2 and task.counts().status == "done"
    assert set(task.plan().engine) == {srv.url}

    again = ws.tasks.create(role, "gsv again", ["再来一次。"], clips=[c],
                            gpt=task.spec.gpt, sovits=task.spec.sovits)
    with GsvInProcess(root, python=sys.executable, device="cpu", startup_timeout=60) as eng:
        run = ws.tasks.run(again, eng)
    assert run.progress.done == 1
    assert ws.sql("SELECT DISTINCT sample_rate FROM takes").sample_rate.tolist() == [32000]
