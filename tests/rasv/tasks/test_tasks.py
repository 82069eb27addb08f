"""Tasks: creation and validation, plans, counts, versions, delete."""

from __future__ import annotations

import json
import threading
import time
import warnings

import pytest

import rasv
import rasv.testing.checkpoints
from rasv.tasks.grid import DEFAULT_SEED
from tests.rasv.taskkit import GsvRecorder, Recorder, aux, clip, model


@pytest.fixture
def gsv(ws):
    """A GPT and a SoVITS v2 checkpoint."""
    return model(ws, "gpt", "v2"), model(ws, "sovits", "v2")


def test_texts_take_library_ids_pairs_and_strings(ws, role):
    lib = ws.texts.add("今天下雨了吗？", category="q")
    c = clip(ws, role)
    t = ws.tasks.create(role, "texts", [lib.id, ("Hello there.", "EN"), "こんにちは。",
                                        {"text": "안녕하세요", "lang": "ko"}],
                        clips=[c], engine="fake")
    got = [(x.text, x.lang, x.id) for x in t.spec.texts]
    assert got == [("今天下雨了吗？", "zh", lib.id), ("Hello there.", "en", None),
                   ("こんにちは。", "ja", None), ("안녕하세요", "ko", None)]
    one = ws.tasks.create(role, "one", "你好。", clips=[c], engine="fake")
    assert [x.text for x in one.spec.texts] == ["你好。"]
    two = ws.tasks.create(role, "two", ["hi", "yo"], clips=[c], engine="fake")
    assert [x.text for x in two.spec.texts] == ["hi", "yo"]


def test_unknown_references_are_refused(ws, role):
    c = clip(ws, role)
    with pytest.raises(rasv.TextNotFound):
        ws.tasks.create(role, "x", [9999], clips=[c], engine="fake")
    with pytest.raises(rasv.ClipNotFound):
        ws.tasks.create(role, "x", ["a"], clips=[9999], engine="fake")
    with pytest.raises(rasv.ModelNotFound):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=9999, engine="fake")
    with pytest.raises(rasv.AuxClipNotFound):
        ws.tasks.create(role, "x", ["a"], clips=[c], aux=[9999], engine="fake")
    with pytest.raises(rasv.RoleNotFound):
        ws.tasks.create("nobody", "x", ["a"], clips=[c], engine="fake")
    other = ws.roles.create("女性-小红")
    with pytest.raises(rasv.InvalidInput, match="another role"):
        ws.tasks.create(other, "x", ["a"], clips=[c], engine="fake")
    with pytest.raises(rasv.InvalidInput, match="clip_categories"):
        ws.tasks.create(role, "x", ["a"], clips="温柔", engine="fake")


def test_empty_grids_are_refused(ws, role):
    c = clip(ws, role)
    with pytest.raises(rasv.EmptyGrid, match="texts"):
        ws.tasks.create(role, "x", [], clips=[c], engine="fake")
    with pytest.raises(rasv.EmptyGrid, match="clips"):
        ws.tasks.create(role, "x", ["a"], engine="fake")
    with pytest.raises(rasv.EmptyGrid, match="no usable clips"):
        ws.tasks.create(role, "x", ["a"], clip_categories=["nothing-here"], engine="fake")
    with pytest.raises(rasv.EmptyGrid, match="combos"):
        ws.tasks.create(role, "x", ["a"], clips=[c], combos=[], engine="fake")
    with pytest.raises(rasv.InvalidInput, match="did you mean"):
        ws.tasks.create(role, "x", ["a"], clips=[c], vary={"temprature": [1.0]}, engine="fake")
    with pytest.raises(rasv.InvalidInput, match="name"):
        ws.tasks.create(role, " ", ["a"], clips=[c], engine="fake")
    assert ws.tasks.list().empty


