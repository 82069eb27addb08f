"""``ws.tasks.preview``: create's checks and take count, without creating anything."""

from __future__ import annotations

import pytest

import rasv
from rasv.testing import make_clip
from rasv.testing.checkpoints import make_checkpoint


@pytest.fixture
def clips(ws, role, tmp_path):
    return [ws.clips.add(role, make_clip(tmp_path / f"c{i}.wav", d), text=f"参考{i}。")
            for i, d in enumerate([4.0, 5.0, 12.0])]


def test_preview_counts_like_create_and_writes_nothing(ws, role, clips):
    kwargs = dict(texts=["你好。", ("Hello.", "en")], clips=clips[:2],
                  vary={"top_k": [5, 10, 15]}, repeats=2, engine="fake")
    p = ws.tasks.preview(role, **kwargs)
    assert p.size == 2 * 2 * 3 * 2 and p.warnings == ()
    assert ws.sql("SELECT count(*) AS n FROM takes").n[0] == 0 and ws.tasks.list().empty
    assert len(ws.tasks.create(role, "t", **kwargs).plan()) == p.size


def test_preview_raises_what_create_raises(ws, role, clips):
    with pytest.raises(rasv.RasvError, match="no texts|at least one"):
        ws.tasks.preview(role, texts=[], clips=clips, engine="fake")
    with pytest.raises(rasv.RasvError, match="checkpoint"):
        ws.tasks.preview(role, texts=["你好。"], clips=clips[:1])


def test_forced_preview_lists_the_warnings(ws, role, clips, tmp_path):
    gpt = ws.models.add(make_checkpoint(tmp_path / "m" / "x-e5.ckpt", version="v2"))
    sovits = ws.models.add(make_checkpoint(tmp_path / "m" / "x_e5_s10.pth", version="v2"))
    args = dict(texts=["你好。"], clips=clips, gpt=gpt.id, sovits=sovits.id)
    with pytest.raises(rasv.RasvError, match="3–10"):
        ws.tasks.preview(role, **args)
    p = ws.tasks.preview(role, force=True, **args)
    assert p.size == 3 and any("3–10" in w for w in p.warnings)
