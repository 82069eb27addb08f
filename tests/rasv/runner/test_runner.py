"""The runner: scheduling over engines and pairs, retries, faults, resume, cancel, events."""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest

import rasv
from rasv.audio.files import write_wav
from rasv.engine import Audio
from rasv.runner import owner_alive
from tests.rasv.taskkit import GsvRecorder, Recorder, clip, model


def _task(ws, role, n_texts=2, repeats=1, n_clips=1, **kw):
    clips = [clip(ws, role, 4.0 + i) for i in range(n_clips)]
    kw.setdefault("engine", "fake")
    texts = [f"第{i}句话。" for i in range(n_texts)]
    return ws.tasks.create(role, "t", texts, clips=clips, repeats=repeats, **kw)


def _statuses(ws):
    return dict(ws.sql("SELECT status, count(*) AS n FROM takes GROUP BY 1").values.tolist())


def test_a_run_makes_every_take_and_records_it(ws, role):
    task = _task(ws, role, n_texts=3, repeats=2)
    eng = Recorder("server-a")
    run = ws.tasks.run(task, eng)
    assert (run.progress.done, run.progress.todo, run.progress.failed) == (6, 6, 0)
    plan = task.plan()
    assert set(plan.status) == {"done"} and set(plan.engine) == {"server-a"}
    for row in plan.itertuples():
        path = ws.abspath(row.audio_path)
        assert path.exists() and row.audio_path == f"audio/takes/{row.take_id}.wav"
        assert abs(rasv.audio.files.info(path).duration_s - row.duration_s) < 1e-3
    times = ws.sql("SELECT synth_s, started_at, finished_at, attempts FROM takes")
    assert times.synth_s.notna().all() and (times.attempts == 1).all()
    assert (times.finished_at >= times.started_at).all()
    # No temporary files are left behind.
    assert not [p for p in os.listdir(ws.root / "audio" / "takes") if p.startswith(".tmp")]


def test_a_re_run_synthesizes_nothing(ws, role):
    task = _task(ws, role, n_texts=2, repeats=3)
    eng = Recorder()
    ws.tasks.run(task, eng)
    calls = len(eng.calls)
    run = ws.tasks.run(task, eng)
    assert len(eng.calls) == calls == 6
    assert (run.progress.todo, run.progress.already_done) == (0, 6)
    # Another task needing the same takes makes nothing either.
    other = ws.tasks.create(role, "again", ["第0句话。"], clips=[task.spec.clips[0]],
                            repeats=3, engine="fake")
    assert ws.tasks.run(other, eng).progress.already_done == 3
    assert len(eng.calls) == 6


def test_takes_go_in_pair_then_clip_order(ws, role):
    g = [model(ws, "gpt") for _ in range(2)]
    s = [model(ws, "sovits") for _ in range(2)]
    clips = [clip(ws, role, 4.0), clip(ws, role, 5.0)]
    task = ws.tasks.create(role, "o", ["a。", "b。"], clips=clips,
                           combos=[{"gpt": g[1], "sovits": s[0]}, {"gpt": g[0], "sovits": s[1]}])
    eng = GsvRecorder()
    ws.tasks.run(task, eng)
    paths = {ws.store.scalar("SELECT path FROM models WHERE id = ?", [m]): m for m in g + s}
    clip_of = {str(ws.clips.abspath(c.id)): c.id for c in clips}
    seq = [((paths[c[0]], paths[c[1]]), clip_of[r.ref_audio_path]) for c, r in eng.made]
    assert seq == sorted(seq)
    assert [(paths[a], paths[b]) for a, b in eng.loads] == [(g[0], s[1]), (g[1], s[0])]


def test_one_pair_is_shared_by_every_engine(ws, role):
    task = _task(ws, role, n_texts=4, repeats=6, n_clips=2)
    # Each engine's first take waits until all four have one: a thread a loaded machine
    # started late would otherwise find the pair (nearly) done and rightly stay out of it.
    together = threading.Barrier(4, timeout=30)

    class Joining(Recorder):
        def synthesize(self, req):
            if len(self.calls) == 0:
                together.wait()
            return super().synthesize(req)

    engines = [Joining(f"e{i}", latency_s=0.01) for i in range(4)]
    run = ws.tasks.run(task, engines)
    assert run.progress.done == 48
    counts = [len(e.calls) for e in engines]
    assert sum(counts) == 48 and min(counts) >= 6, counts
    assert set(task.plan().engine) == {"e0", "e1", "e2", "e3"}


