"""GsvServer and its pool, pointed at a stand-in api_v2.py that runs the fake server."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
import yaml
from gsv_helpers import PYTHON, REPO, request

import rasv
from gsv_bridge import GsvServer
from gsv_bridge.server import free_port

STANDIN = """\
import json, os, sys
with open(os.path.join(os.getcwd(), "started.jsonl"), "a", encoding="utf-8") as f:
    f.write(json.dumps({{"cwd": os.getcwd(), "argv": sys.argv[1:],
                        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}}) + "\\n")
{body}
"""


def make_root(tmp_path, *extra: str, body: str | None = None):
    root = tmp_path / "GPT-SoVITS"
    (root / "GPT_SoVITS" / "configs").mkdir(parents=True)
    user_cfg = root / "GPT_SoVITS" / "configs" / "tts_infer.yaml"
    user_cfg.write_text("custom:\n  device: cuda\n  version: v2\n", encoding="utf-8")
    if body is None:
        body = ("from rasv.testing.fake_gsv import main\n"
                f"main(sys.argv[1:] + {list(extra)!r})")
    (root / "api_v2.py").write_text(STANDIN.format(body=body), encoding="utf-8")
    return root


def server(root, tmp_path, **kw):
    kw.setdefault("startup_timeout", 30)
    return GsvServer(root, python=PYTHON, device=kw.pop("device", "cpu"),
                     workdir=kw.pop("workdir", tmp_path / "run"),
                     env={"PYTHONPATH": str(REPO)}, **kw)


def starts(root):
    return [json.loads(line) for line in (root / "started.jsonl").read_text().splitlines()]


def test_start_serve_stop(tmp_path, ref, ckpts):
    root = make_root(tmp_path)
    user_cfg = (root / "GPT_SoVITS" / "configs" / "tts_infer.yaml").read_text()
    with server(root, tmp_path, gpt=ckpts["gpt"], sovits=ckpts["sovits"]) as srv:
        assert srv.running and srv.pid
        a = srv.engine.synthesize(request(ref))
        assert a.sample_rate == 32000
        [run] = starts(root)
        assert run["cwd"] == str(root)  # GPT-SoVITS resolves its models from its root
        assert run["argv"] == ["-a", "127.0.0.1", "-p", str(srv.port), "-c", str(srv.config_path)]
        custom = yaml.safe_load(srv.config_path.read_text())["custom"]
        assert custom["device"] == "cpu" and custom["is_half"] is False
        assert custom["vits_weights_path"] == ckpts["sovits"]
        assert custom["version"] == "v2ProPlus"  # sniffed from the file
        assert custom["bert_base_path"].startswith(str(root))
        pid = srv.pid
    assert not srv.running and srv.pid is None
    assert (root / "GPT_SoVITS" / "configs" / "tts_infer.yaml").read_text() == user_cfg
    assert "Uvicorn running" in srv.log_path.read_text() and "stopped" in srv.log_tail()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", srv.port)) != 0
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


def test_restart_after_crash_keeps_weights(tmp_path, ref, ckpts):
    # Requests: warm-up, take 1, then take 2 crashes the server (the warm-up comes first).
    root = make_root(tmp_path, "--crash-after", "3")
    with server(root, tmp_path) as srv:
        eng = srv.engine
        eng.load(ckpts["gpt"], ckpts["sovits2"])
        eng.synthesize(request(ref))
        a = eng.synthesize(request(ref))  # crashes the server; it is restarted and retried
        assert a.sample_rate == 32000 and srv.restarts == 1
        assert len(starts(root)) == 2
        custom = yaml.safe_load(srv.config_path.read_text())["custom"]
        assert custom["vits_weights_path"] == ckpts["sovits2"]  # saved by the server itself
        assert "exited with status 3; restarting" in srv.log_path.read_text()


def test_gives_up_after_max_restarts(tmp_path, ref):
    root = make_root(tmp_path, "--crash-after", "1")
    with server(root, tmp_path, max_restarts=1) as srv:
        with pytest.raises(rasv.EngineUnavailable):
            srv.engine.synthesize(request(ref))
        with pytest.raises(rasv.EngineUnavailable):
            srv.engine.synthesize(request(ref))
        assert srv.restarts == 1


def test_startup_failure_shows_the_log(tmp_path):
    root = make_root(tmp_path, body="raise SystemExit('no module named torch, say')")
    with pytest.raises(rasv.EngineUnavailable, match="(?s)exited with status 1.*no module named torch"):
        server(root, tmp_path).start()


def test_startup_timeout(tmp_path):
    # The stand-in would take a minute to come up: start() gives up after its timeout and
    # stops it first (read from the log, not from a wall clock a loaded machine stretches).
    root = make_root(tmp_path, "--startup-delay", "60")
    srv = server(root, tmp_path, startup_timeout=1.0)
    with pytest.raises(rasv.EngineUnavailable, match="did not come up"):
        srv.start()
    assert not srv.running
    log = srv.log_path.read_text()
    assert "rasv: stopped" in log and "Uvicorn running" not in log


def test_bad_root_script_and_port(tmp_path):
    with pytest.raises(rasv.InvalidInput, match="not found"):
        GsvServer(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(rasv.EngineUnavailable, match="api_v2.py not found"):
        GsvServer(tmp_path / "empty", python=PYTHON).start()
    root = make_root(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(rasv.EngineUnavailable, match="already in use"):
            server(root, tmp_path, port=s.getsockname()[1]).start()


def two_free_ports() -> int:
    """A port that is free now and whose next one is too (a pool takes ``base_port + i``)."""
    for _ in range(100):
        base = free_port()
        with socket.socket() as s:
            try:  # (no SO_REUSEADDR: a port some connection still holds is passed over too)
                s.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base
    raise AssertionError("no two free ports in a row")


def test_pool_one_server_per_gpu(tmp_path, ref):
    root = make_root(tmp_path)
    base = two_free_ports()
    pool = GsvServer.pool(2, root, devices=["cuda:0", "cuda:1"], base_port=base,
                          python=PYTHON, env={"PYTHONPATH": str(REPO)}, is_half=False,
                          startup_timeout=30)
    with pool:
        assert [s.port for s in pool] == [base, base + 1]
        assert sorted(r["cuda"] for r in starts(root)) == ["0", "1"]
        urls = {e.synthesize(request(ref)).meta["engine"] for e in pool.engines}
        assert urls == {f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}"}
        for s in pool:
            assert yaml.safe_load(s.config_path.read_text())["custom"]["device"] == "cuda"
    assert not any(s.running for s in pool)
    with pytest.raises(rasv.InvalidInput, match="one device each"):
        GsvServer.pool(2, root, devices=["cuda:0"])


def test_default_python_prefers_the_bundled_runtime(tmp_path):
    root = make_root(tmp_path)
    (root / "runtime").mkdir()
    exe = root / "runtime" / "python.exe"
    exe.write_text("")
    assert GsvServer(root).python == str(exe)
    assert GsvServer(root, python=sys.executable).python == sys.executable


def test_weights_deleted_since_the_last_session_are_not_reloaded(tmp_path, ckpts):
    import shutil

    root = make_root(tmp_path)
    gone = tmp_path / "old.pth"
    shutil.copy(ckpts["sovits2"], gone)
    srv = server(root, tmp_path)
    srv.workdir.mkdir(parents=True)
    srv.config_path.write_text(yaml.safe_dump({"custom": {
        "t2s_weights_path": ckpts["gpt"], "vits_weights_path": str(gone)}}), encoding="utf-8")
    gone.unlink()
    srv._write_config()
    custom = yaml.safe_load(srv.config_path.read_text())["custom"]
    assert custom["t2s_weights_path"] == ckpts["gpt"], "weights still on disk are kept"
    assert custom["vits_weights_path"] != str(gone)


def test_tasks_run_accepts_a_server_and_a_pool(tmp_path, ref, ckpts):
    # Users pass what they just started: a GsvServer or a ServerPool stands for its engines.
    from rasv.testing import make_clip

    root = make_root(tmp_path)
    ws = rasv.open(tmp_path / "ws")
    role = ws.roles.create("女声-ann")
    clip = ws.clips.add(role, make_clip(tmp_path / "c.wav", 4.0), text="参考音频。", lang="zh")
    g, s = ws.models.add(ckpts["gpt"], role=role), ws.models.add(ckpts["sovits"], role=role)
    task = ws.tasks.create(role, "t", ["你好。", "再见。"], clips=[clip], gpt=g, sovits=s)
    with server(root, tmp_path, gpt=ckpts["gpt"], sovits=ckpts["sovits"]) as srv:
        assert ws.tasks.run(task, srv).progress.done == 2
        assert srv.engine.switches == {"gpt": 0, "sovits": 0}  # started with these weights
    with pytest.raises(rasv.InvalidInput, match="is not running"):
        ws.tasks.run(task, srv)
    task2 = ws.tasks.create(role, "t2", ["一。", "二。", "三。"], clips=[clip], gpt=g, sovits=s)
    with GsvServer.pool(2, root, python=PYTHON, device="cpu", startup_timeout=30,
                        env={"PYTHONPATH": str(REPO)}) as pool:
        assert ws.tasks.run(task2, pool).progress.done == 3
        assert set(task2.plan().engine) <= {p.url for p in pool}
    ws.close()


def test_a_pip_installed_gpt_sovits_runs_its_script_from_site_packages(tmp_path, ckpts):
    # pip keeps api_v2.py in site-packages and the data in the user's folder (no script there).
    site = tmp_path / "site"
    site.mkdir()
    (site / "api_v2.py").write_text(STANDIN.format(
        body="from rasv.testing.fake_gsv import main\nmain(sys.argv[1:])"), encoding="utf-8")
    data = tmp_path / "data"
    (data / "GPT_SoVITS").mkdir(parents=True)
    with GsvServer(data, python=PYTHON, device="cpu", workdir=tmp_path / "run",
                   gpt=ckpts["gpt"], sovits=ckpts["sovits"], startup_timeout=30,
                   env={"PYTHONPATH": f"{site}{os.pathsep}{REPO}"}) as srv:
        assert srv.command()[1] == str(site / "api_v2.py")
        [run] = starts(data)
        assert run["cwd"] == str(data)
    with pytest.raises(rasv.EngineUnavailable, match="no installed api_v2 module"):
        GsvServer(data, python=PYTHON, device="cpu", workdir=tmp_path / "run2",
                  env={"PYTHONPATH": str(REPO)}).start()
