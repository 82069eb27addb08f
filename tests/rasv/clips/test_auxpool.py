"""The shared auxiliary reference pool."""

from __future__ import annotations

import pytest

import rasv
from rasv.testing import make_clip


def test_add_from_clips_shares_audio_and_records_role(ws, role, tmp_path):
    c = ws.clips.add(role, make_clip(tmp_path / "a.wav", 4.0), text="你好", category="温柔")
    [a] = ws.aux.add_from_clips([c.id])
    assert (a.path, a.source_role, a.text, a.category, a.source_clip_id) == (
        c.path, "男性-张三", "你好", "温柔", c.id)
    assert ws.aux.add_from_clips([c.id])[0].id == a.id, "same audio is not added twice"


def test_add_file_filters_update_delete(ws, tmp_path):
    a = ws.aux.add(make_clip(tmp_path / "x.wav", 3.0), text="hello", lang="EN", source_role="女-小红")
    b = ws.aux.add(make_clip(tmp_path / "y.wav", 3.0, seed=2), text="你好", lang="zh")
    assert ws.aux.df(lang="en").id.tolist() == [a.id]
    assert ws.aux.df(source_role="小红").id.tolist() == [a.id]
    assert ws.aux.df(text="你").id.tolist() == [b.id]
    assert ws.aux.update(a.id, category="甜", lang="ja").lang == "ja"
    with pytest.raises(rasv.InvalidInput):
        ws.aux.update(a.id, path="x")
    path = ws.root / a.path
    assert ws.aux.delete(a.id) == 1 and not path.exists()
    with pytest.raises(rasv.AuxClipNotFound):
        ws.aux.get(a.id)


def test_deleting_the_clip_keeps_the_aux_copy_playable(ws, role, tmp_path):
    c = ws.clips.add(role, make_clip(tmp_path / "a.wav", 4.0))
    [a] = ws.aux.add_from_clips([c.id])
    ws.clips.delete(c.id)
    assert ws.aux.abspath(a.id).exists()


def test_non_audio_is_refused(ws, tmp_path):
    bad = tmp_path / "b.wav"
    bad.write_text("nope")
    with pytest.raises(rasv.AudioError):
        ws.aux.add(bad)