def test_categories_pick_the_valid_clips(ws, role, gsv):
    ok = [clip(ws, role, 4.0, category="温柔"), clip(ws, role, 9.5, category="温柔")]
    clip(ws, role, 12.0, category="温柔")
    clip(ws, role, 5.0, category="愤怒")
    with pytest.warns(rasv.RasvWarning, match="outside"):
        t = ws.tasks.create(role, "cat", ["你好。"], clip_categories="温柔",
                            gpt=gsv[0], sovits=gsv[1])
    assert t.spec.clips == tuple(c.id for c in ok)
    assert any("left out" in w for w in t.spec.warnings)


def test_clips_outside_3_to_10_s_are_refused_unless_forced(ws, role, gsv):
    long = clip(ws, role, 11.0)
    with pytest.raises(rasv.TaskError, match="3–10 s"):
        ws.tasks.create(role, "x", ["a"], clips=[long], gpt=gsv[0], sovits=gsv[1])
    with pytest.warns(rasv.RasvWarning, match="outside"):
        t = ws.tasks.create(role, "x", ["a"], clips=[long], gpt=gsv[0], sovits=gsv[1],
                            force=True)
    assert t.spec.force and len(t.plan()) == 1
    # Other engine kinds have no such rule.
    ws.tasks.create(role, "y", ["a"], clips=[long], engine="fake")


def test_gpt_sovits_tasks_need_both_checkpoints(ws, role, gsv):
    c = clip(ws, role)
    with pytest.raises(rasv.TaskError, match="GPT and a SoVITS"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0])
    with pytest.raises(rasv.InvalidInput, match="gpt checkpoint, not a sovits"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0], sovits=gsv[0])
    by_path = ws.store.scalar("SELECT path FROM models WHERE id = ?", [gsv[1]])
    t = ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0], sovits=by_path)
    assert (t.spec.gpt, t.spec.sovits) == gsv


def test_parameters_a_version_ignores_are_refused_or_warned(ws, role, gsv):
    c = clip(ws, role)
    v3 = model(ws, "sovits", "v3")
    with pytest.raises(rasv.CapabilityError, match="sample_steps .* v2 ignores it"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0], sovits=gsv[1],
                        vary={"sample_steps": [8, 32]})
    with pytest.warns(rasv.RasvWarning, match="sample_steps"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0], sovits=gsv[1],
                        vary={"sample_steps": [8, 32]}, force=True)
    # Mixed versions: only some takes are affected, so it is a warning.
    with pytest.warns(rasv.RasvWarning, match="v2 ignores it"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0],
                        vary={"sovits": [gsv[1], v3], "super_sampling": [False, True]})
    # A fixed value that has no effect is only a warning.
    with pytest.warns(rasv.RasvWarning, match="no effect"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0], sovits=gsv[1],
                        fixed=rasv.Params(sample_steps=8))
    # v3 takes no aux clips and needs transcripts.
    a = aux(ws)
    with pytest.raises(rasv.CapabilityError, match="auxiliary"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=gsv[0], sovits=v3, aux=[a.id])
    mute = clip(ws, role, text="")
    with pytest.raises(rasv.CapabilityError, match="transcript"):
        ws.tasks.create(role, "x", ["a"], clips=[mute], gpt=gsv[0], sovits=v3)
    with pytest.warns(rasv.RasvWarning, match="reference-free"):
        ws.tasks.create(role, "x", ["a"], clips=[mute], gpt=gsv[0], sovits=gsv[1])


def test_languages_a_version_does_not_take_are_refused(ws, role):
    c = clip(ws, role)
    g1, s1 = model(ws, "gpt", "v1"), model(ws, "sovits", "v1")
    with pytest.raises(rasv.CapabilityError, match="ko"):
        ws.tasks.create(role, "x", [("안녕하세요", "ko")], clips=[c], gpt=g1, sovits=s1)


def test_v1_and_v2_checkpoints_cannot_be_paired(ws, role):
    c = clip(ws, role)
    g1, s2 = model(ws, "gpt", "v1"), model(ws, "sovits", "v2")
    with pytest.raises(rasv.CapabilityError, match="phoneme sets"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=g1, sovits=s2)


