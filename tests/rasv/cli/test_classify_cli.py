"""``rasv embed``, ``rasv similar`` and ``rasv cluster`` through click's runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import rasv
from rasv.cli import main
from rasv.cli.classify import parse_segment
from rasv.testing import make_clip

FAKE = "rasv.testing:FakeEmbeddingBackend"


@pytest.fixture
def wsdir(tmp_path):
    root = tmp_path / "ws"
    with rasv.open(root) as ws:
        role = ws.roles.create("男性-张三")
        for i, f0 in enumerate([110, 114, 118, 250, 260]):
            ws.clips.add(role, make_clip(tmp_path / f"c{i}.wav", 3.5, f0=f0, seed=i),
                         text=f"第{i}句")
    return str(root)


def run(*args):
    res = CliRunner().invoke(main, list(args))
    return res


def test_embed_reports_computed_then_cached(wsdir):
    res = run("embed", "-w", wsdir, "男性-张三", "--backend", FAKE)
    assert res.exit_code == 0, res.output
    assert "5 clips, 5 computed, 0 cached, 0 failed" in res.output
    res = run("embed", "-w", wsdir, "男性-张三", "--backend", FAKE)
    assert "0 computed, 5 cached" in res.output


def test_similar_table_histogram_json_and_assign(wsdir):
    res = run("similar", "-w", wsdir, "1", "--backend", FAKE, "--top", "3")
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].split()[:3] == ["rank", "clip_id", "score"] and len(lines) == 4
    res = run("similar", "-w", wsdir, "1", "--backend", FAKE, "--histogram", "--format", "csv")
    assert res.output.startswith("label,count,first_rank\n0.9–1.0,")
    res = run("similar", "-w", wsdir, "1", "--backend", FAKE, "--format", "json")
    rows = json.loads(res.output)
    assert rows[0]["clip_id"] == 1 and rows[0]["seed"] is True
    threshold = rows[2]["score"]
    res = run("similar", "-w", wsdir, "1", "--backend", FAKE, "--assign", "低音",
              "--threshold", str(threshold))
    assert res.exit_code == 0 and "moved 3 clips into 低音" in res.output
    res = run("similar", "-w", wsdir, "1", "--backend", FAKE, "--assign", "x")
    assert res.exit_code != 0 and "go together" in res.output
    res = run("similar", "-w", wsdir, "77", "--backend", FAKE)
    assert res.exit_code == 1 and "clip 77 does not exist" in res.output


def test_cluster_views(wsdir):
    res = run("cluster", "-w", wsdir, "男性-张三", "--backend", FAKE, "--summary")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0].split()[:3] == ["cluster", "size", "n_valid"]
    res = run("cluster", "-w", wsdir, "男性-张三", "--backend", FAKE, "--representatives")
    assert [int(x) for x in res.output.split()] and len(res.output.split()) == 2
    res = run("cluster", "-w", wsdir, "男性-张三", "--backend", FAKE, "--format", "csv",
              "--n-clusters", "1")
    assert res.output.count("\n") == 6 and ",representative" in res.output.splitlines()[0]
    res = run("cluster", "-w", wsdir, "男性-张三", "--backend", "nope")
    assert res.exit_code == 1 and "unknown embedding backend" in res.output


def test_parse_segment():
    assert parse_segment("4.1-6.0,7.2-9.9") == [(4.1, 6.0), (7.2, 9.9)]
    assert parse_segment(" .5 - 1 ") == [(0.5, 1.0)]
