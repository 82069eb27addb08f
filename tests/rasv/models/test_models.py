"""ws.models: scan, add, get, df, update, delete, and the `rasv models` CLI."""

from __future__ import annotations

import os
import time

import pytest

import rasv
from rasv.testing import make_checkpoint


def test_scan_a_gsv_root(ws, role, gsv_root):
    df = ws.models.scan(role, gsv_root)
    assert len(df) == 6
    assert [os.path.basename(p) for p, _ in df.attrs["skipped"]] == ["junk.pth"]
    row = df[df.name == "ann_e8_s96.pth"].iloc[0]
    assert (row.kind, row.version, row.experiment, row.epoch, row.step, row.pretrained) == (
        "sovits", "v2ProPlus", "ann", 8, 96, False)
    assert row.label == "ann e8 s96" and row.role == "男性-张三" and row.exists
    assert len(row.sha256) == 64
    base = df[df.pretrained]
    assert set(base.name) == {"s2G2333k.pth", "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"}
    assert base.role_id.isna().all() and set(base.label) == {"pretrained v2"}


def test_scan_filters_by_experiment_and_pretrained(ws, role, gsv_root):
    df = ws.models.scan(role, gsv_root, experiment="ann", pretrained=False)
    assert sorted(df.name) == ["ann-e10.ckpt", "ann_e4_s40.pth", "ann_e8_s96.pth"]
    assert len(ws.models.scan(role, gsv_root, experiment="b*", pretrained=False)) == 1


def test_rescan_skips_unchanged_files_and_refreshes_changed_ones(ws, role, gsv_root, monkeypatch):
    ws.models.scan(role, gsv_root)
    import rasv.models.checkpoints as ck

    hashed = []
    real = ck.sha256_file
    monkeypatch.setattr(ck, "sha256_file", lambda p: hashed.append(os.path.basename(p)) or real(p))
    df = ws.models.scan(role, gsv_root)
    assert hashed == [] and len(df) == 6
    target = gsv_root / "SoVITS_weights_v2ProPlus" / "ann_e4_s40.pth"
    make_checkpoint(target, version="v2Pro")  # retrained in place
    os.utime(target, (time.time() + 5, time.time() + 5))
    df = ws.models.scan(role, gsv_root)
    assert hashed == ["ann_e4_s40.pth"]
    assert df[df.name == "ann_e4_s40.pth"].version.item() == "v2Pro"
    assert len(ws.models.df()) == 6  # refreshed, not duplicated


def test_role_filter_shows_own_and_shared(ws, gsv_root):
    ann = ws.roles.create("女声-ann")
    bob = ws.roles.create("男声-bob")
    ws.models.scan(ann, gsv_root, experiment="ann")
    ws.models.scan(bob, gsv_root, experiment="bob")
    assert sorted(ws.models.df(role=bob).name) == [
        "bob_e2_s20.pth", "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", "s2G2333k.pth"]
    assert sorted(ws.models.df(role=ann, kind="gpt").name) == [
        "ann-e10.ckpt", "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"]
    # A later scan of everything does not steal bob's models for ann.
    ws.models.scan(ann, gsv_root)
    assert ws.models.get(gsv_root / "SoVITS_weights_v2ProPlus" / "bob_e2_s20.pth").role_id == bob.id


def test_add_get_update_delete(ws, role, tmp_path):
    p = make_checkpoint(tmp_path / "w" / "ann_e8_s96.pth", version="v4", lora_rank=32)
    m = ws.models.add(p, role=role, label=" 温柔 ")
    assert (m.kind, m.version, m.lora_rank, m.label, m.role_id) == ("sovits", "v4", 32, "温柔", role.id)
    assert ws.models.get(p) == ws.models.get(m.id) == m
    assert ws.models.add(p).id == m.id  # adding again refreshes, never duplicates
    m2 = ws.models.update(m.id, label="")
    assert m2.label == "ann e8 s96"
    ws.models.delete(m.id)
    with pytest.raises(rasv.ModelNotFound):
        ws.models.get(m.id)
    assert os.path.exists(p)  # the user's file is never deleted


def test_add_refuses_bad_input(ws, tmp_path):
    with pytest.raises(rasv.CheckpointError, match="not found"):
        ws.models.add(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"<html>not a model</html>")
    with pytest.raises(rasv.CheckpointError, match="not a GPT-SoVITS"):
        ws.models.add(bad)
    g = make_checkpoint(tmp_path / "g-e1.ckpt")
    with pytest.raises(rasv.CheckpointError, match="GPT checkpoint"):
        ws.models.add(g, kind="sovits")
    with pytest.raises(rasv.InvalidInput):
        ws.models.add(g, kind="vits")
    assert ws.models.df().empty  # nothing partial was written


def test_delete_refuses_models_in_use_unless_forced(ws, tmp_path):
    m = ws.models.add(make_checkpoint(tmp_path / "a_e1_s1.pth"))
    ws.sql("INSERT INTO takes(id, engine_kind, text, text_lang, params, sovits_id) "
           "VALUES ('t1', 'gpt-sovits', 'x', 'zh', '{}', ?)", [m.id], write=True)
    with pytest.raises(rasv.InvalidInput, match="used by 1"):
        ws.models.delete(m.id)
    ws.models.delete(m.id, force=True)
    assert ws.models.df().empty


def test_missing_file_shows_in_df(ws, tmp_path):
    p = make_checkpoint(tmp_path / "a_e1_s1.pth")
    ws.models.add(p)
    os.remove(p)
    assert ws.models.df().exists.tolist() == [False]


def test_df_survives_renamed_checkpoints_beside_parsed_ones(tmp_path):
    # A user who renamed a checkpoint (no experiment/epoch in the name) must keep the table.
    gsv = tmp_path / "gsv"
    for name in ("ann-e10.ckpt", "final.ckpt", "g1.ckpt"):
        make_checkpoint(gsv / "GPT_weights_v2" / name)
    for name in ("ann_e8_s96.pth", "final.pth"):
        make_checkpoint(gsv / "SoVITS_weights_v2" / name)
    ws = rasv.open(tmp_path / "ws")
    ws.models.scan(None, gsv)
    df = ws.models.df()
    labels = dict(zip(df["name"], df["label"], strict=True))
    assert labels["ann-e10.ckpt"] == "ann e10" and labels["final.ckpt"] == "final.ckpt"
    assert labels["ann_e8_s96.pth"] == "ann e8 s96" and labels["g1.ckpt"] == "g1.ckpt"
    assert len(ws.models.df(kind="sovits")) == 2
    ws.close()