def test_identical_checkpoint_files_share_takes(ws, role):
    c = clip(ws, role)
    s = model(ws, "sovits")
    g1 = ws.models.add(rasv.testing.checkpoints.make_checkpoint(ws.root / "a" / "x.ckpt")).id
    g2 = ws.models.add(rasv.testing.checkpoints.make_checkpoint(ws.root / "b" / "x.ckpt")).id
    task = ws.tasks.create(role, "same", ["a"], clips=[c], sovits=s, vary={"gpt": [g1, g2]})
    assert len(task.plan()) == 1  # same bytes, same audio: one take


def test_unknown_versions_are_warned_not_refused(ws, role):
    c = clip(ws, role)
    g, s = model(ws, "gpt", None), model(ws, "sovits", None)
    with pytest.warns(rasv.RasvWarning, match="version unknown"):
        ws.tasks.create(role, "x", ["a"], clips=[c], gpt=g, sovits=s,
                        vary={"sample_steps": [8, 16]})


def test_plan_materialises_takes_once_and_shares_them(ws, role):
    c1, c2 = clip(ws, role), clip(ws, role, text="第二个。")
    t = ws.tasks.create(role, "k", ["你好。", "再见。"], clips=[c1, c2],
                        vary={"top_k": [5, 15]}, engine="fake")
    plan = t.plan()
    assert len(plan) == 8 and plan.take_id.is_unique
    assert set(plan.label) == {"top_k=5", "top_k=15"}
    assert plan.seed.unique().tolist() == [DEFAULT_SEED]
    assert plan.status.unique().tolist() == ["pending"]
    assert plan.equals(t.plan())
    row = ws.sql("SELECT * FROM takes WHERE id = ?", [plan.take_id[0]]).iloc[0]
    assert row.prompt_text == "参考音频。" and json.loads(row.params)["top_k"] == 5
    # A second task that needs some of the same takes links them.
    t2 = ws.tasks.create(role, "k15", ["你好。"], clips=[c1], fixed={"top_k": 15},
                         engine="fake")
    assert t2.plan().take_id.iloc[0] in set(plan.take_id)
    assert ws.sql("SELECT count(*) AS n FROM takes").n[0] == 8


def test_takes_differ_by_engine_kind(ws, role):
    c = clip(ws, role)
    a = ws.tasks.create(role, "a", ["hi"], clips=[c], engine="fake")
    b = ws.tasks.create(role, "b", ["hi"], clips=[c], engine="espeak")
    assert a.plan().take_id[0] != b.plan().take_id[0]


def test_seeds_and_repeats(ws, role):
    c = clip(ws, role)
    t = ws.tasks.create(role, "s", ["a"], clips=[c], seeds=[7, 8], engine="fake")
    assert t.plan().seed.tolist() == [7, 8]
    r = ws.tasks.create(role, "r", ["a"], clips=[c], repeats=3, engine="fake")
    assert r.plan().seed.tolist() == list(rasv.tasks.grid.derive_seeds(3))
    v = ws.tasks.create(role, "v", ["a"], clips=[c], vary={"seed": [1, 2]}, engine="fake")
    assert v.plan().seed.tolist() == [1, 2]
    f = ws.tasks.create(role, "f", ["a"], clips=[c], fixed=rasv.Params(seed=42), engine="fake")
    assert f.plan().seed.tolist() == [42]


def test_counts_and_status_follow_the_takes(ws, role):
    c = clip(ws, role)
    t = ws.tasks.create(role, "x", ["a", "b", "c"], clips=[c], engine="fake")
    assert t.counts() == rasv.tasks.namespace.TaskCounts(total=3, pending=3)
    assert t.counts().status == "pending"
    ws.tasks.run(t, Recorder(fail=lambda r: r.text == "c"))
    counts = t.counts()
    assert (counts.done, counts.failed, counts.status) == (2, 1, "failed")
    ws.tasks.reset(t)
    assert t.counts().status == "partial"
    ws.tasks.run(t, Recorder())
    assert t.counts().status == "done"
    listed = ws.tasks.list(role)
    assert listed[["name", "status", "n_takes", "n_done"]].values.tolist() == [["x", "done", 3, 3]]


