"""Speaker similarity of takes to their reference clip and to the role, with the small
deterministic test embedding (the real backends are tested by the classification module)."""

from __future__ import annotations

import numpy as np
import pytest

from rasv.analysis.speaker import for_task, resolve_model
from rasv.audio.files import write_wav
from rasv.errors import InvalidInput
from rasv.testing import FakeEmbeddingBackend


def _task_with_clips(ws, add_task, eval_set, tmp_path):
    from gsv_bridge.espeak import synth

    role = ws.roles.create("男性-测试")
    ref, sr = synth("这是一段参考音频，用来克隆声音。", voice="cmn+f3")
    write_wav(tmp_path / "ref.wav", ref, sr)
    clip = ws.clips.add(role, tmp_path / "ref.wav", text="这是一段参考音频，用来克隆声音。", lang="zh")
    same = [t for t in eval_set if t.defect is None and t.voice == "cmn+f3"][:3]
    drift = next(t for t in eval_set if t.defect is None and t.voice == "en-us+m7")
    task = add_task(ws, [*same, drift], name="speaker")
    ws.store.rows("UPDATE takes SET clip_id = ?", [clip.id])
    ws.store.rows("UPDATE tasks SET role_id = ?", [role.id])
    return task, drift


def test_drifting_take_is_least_similar_and_flagged(ws, add_task, eval_set, tmp_path):
    task, drift = _task_with_clips(ws, add_task, eval_set, tmp_path)
    report = ws.analysis.run(task, ["speaker"], speaker=FakeEmbeddingBackend())
    assert report.computed == 4
    wide = ws.analysis.df(task).set_index("take_id")
    drift_id = f"speaker-{drift.id}"
    assert wide["sim_ref"].idxmin() == drift_id
    assert wide["sim_centroid"].idxmin() == drift_id
    assert (wide.drop(index=drift_id)["sim_ref"] > wide.loc[drift_id, "sim_ref"] + 0.05).all()
    order = ws.analysis.suspicion(task)
    assert order.take_id[0] == drift_id and "timbre" in order["flags"][0]


def test_a_new_clip_in_the_role_changes_the_centroid_version(ws, add_task, eval_set, tmp_path):
    task, _ = _task_with_clips(ws, add_task, eval_set, tmp_path)
    v1 = for_task(ws, task, FakeEmbeddingBackend()).version
    ws.analysis.run(task, ["speaker"], speaker=FakeEmbeddingBackend())
    assert ws.analysis.run(task, ["speaker"], speaker=FakeEmbeddingBackend()).computed == 0
    # a clip vector cached by classification joins the centroid
    with ws.store.transaction() as cur:
        cur.execute("INSERT INTO embeddings (sha256, backend, version, dim, vector)"
                    " SELECT sha256 || 'x', 'fake-spectrum', '1', 24, ?::FLOAT[] FROM clips",
                    [np.ones(24).tolist()])
        cur.execute("UPDATE clips SET sha256 = sha256 || 'x'")
    assert for_task(ws, task, FakeEmbeddingBackend()).version != v1


def test_speaker_needs_a_task_and_a_model(ws):
    with pytest.raises(InvalidInput, match="task"):
        ws.analysis.measure(np.zeros(16000, np.float32), 16000, metrics=["sim_ref"])
    assert resolve_model(FakeEmbeddingBackend()).name == "fake-spectrum"


def test_clip_vectors_land_in_the_classification_cache(ws, add_task, eval_set, tmp_path):
    task, _ = _task_with_clips(ws, add_task, eval_set, tmp_path)
    ws.analysis.run(task, ["speaker"], speaker=FakeEmbeddingBackend())
    cached = ws.sql("SELECT backend, count(*) AS n FROM embeddings GROUP BY ALL")
    assert cached.backend.tolist() == ["fake-spectrum"] and cached.n.tolist() == [1]


def test_default_run_skips_speaker_without_reference_clips(ws, add_task, eval_set):
    task = add_task(ws, eval_set[:1])
    report = ws.analysis.run(task, speaker=FakeEmbeddingBackend())
    assert [name for name, _ in report.skipped] == ["speaker"]
    assert "sim_ref" not in set(ws.sql("SELECT name FROM metrics").name)
