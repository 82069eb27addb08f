"""The runner against fake GPT-SoVITS ``api_v2`` servers: real HTTP, injected faults.

Every fault ends as a retried take or a failed one with its reason; none stays ``running``.
"""

from __future__ import annotations

import contextlib
import threading

import pytest

import rasv
from gsv_bridge import GsvApiV2
from tests.rasv.taskkit import clip, model


@pytest.fixture
def task(ws, role):
    clips = [clip(ws, role, 4.0), clip(ws, role, 5.0)]
    g, s = model(ws, "gpt", "v2"), model(ws, "sovits", "v2")
    return ws.tasks.create(role, "gsv", ["今天天气真好。", "你吃饭了吗？", "好的。"],
                           clips=clips, gpt=g, sovits=s, repeats=2)


def _engine(srv, **kw):
    kw.setdefault("timeout", 10.0)
    return GsvApiV2(srv.url, **kw)


def _no_running(ws):
    return ws.sql("SELECT count(*) AS n FROM takes WHERE status = 'running' "
                  "OR run_owner IS NOT NULL").n[0] == 0


def test_a_task_runs_on_two_api_v2_servers(ws, task, fakes):
    run = ws.tasks.run(task, [_engine(s) for s in fakes])
    assert run.progress.done == 12 and task.counts().status == "done"
    for srv in fakes:
        assert srv.max_concurrent == 1  # one request in flight per server
        assert len(srv.calls_to("/tts")) >= 1
        assert len(srv.calls_to("/set_gpt_weights")) == 1
        assert len(srv.calls_to("/set_sovits_weights")) == 1
    plan = task.plan()
    assert set(plan.engine) == {s.url for s in fakes}
    assert set(ws.sql("SELECT DISTINCT sample_rate FROM takes").sample_rate) == {32000}
    body = fakes[0].calls_to("/tts")[-1].body
    assert body["seed"] >= 0 and body["prompt_text"] == "参考音频。" and body["top_k"] == 15
    # Nothing is sent again on a re-run.
    before = sum(len(s.calls_to("/tts")) for s in fakes)
    ws.tasks.run(task, [_engine(s) for s in fakes])
    assert sum(len(s.calls_to("/tts")) for s in fakes) == before


@pytest.mark.parametrize(("fault", "retried"), [("500", True), ("silence", True), ("drop", False)])
def test_a_transient_fault_is_retried(ws, task, fakes, fault, retried):
    srv = fakes[0]
    srv.inject(fault, times=1)
    run = ws.tasks.run(task, _engine(srv), retries=2, backoff_s=0.01)
    assert run.progress.done == 12 and task.counts().status == "done"
    attempts = sorted(ws.sql("SELECT attempts FROM takes").attempts, reverse=True)
    # A dropped keep-alive connection is resent by the HTTP client itself.
    assert attempts == ([2] if retried else [1]) + [1] * 11
    assert _no_running(ws)


@pytest.mark.parametrize("fault", ["400", "422"])
def test_a_refusal_is_recorded_with_its_reason(ws, task, fakes, fault):
    srv = fakes[0]
    srv.inject(fault, times=1)
    run = ws.tasks.run(task, _engine(srv), retries=2, backoff_s=0.01)
    assert (run.progress.done, run.progress.failed) == (11, 1)
    failed = ws.sql("SELECT attempts, error FROM takes WHERE status = 'failed'")
    assert failed.attempts[0] == 1  # a refusal is not retried
    assert srv.url in failed.error[0], failed.error[0]
    assert _no_running(ws)


def test_a_slow_reply_times_out_and_is_retried(ws, task, fakes):
    srv = fakes[0]
    # The slow reply is held until the runner has given up on it: a fixed delay just past the
    # timeout could reach a client that a loaded machine woke late, and nothing would retry.
    held = threading.Event()
    srv.inject("timeout", seconds=60, until=held)
    eng = _engine(srv, timeout=1.0, timeout_per_unit=0.0)
    try:
        run = ws.tasks.run(task, eng, retries=4, backoff_s=0.2,
                           on_event=lambda e: e.kind == "take_retry" and e.take_id and held.set())
    finally:
        held.set()
    assert run.progress.done == 12
    assert ws.sql("SELECT max(attempts) AS n FROM takes").n[0] >= 2
    assert _no_running(ws)


def test_a_crashed_server_hands_its_takes_to_the_other(ws, task, fakes):
    fakes[0].inject("crash")
    events = []
    run = ws.tasks.run(task, [_engine(s) for s in fakes], retries=1, backoff_s=0.01,
                       on_event=events.append)
    assert run.progress.done == 12 and task.counts().status == "done"
    assert [e.engine for e in events if e.kind == "engine_down"] == [fakes[0].url]
    assert _no_running(ws)


def test_when_the_only_server_crashes_takes_stay_pending(ws, task, fakes):
    fakes[0].inject("crash")
    with pytest.raises(rasv.EngineUnavailable):
        ws.tasks.run(task, _engine(fakes[0]), retries=1, backoff_s=0.01)
    counts = task.counts()
    assert counts.pending == 12 - counts.done and counts.failed == 0
    assert _no_running(ws)
    fakes[0].restart()
    ws.tasks.run(task, _engine(fakes[0]))
    assert task.counts().status == "done"


def test_weights_that_fail_to_load_fail_their_pair(ws, role, fakes):
    c = clip(ws, role)
    g, good, bad = model(ws, "gpt"), model(ws, "sovits"), model(ws, "sovits")
    bad_path = ws.models.get(bad).path
    for srv in fakes:
        srv.fail_weights(bad_path)
    task = ws.tasks.create(role, "w", ["好的。"], clips=[c], gpt=g,
                           vary={"sovits": [good, bad]})
    run = ws.tasks.run(task, [_engine(s) for s in fakes])
    assert (run.progress.done, run.progress.failed) == (1, 1)
    error = ws.sql("SELECT error FROM takes WHERE status = 'failed'").error[0]
    assert "loading weights failed" in error and "sovits" in error
    assert _no_running(ws)


class _NotGsv:
    """A live web server that is not GPT-SoVITS: every path answers 404."""

    def __enter__(self) -> str:
        import http.server
        import threading

        class Quiet(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                self.send_error(404)

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.srv.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.srv.shutdown()
        self.srv.server_close()


@contextlib.contextmanager
def _dead_url():
    """A URL whose port we hold bound but never listen on: refused for as long as it is open
    (a port only found free could be taken by another process meanwhile)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("kind", ["not gpt-sovits", "nothing listening"])
def test_an_unusable_url_leaves_takes_pending_and_says_why(ws, task, kind):
    """A live URL that is not GPT-SoVITS is the engine's fault, like a dead one: no take fails."""
    with _NotGsv() as live, _dead_url() as dead:
        url = live if kind == "not gpt-sovits" else dead
        with pytest.raises(rasv.EngineUnavailable) as err:
            ws.tasks.run(task, GsvApiV2(url, timeout=5.0), retries=1, backoff_s=0.01)
    said = str(err.value)
    assert url in said and "stay pending" in said
    assert ("not a GPT-SoVITS API server" in said) == (kind == "not gpt-sovits")
    assert ("cannot connect" in said) == (kind == "nothing listening")
    counts = task.counts()
    assert counts.pending == counts.total == 12 and counts.failed == 0
    assert _no_running(ws)
