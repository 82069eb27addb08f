"""Deleting a clip, a product, a long-text run, a task or a role leaves no orphan behind.

One workspace with takes shared between tasks, long-text runs and products, scores, metrics,
A/B votes and cached visuals; after each kind of delete the whole workspace is checked: no
take, file, score, metric, vote or visual that nothing uses, and nothing still used gone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rasv
from rasv.audio.spectrogram import VISUALS_DIR
from rasv.takes import drop_unused_takes
from rasv.testing import FakeEngine, make_clip

LONG = "第一句话说得很慢。第二句话，说得长一些。第三句就短了。"


def _ids(ws, sql: str) -> set:
    return {r[0] for r in ws.store.rows(sql) if r[0] is not None}


def check(ws) -> None:
    """The workspace-wide invariants every delete path must keep."""
    takes = _ids(ws, "SELECT id FROM takes")
    used = _ids(ws, "SELECT take_id FROM task_takes UNION SELECT take_id FROM longtext_chunks "
                    "UNION SELECT source_take_id FROM longtext_runs "
                    "UNION SELECT source_take_id FROM products")
    scored = _ids(ws, "SELECT take_id FROM scores WHERE NOT long_text")
    assert used <= takes, f"something uses a deleted take: {used - takes}"
    assert takes <= used | scored, f"orphaned takes: {takes - used - scored}"
    assert _ids(ws, "SELECT take_id FROM scores") <= takes, "a score of a deleted take"
    assert _ids(ws, "SELECT longtext_id FROM scores WHERE long_text") <= _ids(
        ws, "SELECT id FROM longtext_runs"), "a long-text score of a deleted run"
    assert _ids(ws, "SELECT take_id FROM metrics") <= takes, "a metric of a deleted take"
    assert _ids(ws, "SELECT take_a FROM votes UNION SELECT take_b FROM votes") <= takes, \
        "a vote on a deleted take"
    # Files: each stored file is named by a row, and each named file exists.
    root = ws.root
    on_disk = {p.relative_to(root).as_posix() for p in (root / "audio").rglob("*") if p.is_file()}
    take_files = _ids(ws, "SELECT audio_path FROM takes")
    run_files = _ids(ws, "SELECT audio_path FROM longtext_runs UNION "
                         "SELECT srt_path FROM longtext_runs")
    clip_files = _ids(ws, "SELECT path FROM clips UNION SELECT path FROM aux_clips")
    kept_shas = _ids(ws, "SELECT clip_sha256 FROM takes UNION "
                         "SELECT json_extract_string(extra, '$.clip_sha256') FROM products")
    named = take_files | run_files | clip_files
    assert named <= on_disk, f"files still used are gone: {named - on_disk}"
    stray = {f for f in on_disk - named if Path(f).stem not in kept_shas}
    assert not stray, f"orphaned files: {stray}"
    cached = {p.name.rsplit("-", 1)[0] for p in (root / VISUALS_DIR).rglob("*.npz")}
    assert {k for k in cached if not k.startswith("clip")} <= takes, "visuals of a deleted take"


@pytest.fixture
def built(ws, tmp_path):
    """Two roles; role A's takes are shared between tasks, runs and products."""
    src = tmp_path / "src"
    src.mkdir()
    a, b = ws.roles.create("男-甲"), ws.roles.create("女-乙")
    c1, c2, c3 = (ws.clips.add(a, make_clip(src / f"a{i}.wav", 4 + i, seed=i), text="参考。")
                  for i in range(3))
    # Role B's clip has the same audio as c1: one stored file, two owners.
    cb = ws.clips.add(b, make_clip(src / "b.wav", 4, seed=0), text="参考。")
    eng = FakeEngine(fail=lambda r: r.ref_audio_path.endswith(Path(c3.path).name))
    t1 = ws.tasks.create(a, "t1", ["一。", "二。"], clips=[c1, c2], engine="fake", seeds=[1])
    t2 = ws.tasks.create(a, "t2", ["二。", "三。"], clips=[c1, c3], engine="fake", seeds=[1])
    tb = ws.tasks.create(b, "tb", ["四。"], clips=[cb], engine="fake", seeds=[1])
    for t in (t1, t2, tb):
        ws.tasks.run(t, eng)
    assert t2.counts().failed == 2  # c3's takes are never made
    done = list(ws.store.rows("SELECT id FROM takes WHERE status = 'done' ORDER BY id"))
    for (tid,) in done:
        with ws.store.transaction() as cur:
            cur.execute("INSERT INTO metrics(take_id, name, value) VALUES (?, 'x', 1)", [tid])
        ws.takes.spectrogram(tid)
    t1_takes = list(ws.takes.df(t1, sort="plan").id)
    t2_takes = list(ws.takes.df(t2, sort="plan").id)
    shared = (set(t1_takes) & set(t2_takes)).pop()  # c1 × "二。"
    ws.scores.set(t1_takes[0], 4)
    ws.scores.vote(t1_takes[0], t1_takes[1], t1_takes[0], task=t1)
    ws.scores.vote(shared, t2_takes[0] if t2_takes[0] != shared else t2_takes[1], "tie", task=t2)
    lt = ws.longtext.render(t1_takes[1], LONG, eng, method="cut5")
    ws.longtext.score(lt.id, 3)
    lt2 = ws.longtext.render(t1_takes[1], LONG, eng, method="cut5")  # shares lt's chunks
    for ch in lt.chunks:
        ws.takes.spectrogram(ch.take_id)
    pa = ws.products.create_from_take(shared, "p-shared")
    pb = ws.products.create_from_take(ws.takes.df(tb).id[0], "p-b")
    ltb = ws.longtext.render(pb.id, LONG, eng, method="cut5")
    check(ws)
    return dict(a=a, b=b, c1=c1, c3=c3, t1=t1, t2=t2, tb=tb, t1_takes=t1_takes, shared=shared,
                lt=lt, lt2=lt2, pa=pa, pb=pb, ltb=ltb)


