"""``rasv task create``, ``rasv run``, ``rasv status``, ``rasv task delete``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import rasv
from gsv_bridge import build_engine
from rasv.cli import main
from rasv.cli.tasks import load_spec
from rasv.testing import interruptible
from tests.rasv.taskkit import clip, model

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def wsdir(tmp_path):
    root = tmp_path / "ws"
    with rasv.open(root) as ws:
        role = ws.roles.create("男性-张三")
        clip(ws, role, 4.0, category="温柔")
        clip(ws, role, 5.0, category="温柔")
        clip(ws, role, 12.0, category="温柔")
        model(ws, "gpt", "v2")
        model(ws, "sovits", "v2")
    return root


def _spec(tmp_path, text: str) -> str:
    p = tmp_path / "spec.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_create_run_status_delete(wsdir, tmp_path):
    spec = _spec(tmp_path, """
name: k sweep
engine: fake
texts:
  - 今天天气真好。
  - [Good morning!, en]
  - {text: こんにちは。, lang: ja}
clip_categories: [温柔]
fixed: {top_p: 0.9}
vary: {top_k: [5, 15]}
repeats: 2
""")
    res = invoke("task", "create", "-w", wsdir, "男性-张三", "--spec", spec)
    assert res.exit_code == 0, res.output
    # Only the two clips of 3-10 s were kept, but the fake engine kind has no such rule.
    assert "task 1 'k sweep' (v1): 36 takes, 0 already made" in res.output
    res = invoke("run", "-w", wsdir, "k sweep", "--engine", "fake", "--engine", "fake",
                 "--quiet")
    assert res.exit_code == 0, res.output
    assert "task 1: made 36, failed 0, already done 0" in res.output and "-> done" in res.output
    res = invoke("status", "-w", wsdir)
    assert "k sweep" in res.output and "done" in res.output and "top_k" in res.output
    res = invoke("status", "-w", wsdir, "1", "--takes")
    assert "36 takes: 36 done" in res.output and "top_k=15" in res.output
    res = invoke("status", "-w", wsdir, "1", "--takes", "--format", "json")
    assert len(json.loads(res.output)) == 36
    res = invoke("status", "-w", wsdir, "--format", "csv")
    assert res.output.splitlines()[0].startswith("id,role_id,role,name")
    res = invoke("run", "-w", wsdir, "1", "--engine", "fake", "--quiet")
    assert "made 0, failed 0, already done 36" in res.output
    res = invoke("task", "delete", "-w", wsdir, "1")
    assert "deleted task 1: 36 takes removed, 0 kept" in res.output
    assert "(no tasks)" in invoke("status", "-w", wsdir).output


def test_gpt_sovits_spec_with_models_and_warnings(wsdir, tmp_path):
    spec = _spec(tmp_path, """
