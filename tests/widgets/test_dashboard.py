"""``rasv serve`` / ``rasv demo`` plumbing that needs no browser."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import rasv
from rasv.cli import main
from widgets import dashboard
from widgets.demo import DEMO_CLIPS, DEMO_ROLE, build_demo


def test_checked_in_dashboard_notebook_matches_the_generated_one():
    repo = Path(__file__).resolve().parents[2] / "notebooks" / "workbench.ipynb"
    nb = json.loads(repo.read_text(encoding="utf-8"))
    assert nb == dashboard.dashboard_notebook_json()


def test_voila_is_bound_to_loopback_with_a_preheated_kernel():
    cmd = dashboard.voila_command(Path("w.ipynb"), 9001)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9001" in cmd
    assert "--preheat_kernel=True" in cmd and "--no-browser" in cmd


def test_dashboard_env_points_the_kernel_at_the_workspace(tmp_path):
    env = dashboard.dashboard_env(tmp_path, lang="zh", engines=["espeak", "http://x:9880"],
                                  base={"PYTHONPATH": "/elsewhere"})
    assert env["RASV_WORKSPACE"] == str(tmp_path.resolve())
    assert env["RASV_ENGINES"] == "espeak,http://x:9880" and env["RASV_LANG"] == "zh"
    assert env["PYTHONPATH"].endswith("/elsewhere")


def test_pick_port_skips_a_busy_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    busy = s.getsockname()[1]
    try:
        assert dashboard.pick_port(busy) != busy
    finally:
        s.close()


def test_start_refuses_a_folder_that_is_not_a_workspace(tmp_path):
    with pytest.raises(rasv.InvalidInput, match="not a rasv workspace"):
        dashboard.start(tmp_path)


def test_serve_command_refuses_a_non_workspace(tmp_path):
    res = CliRunner().invoke(main, ["serve", str(tmp_path), "--no-browser"])
    assert res.exit_code != 0 and "not a rasv workspace" in res.output


def test_serve_command_reports_a_busy_port(tmp_path):
    rasv.open(tmp_path / "w").close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        res = CliRunner().invoke(
            main, ["serve", str(tmp_path / "w"), "--no-browser", "--port", str(s.getsockname()[1])])
    finally:
        s.close()
    assert res.exit_code == 1 and "already in use" in res.output


def test_demo_builds_once_and_reuses(tmp_path):
    res = CliRunner().invoke(main, ["demo", str(tmp_path / "d"), "--no-serve"])
    assert res.exit_code == 0, res.output
    assert f"{len(DEMO_CLIPS)} clips" in res.output
    assert "open it with: rasv serve " in res.output and res.output.rstrip().endswith("--engine espeak")
    with rasv.open(tmp_path / "d") as ws:
        df = ws.clips.df(DEMO_ROLE)
        assert set(df.category) == {"female", "male"}
        assert (~df.valid).sum() == 2  # one too short, one too long, on purpose
        assert set(df.lang) == {"zh", "en", "ja"}
        n_texts = len(ws.texts.df())
        task = ws.tasks.get(int(ws.tasks.list(DEMO_ROLE).id.iloc[0]))
        counts = task.counts()
        assert counts.done == counts.total == len(DEMO_CLIPS) * 2 * 2  # 2 texts, 2 speeds
        assert {t.lang for t in task.spec.texts} == {"zh", "en"}
    again = build_demo(tmp_path / "d")
    assert again["clips"] == len(DEMO_CLIPS) and again["texts"] == n_texts
    assert again["task"] == task.id and again["takes"] == counts.total


def test_the_cli_side_never_imports_ipywidgets():
    import os
    import subprocess
    import sys

    code = ("import sys, rasv.cli, widgets.dashboard, widgets.demo; "
            "print(sorted(m for m in ('ipywidgets', 'anywidget') if m in sys.modules))")
    repo = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": repo}).stdout.strip()
    assert out == "[]"
