"""A run killed with SIGKILL resumes with no take lost or made twice."""

from __future__ import annotations

import os
import signal
import textwrap

import pytest

import rasv
from tests.rasv.taskkit import Recorder, clip, kill_run_after, take_files

CHILD = textwrap.dedent(
    """
    import sys, time
    import rasv
    from rasv.testing import FakeEngine

    class Stalls(FakeEngine):
        # Makes 10 takes, then hangs until killed: however late a loaded machine lets the
        # parent send the kill, it lands mid-run, with takes in flight.
        def synthesize(self, req):
            if len(self.calls) >= 10:
                time.sleep(600)
            return super().synthesize(req)

    ws = rasv.open(sys.argv[1])
    task = ws.tasks.get(int(sys.argv[2]))
    engines = [Stalls("child-a", latency_s=0.03), Stalls("child-b", latency_s=0.03)]
    ws.tasks.run(task, engines)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_a_killed_run_resumes_without_losing_or_repeating_takes(ws, role, tmp_path):
    clips = [clip(ws, role, 4.0), clip(ws, role, 5.0)]
    task = ws.tasks.create(role, "resume", [f"第{i}句。" for i in range(6)], clips=clips,
                           repeats=5, engine="fake")
    total = len(task.plan())
    assert total == 60
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    written = kill_run_after(script, [str(ws.root), str(task.id)], ws.root, 15, timeout=60)
    assert 15 <= len(written) <= 20

    # The killed run left rows 'running' (its claim) and maybe WAVs it never recorded.
    before = task.counts()
    assert before.running > 0 and before.done <= len(written)

    eng = Recorder("resumer")
    run = ws.tasks.run(task, eng)
    plan = task.plan()
    key = {(r.text, r.seed, r.clip_id): r.take_id for r in plan.itertuples()}
    clip_of = {str(ws.clips.abspath(c.id)): c.id for c in clips}
    remade = {key[(r.text, r.seed, clip_of[r.ref_audio_path])] for r in eng.calls}
    assert not remade & written, "a take whose audio was written was made again"
    assert len(remade) == len(eng.calls) == total - len(written)
    assert run.progress.adopted == len(written) - before.done
    after = task.counts()
    assert (after.done, after.running, after.pending, after.failed) == (total, 0, 0, 0)
    assert take_files(ws.root) == set(plan.take_id)
    assert not [p for p in os.listdir(ws.root / "audio" / "takes") if p.startswith(".")]
    # Adopted takes do not know which engine made them; the others do.
    engines = set(plan.engine.dropna())
    assert "resumer" in engines and engines <= {"resumer", "child-a", "child-b"}
    assert plan.engine.isna().sum() == run.progress.adopted
    assert rasv.audio.files.info(ws.abspath(plan.audio_path[0])).duration_s > 0
