"""`rasv models scan` and `rasv models list`."""

from __future__ import annotations

from click.testing import CliRunner

import rasv
from rasv.cli import main


def test_cli_scan_and_list(tmp_path, gsv_root):
    runner = CliRunner()
    wsdir = str(tmp_path / "ws")
    assert runner.invoke(main, ["init", wsdir]).exit_code == 0
    with rasv.open(wsdir) as ws:
        ws.roles.create("女声-ann")
    res = runner.invoke(main, ["models", "scan", "-w", wsdir, "女声-ann", str(gsv_root),
                               "--experiment", "ann"])
    assert res.exit_code == 0, res.output
    assert "5 checkpoints (2 GPT, 3 SoVITS)" in res.output
    assert "junk.pth" in res.output  # reported as skipped on stderr
    res = runner.invoke(main, ["models", "list", "-w", wsdir, "--kind", "sovits", "--format", "csv"])
    assert res.exit_code == 0 and res.output.count("\n") == 4 and "ann_e8_s96.pth" in res.output
    res = runner.invoke(main, ["models", "scan", "-w", wsdir, "nobody", str(gsv_root)])
    assert res.exit_code == 1 and "role nobody does not exist" in res.output