name: refs
texts: [你好。]
clips: [1, 2, 3]
gpt: 1
sovits: 2
""")
    res = invoke("task", "create", "-w", wsdir, "男性-张三", "--spec", spec)
    assert res.exit_code == 1 and "3–10 s" in res.output and "force=True" in res.output
    res = invoke("task", "create", "-w", wsdir, "男性-张三", "--spec", spec, "--force",
                 "--name", "forced")
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "task 1 'forced' (v1): 3 takes" in res.output
    res = invoke("run", "-w", wsdir, "forced", "--engine", "fake", "--quiet")
    assert res.exit_code == 1 and "'gpt-sovits' engines" in res.output


def test_failures_are_summarised(wsdir, tmp_path):
    with rasv.open(wsdir) as ws:
        task = ws.tasks.create(1, "x", ["a", "b"], clips=[1], engine="fake")
        ws.sql("UPDATE takes SET status = 'failed', error = 'tts failed' WHERE text = 'a'",
               write=True)
    res = invoke("status", "-w", wsdir, str(task.id))
    assert "1 x tts failed" in res.output and ": partial" in res.output


@pytest.mark.parametrize(("text", "match"), [
    ("name: x\ntexts: [a]\nvary: {speed: [1]}\n", "did you mean 'speed_factor'"),
    ("name: x\ntexts: [a]\nbogus: 1\n", "unknown key(s) bogus"),
    ("- a\n- b\n", "mapping"),
    ("name: x\n", "needs `texts:`"),
    ("texts: [a]\n", "needs a name"),
    ("name: x\ntexts: [a\n", "not valid YAML"),
])
def test_bad_specs_give_one_sentence(wsdir, tmp_path, text, match):
    res = invoke("task", "create", "-w", wsdir, "男性-张三", "--spec", _spec(tmp_path, text))
    assert res.exit_code == 1 and match in res.output


def test_engines_from_the_command_line():
    assert build_engine("fake:0.5").latency_s == 0.5
    with pytest.raises(rasv.InvalidInput, match="not an engine"):
        build_engine("ftp://x")
    with pytest.raises(rasv.InvalidInput, match="fake:SECONDS"):
        build_engine("fake:soon")
    with pytest.raises(rasv.InvalidInput, match="cannot read"):
        load_spec("/no/such/spec.yaml")


def test_an_espeak_task_runs_with_real_offline_speech(wsdir, tmp_path):
    spec = _spec(tmp_path, "name: demo\nengine: espeak\ntexts: [Hello there., 你好。]\n"
                           "clips: [1]\n")
    res = invoke("task", "create", "-w", wsdir, "男性-张三", "--spec", spec)
    assert res.exit_code == 0, res.output
    res = invoke("run", "-w", wsdir, "demo", "--engine", "espeak", "--quiet")
    assert res.exit_code == 0 and "made 2, failed 0" in res.output, res.output
    with rasv.open(wsdir) as ws:
        durations = ws.sql("SELECT duration_s FROM takes").duration_s
    assert (durations > 0.3).all()


def test_unknown_task(wsdir):
    res = invoke("run", "-w", wsdir, "nope", "--engine", "fake")
    assert res.exit_code == 1 and "task nope does not exist" in res.output


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child needs POSIX")
def test_ctrl_c_stops_a_cli_run_cleanly(wsdir):
    with rasv.open(wsdir) as ws:
        task = ws.tasks.create(1, "long", [f"第{i}句。" for i in range(10)], clips=[1, 2],
                               repeats=5, engine="fake")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasv", "run", "-w", str(wsdir), str(task.id),
         "--engine", "fake:0.2", "--quiet"],  # 20 s of work: a loaded CI box cannot finish
                                                # it before the signal lands
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, **interruptible(),
    )
    takes = Path(wsdir) / "audio" / "takes"
    deadline = time.monotonic() + 60
    while len(list(takes.glob("[0-9a-f]*.wav"))) < 5:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "takes left for the next run" in err
    with rasv.open(wsdir) as ws:
        counts = ws.tasks.get(task.id).counts()
    assert counts.running == 0 and counts.done >= 5
    assert counts.done + counts.cancelled == 100


@pytest.mark.parametrize("kind", ["not gpt-sovits", "nothing listening"])
def test_run_on_an_unusable_url_exits_1_with_takes_pending(wsdir, tmp_path, kind):
    """Both a dead URL and a live one that is not GPT-SoVITS: exit 1, a reason, nothing failed."""
    import http.server
    import socket
    import threading

    spec = _spec(tmp_path, "name: gsv\ntexts: [今天天气真好。]\nclip_categories: [温柔]\n"
                           "gpt: 1\nsovits: 2\n")
    assert invoke("task", "create", "-w", wsdir, "男性-张三", "--spec", spec).exit_code == 0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    # The dead port stays bound (never listening) while the run tries it: a port only found
    # free could be taken by another process meanwhile.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = srv.server_address[1] if kind == "not gpt-sovits" else dead.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        res = CliRunner().invoke(main, ["run", "-w", str(wsdir), "gsv", "--engine", url,
                                        "--quiet", "--retries", "1"])
    finally:
        dead.close()
        srv.shutdown()
        srv.server_close()
    assert res.exit_code == 1, res.output
    assert "stay pending" in res.output and url in res.output
    assert ("not a GPT-SoVITS API server" in res.output) == (kind == "not gpt-sovits")
    with rasv.open(wsdir) as ws:
        counts = ws.tasks.counts(1)
    assert counts.pending == counts.total == 2 and counts.failed == 0
