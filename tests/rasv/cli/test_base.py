"""The shared CLI plumbing: version, task and take lookup, output formats."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import rasv
from rasv.cli import main
from rasv.cli.base import find_take, find_task
from tests.rasv.review_task import make_task


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_version_works_from_a_source_checkout():
    out = run("--version")
    assert out.exit_code == 0, out.output
    assert rasv.__version__ in out.output


@pytest.fixture
def wsdir(tmp_path):
    with rasv.open(tmp_path / "ws") as ws:
        role = ws.roles.create("男-张三")
        make_task(ws, role, tmp_path / "src", n_clips=2, texts=[("你好世界。", "zh")],
                  vary={"top_k": [5, 15]}, name="k sweep")
    return str(tmp_path / "ws")


def test_find_task_and_take(wsdir):
    with rasv.open(wsdir) as ws:
        assert find_task(ws, "k sweep").id == find_task(ws, "1").id == 1
        with pytest.raises(rasv.TaskNotFound):
            find_task(ws, "nope")
        full = ws.sql("SELECT id FROM takes ORDER BY id").id.tolist()
        assert find_take(ws, full[0]) == full[0]
        assert find_take(ws, full[0][:12].upper()) == full[0]
        with pytest.raises(rasv.TakeNotFound, match="at least 6"):
            find_take(ws, full[0][:3])
        with pytest.raises(rasv.TakeNotFound):
            find_take(ws, "ffffffffffff0")


def test_review_commands_take_task_names_and_the_ids_tables_show(wsdir):
    table = run("takes", "-w", wsdir, "k sweep")
    assert table.exit_code == 0, table.output
    short = table.output.splitlines()[1].split()[0]
    assert len(short) == 12
    scored = run("score", "-w", wsdir, short, "--stars", 4)
    assert scored.exit_code == 0, scored.output
    assert "4 stars" in scored.output
    assert run("rollup", "-w", wsdir, "k sweep").exit_code == 0
    assert run("conclude", "-w", wsdir, "k sweep", "k=5").exit_code == 0
    saved = run("save-product", "-w", wsdir, short, "温柔")
    assert saved.exit_code == 0, saved.output
    with rasv.open(wsdir) as ws:
        assert ws.scores.conclusion(1) == "k=5"
        assert ws.products.df().source_take_id.iloc[0].startswith(short)


def test_json_output_is_plain(wsdir):
    out = run("takes", "-w", wsdir, "1", "--format", "json")
    assert out.exit_code == 0 and "\\/" not in out.output
    rows = json.loads(out.output)
    assert rows[0]["audio_path"].startswith("audio/takes/")
    sql = run("sql", "-w", wsdir, "SELECT 'a/b' AS p", "--format", "json")
    assert json.loads(sql.output) == [{"p": "a/b"}]


def test_rank_without_votes_says_so(wsdir):
    out = run("rank", "-w", wsdir, "k sweep")
    assert out.exit_code == 0 and "no A/B votes yet" in out.output
    with rasv.open(wsdir) as ws:
        a, b = ws.takes.df(1, sort="plan").id[:2]
        ws.scores.vote(a, b, a, task=1)
    out = run("rank", "-w", wsdir, "k sweep")
    assert out.exit_code == 0 and "p_win" in out.output
