"""``rasv api``: refusals before serving, and a real server process driven by real clients."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
from click.testing import CliRunner

import rasv
from rasv.cli import main
from rasv.testing import interruptible, make_clip

ROOT = Path(__file__).resolve().parents[3]


def _workspace(path: Path) -> Path:
    with rasv.open(path) as ws:
        role = ws.roles.create("女-小红")
        clip = ws.clips.add(role, make_clip(ws.root / "a.wav", 4.0), text="参考。")
        ws.products.create(role, "温柔", clip=clip.id, engine_kind="fake",
                           params=rasv.Params(seed=1))
    return path


def test_other_hosts_need_a_key_and_an_engine_is_required(tmp_path):
    ws = _workspace(tmp_path / "ws")
    r = CliRunner().invoke(main, ["api", str(ws), "--engine", "fake", "--host", "0.0.0.0"])
    assert r.exit_code == 1 and "API key" in r.output
    r = CliRunner().invoke(main, ["api", str(ws)])
    assert r.exit_code == 2 and "--engine" in r.output
    r = CliRunner().invoke(main, ["api", str(tmp_path / "nothing"), "--engine", "fake"])
    assert r.exit_code != 0 and "not a rasv workspace" in r.output


def test_rasv_api_serves_until_interrupted_and_logs_requests(tmp_path):
    ws = _workspace(tmp_path / "ws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]), "RASV_API_KEY": "k3y"}
    # Port 0: the server binds a free port itself and prints its URL (a port found free here
    # could be taken by another process before the slow-starting child binds it).
    proc = subprocess.Popen([sys.executable, "-m", "rasv", "api", str(ws), "--engine", "fake",
                             "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **interruptible())
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, proc.stdout), lines.put("")],
                     daemon=True).start()
    said: list[str] = []
    try:
        while not said or "serving" not in said[-1]:
            said.append(lines.get(timeout=60))
            assert said[-1], "".join(said)  # "": the server exited
        url = re.search(r"on (http://127\.0\.0\.1:[0-9]+) ", said[-1]).group(1)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        auth = {"Authorization": "Bearer k3y"}
        voices = httpx.get(url + "/v1/audio/voices", headers=auth).json()["voices"]
        assert [v["id"] for v in voices] == ["女-小红/温柔"]
        c = openai.OpenAI(base_url=url + "/v1", api_key="k3y", max_retries=0)
        wav = c.audio.speech.create(model="tts-1", voice="温柔", input="Hello.",
                                    response_format="wav").read()
        assert wav[:4] == b"RIFF"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    while not said or said[-1]:
        said.append(lines.get(timeout=30))
    out = "".join(said)
    assert proc.returncode == 0, out
    assert "serving 1 voice(s)" in out and "女-小红/温柔" in out
    with rasv.open(ws) as w:
        assert w.sql("SELECT voice, status FROM api_requests").values.tolist() == [
            ["女-小红/温柔", 200]]
