"""The review commands, driven through click's CliRunner."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest
from click.testing import CliRunner

import rasv
from rasv.cli import main
from rasv.cli.review import parse_filter
from tests.rasv.review_task import make_task


@pytest.fixture
def setup(tmp_path):
    ws = rasv.open(tmp_path / "ws")
    role = ws.roles.create("男-张三")
    task = make_task(ws, role, tmp_path / "src", n_clips=2, texts=[("你好世界。", "zh")],
                     vary={"top_k": [5, 15]}, seeds=(1,))
    ws.close()
    return str(tmp_path / "ws"), task


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_takes_lists_sorts_filters_and_exports(setup, tmp_path):
    wsdir, task = setup
    out = run("takes", "-w", wsdir, task.id, "--sort", "duration")
    assert out.exit_code == 0, out.output
    assert "params_label" in out.output and len(out.output.strip().splitlines()) == 5
    csv = run("takes", "-w", wsdir, task.id, "--csv", "--filter", "top_k=15")
    rows = [line for line in csv.output.splitlines()[1:] if line]
    assert csv.exit_code == 0 and len(rows) == 2
    path = tmp_path / "t.parquet"
    assert run("takes", "-w", wsdir, task.id, "-o", path, "--group-by", "clip,param").exit_code == 0
    assert path.exists()
    bad = run("takes", "-w", wsdir, task.id, "--sort", "nonsense")
    assert bad.exit_code == 1 and "cannot sort" in bad.output


def test_takes_table_shows_the_columns_behind_the_ask_order(setup):
    wsdir, task = setup
    assert run("score", "-w", wsdir, task.take_ids[0], "--stars", 5).exit_code == 0
    out = run("takes", "-w", wsdir, task.id, "--sort", "ask")
    assert out.exit_code == 0, out.output
    header, first = out.output.splitlines()[:2]
    assert "ask_rank" in header and "stars_pred" in header and "stars_low" in header
    assert first.split()[-4] == "1"  # the take to hear next, ranked as a whole number
    plain = run("takes", "-w", wsdir, task.id)
    assert "ask_rank" not in plain.output and "stars_pred" not in plain.output


def test_score_rollup_conclude_and_export(setup, tmp_path):
    wsdir, task = setup
    out = run("score", "-w", wsdir, task.take_ids[0], "--stars", 4, "--tag", "电音",
              "--tag", "吞字", "--remark", "buzz")
    assert out.exit_code == 0 and "4 stars" in out.output and "电音" in out.output
    assert run("score", "-w", wsdir, task.take_ids[0], "--stars", 9).exit_code == 2
    missing = run("score", "-w", wsdir, "nope", "--stars", 3)
    assert missing.exit_code == 1 and "does not exist" in missing.output
    roll = run("rollup", "-w", wsdir, task.id)
    assert roll.exit_code == 0 and "top_k" in roll.output
    assert run("conclude", "-w", wsdir, task.id, "k=15 wins").exit_code == 0
    exp = run("export-scores", "-w", wsdir, tmp_path / "s.csv", "--history")
    assert exp.exit_code == 0
    assert pd.read_csv(tmp_path / "s.csv", encoding="utf-8-sig").stars.tolist() == [4]
    with rasv.open(wsdir) as ws:
        assert ws.scores.conclusion(task.id) == "k=15 wins"


def test_score_takes_stars_after_the_take(setup):
    wsdir, task = setup
    out = run("score", "-w", wsdir, task.take_ids[1], 3)
    assert out.exit_code == 0 and "3 stars" in out.output, out.output
    same = run("score", "-w", wsdir, task.take_ids[1], 2, "--stars", 2)
    assert same.exit_code == 0 and "2 stars" in same.output
    clash = run("score", "-w", wsdir, task.take_ids[1], 2, "--stars", 4)
    assert clash.exit_code == 2 and "two star counts" in clash.output
    with rasv.open(wsdir) as ws:
        assert ws.scores.get(task.take_ids[1]).stars == 2


def test_longtext_products_and_packs(setup, tmp_path):
    wsdir, task = setup
    out = run("longtext", "-w", wsdir, "--take", task.take_ids[0], "--text",
              "第一句话很长很长。第二句话也不短。", "--engine", "fake", "-o", tmp_path / "lt.zip")
    assert out.exit_code == 0, out.output
    assert "long-text run 1" in out.output and (tmp_path / "lt.zip").exists()
    assert run("longtext", "-w", wsdir, "--text", "x", "--engine", "fake").exit_code == 2
    bad_engine = run("longtext", "-w", wsdir, "--take", task.take_ids[0], "--text", "好。",
                     "--engine", "nothing")
    assert bad_engine.exit_code == 1 and "is not an engine" in bad_engine.output
    saved = run("save-product", "-w", wsdir, task.take_ids[0], "温柔")
    assert saved.exit_code == 0 and "product 1" in saved.output
    listing = run("products", "-w", wsdir)
    assert "温柔" in listing.output
    zip_path = tmp_path / "p.zip"
    assert run("export-products", "-w", wsdir, 1, "-o", zip_path, "--merge").exit_code == 0
    with zipfile.ZipFile(zip_path) as z:
        cfg = next(n for n in z.namelist() if n.endswith("infer_config.json"))
        assert json.loads(z.read(cfg))["product_list"][0]["name"] == "温柔"


def test_filter_syntax():
    assert parse_filter("stars=..3") == ("stars", (None, 3))
    assert parse_filter("category=happy") == ("category", "happy")
    assert parse_filter("super_sampling=true") == ("super_sampling", True)


def test_help_has_examples():
    for cmd in ("takes", "score", "rollup", "rank", "conclude", "longtext", "products",
                "save-product", "export-products", "export-scores"):
        out = run(cmd, "--help")
        assert out.exit_code == 0 and "Example:" in out.output, cmd


def test_json_output(setup):
    wsdir, task = setup
    out = run("takes", "-w", wsdir, task.id, "--format", "json")
    rows = json.loads(out.output)
    assert out.exit_code == 0 and len(rows) == 4 and "params_label" in rows[0]
    assert json.loads(run("rollup", "-w", wsdir, task.id, "--format", "json").output)


def test_recommend_says_what_listening_more_can_do(setup):
    wsdir, task = setup
    ws = rasv.open(wsdir)
    takes = ws.takes.df(task.id, sort="plan")
    ws.close()
    first = takes.id.iloc[0]
    assert run("score", "-w", wsdir, first, "--stars", 0).exit_code == 0
    out = run("recommend", "-w", wsdir, task.id)
    assert "not sure yet" in out.output and "none of its takes heard yet" in out.output
    for i, t in enumerate(takes.itertuples()):  # both clips average 2.5 stars
        assert run("score", "-w", wsdir, t.id, "--stars", 5 * ((i + t.clip_id) % 2)).exit_code == 0
    out = run("recommend", "-w", wsdir, task.id)
    assert out.exit_code == 0 and "too close to call: every take heard" in out.output, out.output