def test_many_pairs_are_worked_through_whole_with_one_load_each(ws, role):
    g = [model(ws, "gpt") for _ in range(3)]
    s = [model(ws, "sovits") for _ in range(2)]
    c = clip(ws, role)
    task = ws.tasks.create(role, "pairs", ["a。", "b。", "c。"], clips=[c],
                           vary={"gpt": g, "sovits": s}, repeats=4)
    engines = [GsvRecorder(f"g{i}", latency_s=0.005, load_latency_s=0.05) for i in range(2)]
    run = ws.tasks.run(task, engines)
    assert run.progress.done == 72
    used = {(e.name, pair) for e in engines for pair, _ in e.made}
    loads = sum(len(e.loads) for e in engines)
    assert loads == len(used) == run.progress.loads
    # Each engine made every take of a pair it loaded before moving on (no reloads).
    for e in engines:
        assert len(e.loads) == len(set(e.loads))


def test_transient_errors_are_retried(ws, role):
    task = _task(ws, role, n_texts=3)
    seen: dict[str, int] = {}

    def flaky(req):
        seen[req.text] = seen.get(req.text, 0) + 1
        if seen[req.text] <= 2:
            return rasv.EngineRequestError("server error 500", status=500, transient=True)
        return None

    events = []
    run = ws.tasks.run(task, Recorder(fail=flaky), retries=3, backoff_s=0.001,
                       on_event=events.append)
    assert run.progress.done == 3
    assert ws.sql("SELECT DISTINCT attempts FROM takes").attempts.tolist() == [3]
    assert sum(e.kind == "take_retry" for e in events) == 6
    assert all("500" in e.error for e in events if e.kind == "take_retry")


def test_permanent_and_exhausted_errors_fail_with_their_reason(ws, role):
    task = _task(ws, role, n_texts=4)

    def faults(req):
        return {
            "第0句话。": rasv.EngineRequestError("text too long for BERT", status=400),
            "第1句话。": rasv.EngineRequestError("tts failed", status=500, transient=True),
            "第2句话。": RuntimeError("engine bug"),
        }.get(req.text)

    run = ws.tasks.run(task, Recorder(fail=faults), retries=2, backoff_s=0.001)
    assert (run.progress.done, run.progress.failed) == (1, 3)
    errors = dict(ws.sql("SELECT text, error FROM takes WHERE status = 'failed'").values)
    assert errors["第0句话。"] == "text too long for BERT"
    assert errors["第1句话。"] == "tts failed after 3 attempts"
    assert errors["第2句话。"] == "RuntimeError: engine bug"
    assert _statuses(ws) == {"done": 1, "failed": 3}
    # Failed takes stay failed on a plain re-run, and are retried when asked.
    eng = Recorder()
    ws.tasks.run(task, eng)
    assert eng.calls == []
    ws.tasks.run(task, eng, retry_failed=True)
    assert len(eng.calls) == 3 and _statuses(ws) == {"done": 4}


def test_silent_audio_is_a_failure(ws, role):
    class Mute(Recorder):
        def synthesize(self, req):
            super().synthesize(req)
            return Audio(np.zeros(16000, dtype=np.float32), 16000)

    task = _task(ws, role, n_texts=1)
    ws.tasks.run(task, Mute(), retries=1, backoff_s=0.001)
    assert ws.sql("SELECT error FROM takes").error[0] == "the engine returned silence after 2 attempts"


class Hang(Recorder):
    """Hangs on the first text for ``hang_s`` seconds (or until released)."""

    def __init__(self, hang_s, **kw):
        super().__init__(**kw)
        self.hang_s = hang_s
        self.release = threading.Event()
        self.hanging = False

    def synthesize(self, req):
        if req.text == "第0句话。":
            self.hanging = True
            self.release.wait(self.hang_s)
        return super().synthesize(req)