def test_list_shows_what_varies(ws, role):
    c = clip(ws, role)
    ws.tasks.create(role, "kp", ["a"], clips=[c], vary={"top_k": [1, 2]},
                    combos=[{"top_p": 0.5}, {"top_p": 0.9}], engine="fake")
    assert ws.tasks.list().varies.tolist() == ["top_k, top_p"]


def test_combinations_name_the_models(ws, role, gsv):
    c = clip(ws, role)
    g2 = model(ws, "gpt", "v2", name="bob-e10")
    t = ws.tasks.create(role, "g", ["a"], clips=[c], sovits=gsv[1], vary={"gpt": [gsv[0], g2]})
    labels = t.combinations().label.tolist()
    assert labels[1].startswith("gpt=bob-e10")


def test_edit_renames_in_place_and_versions_when_takes_exist(ws, role):
    c = clip(ws, role)
    t = ws.tasks.create(role, "x", ["a"], clips=[c], engine="fake")
    t = ws.tasks.edit(t, name="renamed", conclusion="k=5 wins")
    assert (t.name, t.conclusion, t.version) == ("renamed", "k=5 wins", 1)
    # Planned but never run: rewritten in place, plan replaced.
    t = ws.tasks.edit(t, texts=["a", "b"])
    assert (t.id, t.version, len(t.plan())) == (1, 1, 2)
    assert ws.sql("SELECT count(*) AS n FROM takes").n[0] == 2
    ws.tasks.run(t, Recorder())
    t2 = ws.tasks.edit(t, texts=["a", "b", "c"])
    assert (t2.version, t2.parent_id, t2.name) == (2, t.id, "renamed")
    assert t2.counts() == rasv.tasks.namespace.TaskCounts(total=3, pending=1, done=2)
    assert ws.tasks.get(t.id).archived and ws.tasks.get(t.id).counts().done == 2
    assert ws.tasks.list().id.tolist() == [t2.id]
    assert ws.tasks.list(all_versions=True).id.tolist() == [t.id, t2.id]
    with pytest.raises(rasv.TaskError, match="newer version"):
        ws.tasks.edit(t, texts=["z"])
    with pytest.raises(rasv.InvalidInput, match="cannot edit"):
        ws.tasks.edit(t2, role=2)


def test_edit_can_swap_clips_and_seed_forms(ws, role):
    c1, c2 = clip(ws, role, category="a"), clip(ws, role, category="b")
    t = ws.tasks.create(role, "x", ["a"], clip_categories=["a"], seeds=[1, 2], engine="fake")
    t = ws.tasks.edit(t, clip_categories=["b"], repeats=1)
    assert t.spec.clips == (c2.id,) and t.spec.seeds == () and t.spec.repeats == 1
    t = ws.tasks.edit(t, clips=[c1, c2])
    assert t.spec.clips == (c1.id, c2.id)


def test_edit_keeps_the_clip_snapshot_unless_clips_change(ws, role):
    first = clip(ws, role, category="温柔")
    t = ws.tasks.create(role, "x", ["a"], clip_categories=["温柔"], engine="fake")
    later = clip(ws, role, category="温柔")
    t2 = ws.tasks.edit(t, texts=["a", "b"])
    assert t2.spec.clips == (first.id,) and t2.spec.clip_categories == ("温柔",)
    t3 = ws.tasks.edit(t2, clip_categories=["温柔"])
    assert t3.spec.clips == (first.id, later.id)


