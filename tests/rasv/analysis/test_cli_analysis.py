"""``rasv analyze`` on a workspace task."""

from __future__ import annotations

import io

import pandas as pd
from click.testing import CliRunner

from rasv.cli import main


def test_analyze_prints_the_report_and_the_listen_first_order(ws, eval_set, add_task):
    takes = [t for t in eval_set if t.text == eval_set[0].text]
    task = add_task(ws, takes)
    args = ["analyze", "-w", str(ws.root), str(task), "-m", "noise", "-m", "silence",
            "-m", "pace", "--top", "3"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert f"task {task}: {len(takes)} takes, {len(takes)} analysed, 0 cached" in res.output
    assert "listen first:" in res.output and "电音/electric noise" in res.output
    again = CliRunner().invoke(main, args)
    assert f"0 analysed, {len(takes)} cached" in again.output


def test_analyze_csv(ws, eval_set, add_task):
    task = add_task(ws, eval_set[:3])
    res = CliRunner().invoke(main, ["analyze", "-w", str(ws.root), str(task), "-m", "clipping",
                                    "--format", "csv"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.output))
    assert list(df.columns[:3]) == ["take_id", "suspicion", "rank"] and len(df) == 3


def test_analyze_errors_are_one_sentence(ws):
    res = CliRunner().invoke(main, ["analyze", "-w", str(ws.root), "77"])
    assert res.exit_code == 1 and "task 77 does not exist" in res.output
    help_ = CliRunner().invoke(main, ["analyze", "--help"])
    assert "Example:" in help_.output


def test_analyze_json_keeps_lists(ws, eval_set, add_task):
    import json

    task = add_task(ws, eval_set[:2])
    res = CliRunner().invoke(main, ["analyze", "-w", str(ws.root), str(task), "-m", "silence",
                                    "--vad", "energy", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 2 and isinstance(rows[0]["flags"], list)


def test_analyze_takes_a_task_name(ws, eval_set, add_task):
    add_task(ws, eval_set[:2], name="by name")
    res = CliRunner().invoke(main, ["analyze", "-w", str(ws.root), "by_name", "-m", "clipping"])
    assert res.exit_code == 0, res.output
    assert "2 takes, 2 analysed" in res.output