def test_a_take_that_hangs_times_out(ws, role):
    task = _task(ws, role, n_texts=2)
    eng = Hang(30)
    # The engine answers once the runner has given up on it and starts the next take (a
    # fixed hang just past the timeout could win the race on a loaded machine). The timeout
    # is not tiny either: the next take waits for the released one, then gets its own answer,
    # each within it, and a loaded machine can pause the engine's thread for a good while.
    run = ws.tasks.run(task, eng, take_timeout=2.0, retries=0,
                       on_event=lambda e: e.kind == "take_started" and eng.hanging
                       and eng.release.set())
    assert (run.progress.done, run.progress.failed) == (1, 1)
    err = ws.sql("SELECT error FROM takes WHERE status = 'failed'").error[0]
    assert err == "rec gave no answer within 2 s"


def test_an_engine_stuck_for_good_is_dropped(ws, role):
    task = _task(ws, role, n_texts=2)
    eng = Hang(30)
    try:
        with pytest.raises(rasv.EngineUnavailable, match="still busy"):
            ws.tasks.run(task, eng, take_timeout=0.1, retries=1, backoff_s=0.001)
    finally:
        eng.release.set()
    # The timed-out take and the one never sent stay pending for the next run.
    assert _statuses(ws) == {"pending": 2}


def test_an_unreachable_engine_hands_its_work_to_the_others(ws, role):
    task = _task(ws, role, n_texts=6)
    down = Recorder("down", fail=lambda r: rasv.EngineUnavailable("connection refused"))
    up = Recorder("up", latency_s=0.005)
    events = []
    run = ws.tasks.run(task, [down, up], retries=1, backoff_s=0.001, on_event=events.append)
    assert run.progress.done == 6 and len(up.calls) == 6
    assert [e.engine for e in events if e.kind == "engine_down"] == ["down"]
    assert ws.sql("SELECT DISTINCT engine FROM takes").engine.tolist() == ["up"]


def test_one_take_that_never_answers_fails_without_dropping_the_engine(ws, role):
    task = _task(ws, role, n_texts=4)
    eng = Recorder(fail=lambda r: rasv.EngineUnavailable("gave no reply within 60 s")
                   if r.text == "第1句话。" else None)
    events = []
    run = ws.tasks.run(task, eng, retries=1, backoff_s=0.001, on_event=events.append)
    assert (run.progress.done, run.progress.failed) == (3, 1)
    assert not [e for e in events if e.kind == "engine_down"]
    error = ws.sql("SELECT error FROM takes WHERE status = 'failed'").error[0]
    assert error == "gave no reply within 60 s after 2 attempts"
    assert ws.sql("SELECT attempts FROM takes WHERE status = 'failed'").attempts[0] == 4


def test_when_every_engine_is_down_the_takes_stay_pending(ws, role):
    task = _task(ws, role, n_texts=3)
    down = Recorder(fail=lambda r: rasv.EngineUnavailable("connection refused"))
    with pytest.raises(rasv.EngineUnavailable, match="every engine stopped"):
        ws.tasks.run(task, down, retries=1, backoff_s=0.001)
    assert _statuses(ws) == {"pending": 3}
    assert ws.sql("SELECT count(*) AS n FROM takes WHERE run_owner IS NOT NULL").n[0] == 0


def test_an_engine_that_cannot_be_reached_at_start_is_skipped(ws, role):
    class Unreachable(Recorder):
        def capabilities(self):
            raise rasv.EngineUnavailable("connection refused")

    task = _task(ws, role, n_texts=2)
    ws.tasks.run(task, [Unreachable(), Recorder("ok")])
    assert _statuses(ws) == {"done": 2}
    with pytest.raises(rasv.EngineUnavailable):
        ws.tasks.run(_task(ws, role, n_texts=1, repeats=2), Unreachable())


def test_a_pair_that_cannot_load_fails_its_takes(ws, role):
    g, s_bad, s_ok = model(ws, "gpt"), model(ws, "sovits"), model(ws, "sovits")
    bad_path = ws.store.scalar("SELECT path FROM models WHERE id = ?", [s_bad])

    class Picky(GsvRecorder):
        def load(self, gpt, sovits):
            if str(sovits) == bad_path:
                raise rasv.EngineRequestError("change sovits weight failed", status=400)
            super().load(gpt, sovits)

    c = clip(ws, role)
    task = ws.tasks.create(role, "p", ["a。", "b。"], clips=[c], gpt=g,
                           vary={"sovits": [s_bad, s_ok]})
    run = ws.tasks.run(task, [Picky("p1"), Picky("p2")])
    assert (run.progress.done, run.progress.failed) == (2, 2)
    errors = ws.sql("SELECT DISTINCT error FROM takes WHERE status = 'failed'").error.tolist()
    assert len(errors) == 1 and "change sovits weight failed" in errors[0]


