"""The Engines tab: connecting, starting a server from a GPT-SoVITS folder, checkpoints."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from rasv.errors import InvalidInput
from rasv.testing.checkpoints import make_checkpoint
from rasv.testing.fake_gsv import FakeGsvServer
from widgets.context import Context
from widgets.engines import EnginesPanel, engine_from_spec, engines_from_env
from widgets.workbench import Workbench

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def panel(role_ctx):
    p = EnginesPanel(role_ctx)
    yield p
    p.close()


def test_specs_and_env():
    assert [type(e).__name__ for e in engines_from_env("fake,espeak")] == [
        "FakeEngine", "EspeakEngine"]
    with pytest.raises(InvalidInput, match="api_v2 URL"):
        engine_from_spec("ftp://nope")


def test_connect_to_a_running_server(panel):
    with FakeGsvServer(latency_s=0.0) as srv:
        engine = panel.connect(srv.url)
        assert panel.ctx.engines == [engine]
        row = panel.table.rows[0]
        assert row["kind"] == "gpt-sovits" and row["state"] == "ok" and "api_v2" in row["detail"]
    assert panel.check(0)[0] == "down"
    assert panel.table.rows[0]["_muted"]
    panel.table.action(0, "remove")
    assert panel.ctx.engines == []


def test_connect_refuses_a_dead_url(panel):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    panel.url.value = f"http://127.0.0.1:{port}"
    panel.connect_button.click()
    assert "Cannot use" in panel.ctx.notice.value and panel.ctx.engines == []


def test_start_a_server_from_a_gsv_folder(panel, tmp_path, monkeypatch):
    root = tmp_path / "GPT-SoVITS"
    (root / "GPT_SoVITS" / "configs").mkdir(parents=True)
    (root / "api_v2.py").write_text(
        "import sys\nfrom rasv.testing.fake_gsv import main\nmain(sys.argv[1:])\n",
        encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    panel.gsv_root.value = str(root)
    panel.python.value = sys.executable
    panel.device.value = "cpu"
    panel.port.value = port
    server = panel.start_server(wait=True)
    assert server.running and panel.ctx.engines == [server.engine]
    assert "is ready" in panel.server_status.value
    panel.close()
    assert not server.running


def test_start_without_a_folder_is_one_sentence(panel):
    panel.start_button.click()
    assert "GPT-SoVITS folder" in panel.ctx.notice.value


def test_scan_label_and_delete_checkpoints(panel, tmp_path, ws):
    weights = tmp_path / "weights"
    make_checkpoint(weights / "ann-e10.ckpt", version="v2")
    make_checkpoint(weights / "ann_e8_s96.pth", version="v2ProPlus")
    (weights / "notes.pth").write_bytes(b"not a checkpoint")
    panel.scan_root.value = str(weights)
    panel.scan_button.click()
    assert sorted(r["kind"] for r in panel.models.rows) == ["gpt", "sovits"]
    assert "skipped 1" in panel.ctx.notice.value
    sovits = next(r for r in panel.models.rows if r["kind"] == "sovits")
    assert sovits["version"] == "v2ProPlus"
    panel.models.edit(sovits["id"], "label", "ann best")
    assert ws.models.get(sovits["id"]).label == "ann best"
    panel.models.action(sovits["id"], "delete")
    assert [r["kind"] for r in panel.models.rows] == ["gpt"]


def test_workbench_takes_engines_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RASV_WORKSPACE", str(tmp_path / "w"))
    monkeypatch.setenv("RASV_ENGINES", "fake")
    wb = Workbench.from_env(lang="en")
    assert [e.name for e in wb.ctx.engines] == ["fake-1"]
    assert wb.panel("engines").table.rows[0]["name"] == "fake-1"


def test_engines_given_to_the_workbench_are_checked(ws):
    from rasv.testing import FakeEngine

    ctx = Context(ws, lang="en", engines=[FakeEngine()])
    panel = EnginesPanel(ctx)
    panel._check_unknown(wait=True)
    assert panel.table.rows[0]["state"] == "ok"
