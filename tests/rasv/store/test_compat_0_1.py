"""A workspace made by rasv 0.1 opens and re-runs its tasks with 0 syntheses.

``data/rasv_0_1`` holds what rasv 0.1 (commit ``9eb6c8e``) computed and stored: take ids for a
fixed grid of inputs, and a text dump (schema + CSV) of a workspace database with a task run,
a score and a product (see its README). The take id is the cache key: if it changed, every
take of an existing workspace would be synthesised again.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import rasv
from rasv.params import Params
from rasv.tasks.grid import take_id
from rasv.testing import FakeEngine, make_clip

DATA = Path(__file__).parent / "data" / "rasv_0_1"
PINNED = json.loads((DATA / "pinned.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", PINNED["grid"], ids=lambda r: r["take_id"][:8])
def test_take_ids_are_those_rasv_0_1_computed(row):
    kw = {k: v for k, v in row.items() if k not in ("take_id", "params")}
    assert take_id(**kw, params=Params(**row["params"])) == row["take_id"]


def _restore(root: Path) -> Path:
    """Rebuild the 0.1 workspace from its dump, with audio files where its rows name them."""
    root.mkdir()
    dump = (DATA / "dump").as_posix()
    con = duckdb.connect(str(root / "rasv.duckdb"))
    try:
        con.execute((DATA / "dump" / "schema.sql").read_text(encoding="utf-8"))
        con.execute((DATA / "dump" / "load.sql").read_text(encoding="utf-8")
                    .replace("{DUMP}", dump))
        takes = [r[0] for r in con.execute(
            "SELECT audio_path FROM takes WHERE audio_path IS NOT NULL").fetchall()]
    finally:
        con.close()
    clip = PINNED["clip"]
    make_clip(root / clip["path"], clip["duration_s"], seed=clip["seed"])
    for rel in takes:
        make_clip(root / rel, 1.0)
    return root


def test_a_rasv_0_1_workspace_opens_and_reruns_with_0_syntheses(tmp_path):
    ws = rasv.open(_restore(tmp_path / "ws"))
    task = ws.tasks.get(1)
    assert sorted(ws.takes.df(task).id) == PINNED["task_take_ids"]
    eng = FakeEngine()
    ws.tasks.run(task, eng)
    assert eng.calls == [] and task.counts().done == len(PINNED["task_take_ids"])
    # The same task created again by today's code plans the very same takes: nothing to make.
    again = ws.tasks.create(task.role_id, "again", ["你好。", "再见。"], clips=[1],
                            engine="fake", seeds=[1, 2], vary={"top_k": [5, 15]})
    assert sorted(ws.takes.df(again).id) == PINNED["task_take_ids"]
    ws.tasks.run(again, eng)
    assert eng.calls == []
    assert ws.sql("SELECT count(*) AS n FROM scores").n[0] == 1
    assert ws.products.df().source_take_id.tolist() == [PINNED["task_take_ids"][1]]


def test_a_workspace_reopened_reruns_its_task_with_0_syntheses(tmp_path):
    ws = rasv.open(tmp_path / "ws")
    r = ws.roles.create("男-甲")
    c = ws.clips.add(r, make_clip(tmp_path / "ref.wav", 4.0), text="参考。")
    t = ws.tasks.create(r, "x", ["你好。", "再见。"], clips=[c], engine="fake", seeds=[1, 2],
                        vary={"top_k": [5, 15]})
    first = FakeEngine()
    ws.tasks.run(t, first)
    assert len(first.calls) == 8
    ws.close()
    ws = rasv.open(tmp_path / "ws")
    again = FakeEngine()
    ws.tasks.run(ws.tasks.get(t.id), again)
    assert again.calls == [] and ws.tasks.get(t.id).counts().done == 8