def test_every_delete_path_leaves_no_orphan_and_keeps_what_is_used(ws, built):
    k = built
    b_takes = _ids(ws, f"SELECT take_id FROM task_takes WHERE task_id = {k['tb'].id} UNION "
                       f"SELECT take_id FROM longtext_chunks WHERE run_id = {k['ltb'].id}")

    # Clip: its unmade takes leave every plan, its made takes and their scores stay.
    ws.clips.delete(k["c3"].id)
    check(ws)
    assert k["t2"].counts().failed == 0
    assert ws.clips.count(k["a"]) == 2

    # Task, without force: takes another task, a run, a product or a score uses stay.
    ws.tasks.delete(k["t2"])
    check(ws)
    assert ws.takes.exists(k["shared"])  # t1 and a product use it

    # Product: its source take stays while the task uses it.
    ws.products.delete(k["pa"].id)
    check(ws)
    assert ws.takes.exists(k["shared"])

    # Long-text run: chunks the other run shares stay, then go with it.
    ws.longtext.delete(k["lt"].id)
    check(ws)
    assert all(ws.takes.exists(c.take_id) for c in k["lt2"].chunks)
    ws.longtext.delete(k["lt2"].id)
    check(ws)
    # Role B's run renders the same text from the same audio and parameters: the same takes.
    b_chunks = {c.take_id for c in k["ltb"].chunks}
    assert {c.take_id for c in k["lt2"].chunks if ws.takes.exists(c.take_id)} == b_chunks & {
        c.take_id for c in k["lt2"].chunks}

    # Task, forced: even scored takes go; the vote on them too.
    ws.tasks.delete(k["t1"], force=True)
    check(ws)
    assert ws.sql("SELECT count(*) AS n FROM votes").n[0] == 0

    # Role: everything of role A goes, role B keeps all it uses (the shared clip audio too).
    ws.roles.delete(k["a"])
    check(ws)
    assert _ids(ws, "SELECT id FROM takes") == b_takes
    assert (ws.root / ws.clips.df(k["b"]).path[0]).exists()
    assert ws.longtext.get(k["ltb"].id).status == "done"


def test_deleting_a_role_first_keeps_the_other_roles_work(ws, built):
    k = built
    b_takes = _ids(ws, f"SELECT take_id FROM task_takes WHERE task_id = {k['tb'].id} UNION "
                       f"SELECT take_id FROM longtext_chunks WHERE run_id = {k['ltb'].id} UNION "
                       f"SELECT source_take_id FROM products WHERE id = {k['pb'].id}")
    ws.roles.delete(k["a"])
    check(ws)
    assert _ids(ws, "SELECT id FROM takes") == b_takes
    assert ws.sql("SELECT count(*) AS n FROM scores").n[0] == 0  # role A's, long-text too


@pytest.mark.parametrize("last", ["product", "run"])
def test_a_take_kept_only_by_a_product_or_run_goes_with_the_last_of_them(ws, built, last):
    k = built
    t2_only = set(ws.takes.df(k["t2"]).id) - set(ws.takes.df(k["t1"]).id)
    made = next(t for t in t2_only if ws.takes.get(t).status == "done")
    p = ws.products.create_from_take(made, "only-t2")
    lt = ws.longtext.render(made, "短句。另一句。", FakeEngine(), method="cut5")
    ws.tasks.delete(k["t2"])  # the product and the run keep the take
    check(ws)
    assert ws.takes.exists(made)
    audio = ws.takes.get(made).audio_path
    first, then = ((lambda: ws.longtext.delete(lt.id)), (lambda: ws.products.delete(p.id)))
    if last == "run":
        first, then = then, first
    first()
    check(ws)
    assert ws.takes.exists(made)
    then()
    check(ws)
    assert not ws.takes.exists(made) and not (ws.root / audio).exists()


def test_the_rule_alone_keeps_scored_takes_only_when_asked(ws, built):
    k = built
    scored = k["t1_takes"][0]
    with ws.store.transaction() as cur:
        cur.execute("DELETE FROM task_takes WHERE take_id = ?", [scored])
    assert drop_unused_takes(ws, [scored, "no-such-take"], keep_scored=True) == []
    path = ws.takes.get(scored).audio_path
    try:
        with ws.store.transaction():
            assert drop_unused_takes(ws, [scored]) == [scored]
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert ws.takes.exists(scored) and (ws.root / path).exists(), "a rollback keeps the file"
    assert drop_unused_takes(ws, [scored]) == [scored]
    assert not (ws.root / path).exists()
    assert ws.sql(f"SELECT count(*) AS n FROM votes WHERE take_a = '{scored}'").n[0] == 0
    assert not list((ws.root / VISUALS_DIR).rglob(f"{scored}-*.npz"))
    check(ws)


def test_rasv_exports_the_rule():
    assert rasv.takes.drop_unused_takes is drop_unused_takes