def test_model_version_capabilities_are_checked_per_take(ws, role):
    g, s3 = model(ws, "gpt", "v3"), model(ws, "sovits", "v3")
    c = clip(ws, role)
    task = ws.tasks.create(role, "v3", ["a。"], clips=[c], gpt=g, sovits=s3)
    ws.sql("UPDATE takes SET prompt_text = ''", write=True)  # as if the transcript were lost
    eng = GsvRecorder(version="v3")
    ws.tasks.run(task, eng)
    assert eng.calls == []
    assert "transcript" in ws.sql("SELECT error FROM takes").error[0]


def test_a_deleted_clip_leaves_the_plan_and_the_rest_still_runs(ws, role):
    task = _task(ws, role, n_texts=1, n_clips=2)
    ws.clips.delete(task.spec.clips[0])
    eng = Recorder()
    ws.tasks.run(task, eng)
    assert len(eng.calls) == 1 and task.counts().status == "done"


def test_cancel_stops_and_the_next_run_finishes(ws, role):
    task = _task(ws, role, n_texts=5, repeats=8)
    started, release = threading.Event(), threading.Event()

    class Gated(Recorder):
        """Holds every take after the first until the test has asked to cancel: on a loaded
        machine a free-running engine can finish all 40 before cancel() is even called."""

        def synthesize(self, req):
            if self.calls:
                release.wait(10)
            return super().synthesize(req)

    run = ws.tasks.run(task, Gated(), background=True,
                       on_event=lambda e: e.kind == "take_done" and started.set())
    assert started.wait(10)
    run.cancel()
    release.set()
    progress = run.wait(30)
    assert run.finished and run.cancelled
    counts = task.counts()
    assert counts.running == 0 and counts.done == progress.done < 40
    assert counts.cancelled == 40 - counts.done
    assert task.counts().status == "partial"
    eng = Recorder()
    ws.tasks.run(task, eng)
    assert len(eng.calls) == 40 - counts.done and task.counts().status == "done"


def test_written_audio_of_a_crashed_run_is_adopted(ws, role):
    task = _task(ws, role, n_texts=3)
    plan = task.plan()
    x = np.sin(np.linspace(0, 200, 32000)).astype(np.float32) * 0.1
    write_wav(ws.root / "audio" / "takes" / f"{plan.take_id[1]}.wav", x, 32000)
    eng = Recorder()
    run = ws.tasks.run(task, eng)
    assert run.progress.adopted == 1 and len(eng.calls) == 2
    row = ws.sql("SELECT status, duration_s, audio_path FROM takes WHERE id = ?",
                 [plan.take_id[1]]).iloc[0]
    assert row.status == "done" and row.duration_s == 1.0


def test_running_rows_of_a_dead_process_are_recovered_and_live_ones_left_alone(ws, role):
    task = _task(ws, role, n_texts=4)
    ids = task.plan().take_id.tolist()
    host = socket.gethostname()
    dead = f"{host}:999999999:x"
    # Our own pid with no such run in this process counts as dead too.
    mine_stale = f"{host}:{os.getpid()}:gone"
    elsewhere = "another-machine:42:y"
    for take_id, owner in zip(ids[:3], [dead, mine_stale, elsewhere], strict=True):
        ws.sql("UPDATE takes SET status = 'running', run_owner = ? WHERE id = ?",
               [owner, take_id], write=True)
    assert not owner_alive(dead) and not owner_alive(mine_stale) and owner_alive(elsewhere)
    eng = Recorder()
    run = ws.tasks.run(task, eng)
    assert run.progress.done == 3 and len(eng.calls) == 3
    left = ws.sql("SELECT run_owner FROM takes WHERE status = 'running'").run_owner.tolist()
    assert left == [elsewhere]
    assert ws.tasks.reset(task, running=True) == 1
    ws.tasks.run(task, eng)
    assert task.counts().status == "done"


