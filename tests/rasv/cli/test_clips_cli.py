"""The clip commands, through click's runner and as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import rasv
from rasv.cli import main
from rasv.testing import make_clip, write_list

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def setup(tmp_path):
    src = tmp_path / "src"
    rows = [(make_clip(src / f"c{i}.wav", 3.5 + i, seed=i), "spk", "ZH", f"第{i}句") for i in range(3)]
    lst = write_list(tmp_path / "a.list", rows + ["broken line"])
    wsdir = tmp_path / "ws"
    assert CliRunner().invoke(main, ["init", str(wsdir)]).exit_code == 0
    return wsdir, lst


def test_import_list_reports_added_and_bad_lines(setup):
    wsdir, lst = setup
    res = CliRunner().invoke(main, ["import-list", "-w", str(wsdir), "男性-张三", lst])
    assert res.exit_code == 0, res.output
    assert "男性-张三: added 3, overwritten 0, skipped 1" in res.output
    assert "line 4: expected 4 fields" in res.output


def test_clips_table_csv_json(setup):
    wsdir, lst = setup
    runner = CliRunner()
    runner.invoke(main, ["import-list", "-w", str(wsdir), "a-b", lst])
    out = runner.invoke(main, ["clips", "-w", str(wsdir), "a-b", "--sort", "name"]).output
    assert "c0.wav" in out and "第2句" in out
    csv = runner.invoke(main, ["clips", "-w", str(wsdir), "a-b", "--format", "csv"]).output
    assert csv.splitlines()[0].startswith("id,name,path")
    data = json.loads(runner.invoke(main, ["clips", "-w", str(wsdir), "a-b", "--format", "json",
                                           "--valid"]).output)
    assert len(data) == 3 and {d["lang"] for d in data} == {"zh"}


def test_export_list_command(setup, tmp_path):
    wsdir, lst = setup
    runner = CliRunner()
    runner.invoke(main, ["import-list", "-w", str(wsdir), "a-b", lst])
    res = runner.invoke(main, ["export-list", "-w", str(wsdir), "a-b", str(tmp_path / "out"), "--zip"])
    assert res.exit_code == 0 and res.output.strip().endswith("out.zip")


def test_errors_are_one_sentence_and_exit_1(setup, tmp_path):
    wsdir, _ = setup
    runner = CliRunner()
    res = runner.invoke(main, ["import-list", "-w", str(wsdir), "a-b", str(tmp_path / "none.list")])
    assert res.exit_code == 1 and res.output.startswith("error: ") and "file not found" in res.output
    with rasv.open(wsdir) as ws:
        assert ws.roles.list().empty  # the failed import created no role
    res = runner.invoke(main, ["clips", "-w", str(tmp_path / "not-a-ws"), "a-b"])
    assert res.exit_code == 2 and "not a rasv workspace" in res.output
    res = runner.invoke(main, ["import-list", "-w", str(wsdir), "x", "y", "--path-map", "nope"])
    assert res.exit_code == 2


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name, cmd in main.commands.items():
        res = runner.invoke(main, [name, "--help"])
        assert res.exit_code == 0, name
        assert "Example:" in (cmd.help or ""), f"`rasv {name} --help` has no example"


@pytest.mark.slow
def test_cli_import_while_another_process_reads(tmp_path):
    """A CLI import and a reader process share one workspace; both succeed."""
    src = tmp_path / "src"
    rows = [(make_clip(src / f"c{i}.wav", 3.2, seed=i, sample_rate=8000), "s", "zh", f"{i}")
            for i in range(120)]
    lst = write_list(tmp_path / "big.list", rows)
    wsdir = tmp_path / "ws"
    with rasv.open(wsdir) as ws:
        ws.roles.create("a-b")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reader_code = f"""
import time, rasv
seen = []
deadline = time.time() + 60
with rasv.open({str(wsdir)!r}, lock_timeout=30) as ws:
    while time.time() < deadline:
        n = ws.clips.count('a-b')
        seen.append(n)
        if n == 120:
            break
        time.sleep(0.01)
assert seen == sorted(seen), seen
print('reads', len(seen), 'last', seen[-1])
"""
    reader = subprocess.Popen([sys.executable, "-c", reader_code], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    imp = subprocess.run([sys.executable, "-m", "rasv", "import-list", "-w", str(wsdir), "a-b", lst],
                         env=env, capture_output=True, text=True, timeout=120)
    out, err = reader.communicate(timeout=120)
    assert imp.returncode == 0, imp.stderr
    assert "added 120" in imp.stdout
    assert reader.returncode == 0, err
    assert "last 120" in out


def test_import_list_into_a_role_named_without_its_category(setup):
    wsdir, lst = setup
    runner = CliRunner()
    first = runner.invoke(main, ["import-list", "-w", str(wsdir), "男性-张三", lst])
    assert "created role 男性-张三" in first.output
    again = runner.invoke(main, ["import-list", "-w", str(wsdir), "张三", lst,
                                 "--on-duplicate", "rename"])
    assert again.exit_code == 0, again.output
    assert "男性-张三: added 3" in again.output and "created role" not in again.output
    with rasv.open(wsdir) as ws:
        assert ws.roles.list().label.tolist() == ["男性-张三"]
    missing = runner.invoke(main, ["import-list", "-w", str(wsdir), "李四", lst,
                                   "--no-create-role"])
    assert missing.exit_code == 1 and "role 李四 does not exist" in missing.output


def test_an_import_that_adds_nothing_leaves_no_role(setup, tmp_path):
    wsdir, _ = setup
    bad = write_list(tmp_path / "bad.list", ["missing.wav|s|ZH|x"])
    res = CliRunner().invoke(main, ["import-list", "-w", str(wsdir), "男性-李四", bad])
    assert res.exit_code == 0, res.output
    assert "added 0, overwritten 0, skipped 1" in res.output
    assert "created role" not in res.output and "not created" in res.output
    with rasv.open(wsdir) as ws:
        assert ws.roles.list().empty