def test_delete_keeps_scored_and_shared_takes_unless_forced(ws, role):
    c = clip(ws, role)
    t = ws.tasks.create(role, "x", ["a", "b", "c"], clips=[c], engine="fake")
    ws.tasks.run(t, Recorder())
    plan = t.plan()
    other = ws.tasks.create(role, "y", ["c"], clips=[c], engine="fake")  # shares take "c"
    with ws.store.transaction() as cur:
        cur.execute("INSERT INTO scores(take_id, stars) VALUES (?, 4)", [plan.take_id[0]])
    files = {p: (ws.root / p).exists() for p in plan.audio_path}
    assert all(files.values())
    assert ws.tasks.delete(t) == {"takes_deleted": 1, "takes_kept": 2}
    left = set(ws.sql("SELECT id FROM takes").id)
    assert left == {plan.take_id[0], plan.take_id[2]}
    assert not (ws.root / plan.audio_path[1]).exists()
    assert (ws.root / plan.audio_path[0]).exists()
    with pytest.raises(rasv.TaskNotFound):
        ws.tasks.get(t.id)
    assert ws.tasks.delete(other, force=True) == {"takes_deleted": 1, "takes_kept": 0}
    # The scored take of the deleted task is still there, with its score.
    assert ws.sql("SELECT count(*) AS n FROM scores").n[0] == 1


def test_delete_force_removes_scores(ws, role):
    c = clip(ws, role)
    t = ws.tasks.create(role, "x", ["a"], clips=[c], engine="fake")
    ws.tasks.run(t, Recorder())
    with ws.store.transaction() as cur:
        cur.execute("INSERT INTO scores(take_id, stars) VALUES (?, 4)", [t.plan().take_id[0]])
    assert ws.tasks.delete(t, force=True) == {"takes_deleted": 1, "takes_kept": 0}
    assert ws.sql("SELECT (SELECT count(*) FROM scores) + (SELECT count(*) FROM takes) AS n"
                  ).n[0] == 0


def test_a_running_task_cannot_be_deleted_or_edited(ws, role):
    c = clip(ws, role)
    t = ws.tasks.create(role, "x", ["a"], clips=[c], repeats=30, engine="fake")
    release = threading.Event()

    class Held(Recorder):
        """Holds its take until the checks are done: a free-running engine could finish the
        task (or be between takes) by the time a loaded machine gets to them."""

        def synthesize(self, req):
            release.wait(30)
            return super().synthesize(req)

    run = ws.tasks.run(t, Held(), background=True)
    try:
        deadline = time.monotonic() + 30
        while t.counts().running == 0:
            assert time.monotonic() < deadline, "no take started"
            time.sleep(0.01)
        with pytest.raises(rasv.TaskBusy):
            ws.tasks.delete(t)
        with pytest.raises(rasv.TaskBusy):
            ws.tasks.edit(t, texts=["b"])
    finally:
        run.cancel()
        release.set()
        run.wait()
    assert t.counts().running == 0
    ws.tasks.delete(t)


def test_records_work_without_warnings_for_a_clean_task(ws, role, gsv):
    c = clip(ws, role)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = ws.tasks.create(role, "clean", ["a"], clips=[c], gpt=gsv[0], sovits=gsv[1],
                            vary={"top_k": [5, 15]})
    assert t.spec.warnings == ()
    assert t.label == "clean (v1)" and t.engine_kind == "gpt-sovits"
    assert ws.tasks.get(t.id) == t
    with pytest.raises(rasv.CapabilityError, match="'gpt-sovits' engines"):
        ws.tasks.run(t, Recorder())
    assert ws.tasks.run(t, GsvRecorder()).progress.done == 2


def test_editing_a_task_whose_clip_was_deleted_says_how(ws, role):
    keep, gone = clip(ws, role), clip(ws, role, 5.0)
    task = ws.tasks.create(role, "x", ["a"], clips=[keep, gone], engine="fake")
    ws.clips.delete(gone.id)
    with pytest.raises(rasv.TaskError, match=rf"uses clip {gone.id}, which was deleted.*clips="):
        ws.tasks.edit(task, texts=["b"])
    edited = ws.tasks.edit(task, texts=["b"], clips=[keep])
    assert edited.spec.clips == (keep.id,)
    with pytest.raises(rasv.ClipNotFound):  # a wrong id the caller gives stays ClipNotFound
        ws.tasks.edit(edited, clips=[99999])