def test_two_runs_of_one_task_do_not_make_a_take_twice(ws, role):
    task = _task(ws, role, n_texts=4, repeats=5)
    a, b = Recorder("a", latency_s=0.01), Recorder("b", latency_s=0.01)
    r1 = ws.tasks.run(task, a, background=True)
    r2 = ws.tasks.run(task, b, background=True)
    r1.wait(30), r2.wait(30)
    made = [r.seed for r in a.calls] + [r.seed for r in b.calls]
    assert len(made) == 20 and task.counts().done == 20


def test_events_tell_the_story_and_a_broken_callback_does_no_harm(ws, role):
    g, s = model(ws, "gpt"), model(ws, "sovits")
    task = ws.tasks.create(role, "ev", ["a。", "b。"], clips=[clip(ws, role)], gpt=g, sovits=s)

    def broken(event):
        raise ValueError("progress bar exploded")

    run = ws.tasks.run(task, GsvRecorder(), on_event=broken)
    kinds = [e.kind for e in run.events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.index("loading") < kinds.index("loaded") < kinds.index("take_started")
    assert kinds.count("take_done") == 2
    assert run.events[-1].progress.done == 2
    assert len(run.callback_errors) == len(kinds)
    assert all(e.pair == (g, s) for e in run.events if e.kind == "take_done")
    assert "finished" in repr(run)


def test_engines_are_checked_before_anything_runs(ws, role):
    task = _task(ws, role, n_texts=1, vary={"top_p": [0.5, 1.0]})
    eng = Recorder()
    with pytest.raises(rasv.InvalidInput, match="twice"):
        ws.tasks.run(task, [eng, eng])
    with pytest.raises(rasv.InvalidInput, match="same server twice"):
        ws.tasks.run(task, [Recorder("http://a:9880"), Recorder("http://a:9880")])
    with pytest.raises(rasv.InvalidInput, match="not an engine"):
        ws.tasks.run(task, object())
    with pytest.raises(rasv.InvalidInput):
        ws.tasks.run(task, [])
    with pytest.raises(rasv.InvalidInput, match="retries"):
        ws.tasks.run(task, eng, retries=-1)
    with pytest.raises(rasv.CapabilityError, match="'fake' engines"):
        ws.tasks.run(task, Recorder(kind="espeak"))

    class NoTopP(Recorder):
        def capabilities(self):
            caps = super().capabilities()
            return caps.__class__(**{**caps.__dict__, "params": caps.params - {"top_p"}})

    with pytest.raises(rasv.CapabilityError, match="ignores top_p"):
        ws.tasks.run(task, NoTopP())
    assert eng.calls == [] and _statuses(ws) == {"pending": 2}
    forced = ws.tasks.create(role, "f", ["x。"], clips=[task.spec.clips[0]],
                             vary={"top_p": [0.5, 1.0]}, engine="fake", force=True)
    run = ws.tasks.run(forced, NoTopP())
    assert any(e.kind == "warning" for e in run.events) and run.progress.done == 2
    # The refusal names the way out, and it works on the task the user already has.
    refused = ws.tasks.create(role, "g", ["y。"], clips=[task.spec.clips[0]],
                              vary={"top_p": [0.5, 1.0]}, engine="fake")
    with pytest.raises(rasv.CapabilityError, match=rf"ws.tasks.edit\({refused.id}, force=True\)"):
        ws.tasks.run(refused, NoTopP())
    edited = ws.tasks.edit(refused, force=True)
    assert edited.id == refused.id and ws.tasks.run(edited, NoTopP()).progress.done == 2


def test_requests_use_absolute_paths_of_stored_files(ws, role):
    task = _task(ws, role, n_texts=1)
    eng = Recorder()
    ws.tasks.run(task, eng)
    ref = eng.calls[0].ref_audio_path
    assert os.path.isabs(ref) and os.path.exists(ref)
    assert ref == str(ws.clips.abspath(task.spec.clips[0]))


def test_background_run_reports_progress(ws, role):
    task = _task(ws, role, n_texts=2, repeats=5)
    run = ws.tasks.run(task, Recorder(latency_s=0.01), background=True)
    seen = run.progress
    assert seen.todo == 10
    final = run.wait(30)
    assert final.done == 10 and final.fraction == 1.0 and final.remaining == 0
    assert final.elapsed_s >= seen.elapsed_s
    deadline = time.monotonic() + 1
    while not run.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    assert run.finished
