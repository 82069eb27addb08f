"""The Split tab driven headlessly: regions typed, clicked and suggested, segments, preview,
the split itself with its lineage, and clear errors for bad regions."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from rasv.testing import make_clip
from widgets.context import Context
from widgets.player import Player
from widgets.split import SplitPanel
from widgets.workbench import Workbench

SR = 16000


@pytest.fixture(autouse=True)
def _no_browser(monkeypatch):
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: None)


def talk_and_pauses(path, sr=SR):
    """14 s: three 4 s stretches of tone with 1 s of silence between them."""
    t = np.arange(4 * sr) / sr
    talk = (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    pause = np.zeros(sr, np.float32)
    sf.write(str(path), np.concatenate([talk, pause, talk, pause, talk]), sr)
    return str(path)


@pytest.fixture
def clips(ws, role, tmp_path):
    long = ws.clips.add(role, talk_and_pauses(tmp_path / "long.wav"), text="长句子",
                        lang="zh", category="calm")
    short = ws.clips.add(role, make_clip(tmp_path / "short.wav", 4.0), text="短")
    stereo = ws.clips.add(role, make_clip(tmp_path / "st.wav", 8.0, channels=2,
                                          sample_rate=22050, seed=3))
    return long, short, stereo


@pytest.fixture
def panel(role_ctx, clips):
    return SplitPanel(role_ctx)


def test_clips_are_listed_longest_first_and_the_first_is_shown(panel, clips):
    long, short, stereo = clips
    assert [v for _, v in panel.clip_pick.options] == [long.id, stereo.id, short.id]
    assert panel.clip_id == long.id and "14.00 s" in panel.info.value
    fig = panel.figure.figure
    assert [t.type for t in fig.data] == ["scatter", "scatter", "heatmap"]
    assert fig.data[2].z.dtype == np.uint8 and fig.data[2].z.shape[1] <= 601
    assert "no region yet" in panel.segment_info.value


def test_typed_regions_and_their_errors(panel, ws):
    panel.start.value, panel.end.value = 0.5, 4.0
    panel.add_button.click()
    assert panel.segments == [[(0.5, 4.0)]]
    assert "regions 1, 3.50 s joined" in panel.segment_info.value
    assert "✓" in panel.segment_info.value
    for start, end, words in [(13.0, 15.0, "lies outside the clip"),
                              (6.0, 5.0, "is empty"),
                              (3.0, 5.0, "regions 1 and 2 overlap")]:
        panel.start.value, panel.end.value = start, end
        panel.add_button.click()
        assert words in panel.ctx.notice.value and "segment 1" in panel.ctx.notice.value
    assert panel.segments == [[(0.5, 4.0)]]  # nothing bad was kept
    shapes = panel.figure.figure.layout.shapes
    assert [s.label.text for s in shapes] == ["1.1"]


def test_two_clicks_on_the_waveform_make_a_region(panel):
    times = list(panel.figure.figure.data[1].customdata)
    later, earlier = times.index(min(times, key=lambda t: abs(t - 9.0))), \
        times.index(min(times, key=lambda t: abs(t - 5.0)))
    panel.figure.click(1, later)
    assert panel.pin == pytest.approx(9.0, abs=0.02) and panel.segments == [[]]
    assert panel.figure.figure.layout.shapes[-1].type == "line"
    assert "now click its end" in panel.click_hint.value
    panel.figure.click(1, earlier)  # clicked backwards: the region still runs forwards
    (start, end), = panel.segments[0]
    assert start == pytest.approx(5.0, abs=0.02) and end == pytest.approx(9.0, abs=0.02)
    assert panel.pin is None and all(s.type == "rect" for s in panel.figure.figure.layout.shapes)


def test_segments_reorder_delete_and_preview(panel):
    panel.add_region(0.0, 2.0)
    panel.add_region(5.0, 6.5)
    panel.move_region(1, -1)
    assert panel.segments[0] == [(5.0, 6.5), (0.0, 2.0)]
    panel.regions.action(0, "down")
    assert panel.segments[0] == [(0.0, 2.0), (5.0, 6.5)]
    assert panel.new_segment() == 1
    assert panel.new_segment() == 1  # an empty segment is reused, not stacked
    panel.add_region(10.0, 13.5)
    assert [s["label"]["text"] for s in
            [sh.to_plotly_json() for sh in panel.figure.figure.layout.shapes]] == \
        ["1.1", "1.2", "2.1"]
    panel.segment_pick.value = 0
    assert panel.current == 0 and [r["n"] for r in panel.regions.rows] == [1, 2]
    seconds = panel.preview()
    assert seconds == pytest.approx(3.5)
    data, sr = sf.read(io.BytesIO(panel.player.audio))
    assert sr == SR and len(data) == 2 * SR + int(1.5 * SR)
    assert panel.player.playing and panel.player.key == "seg0"
    panel.regions.action(1, "delete")
    assert panel.segments == [[(0.0, 2.0)], [(10.0, 13.5)]]
    panel.delete_segment(0)
    assert panel.segments == [[(10.0, 13.5)]] and panel.current == 0
    panel.delete_segment()
    assert panel.segments == [[]]


def test_inline_edit_of_a_region(panel):
    panel.add_region(1.0, 3.0)
    panel.regions.edit(0, "end", "4.25")
    assert panel.segments[0] == [(1.0, 4.25)]
    panel.regions.edit(0, "start", "abc")
    assert "not abc" in panel.ctx.notice.value
    panel.regions.edit(0, "end", "99")
    assert "outside the clip" in panel.ctx.notice.value
    assert panel.segments[0] == [(1.0, 4.25)]
    assert panel.regions.rows[0]["end"] == "4.250"


def test_split_makes_clips_with_lineage(panel, ws, role, clips):
    long = clips[0]
    panel.add_region(0.0, 4.5)
    panel.new_segment()
    panel.add_region(9.5, 14.0)
    panel.add_region(4.5, 5.0)
    ids = panel.split()
    made = [ws.clips.get(i) for i in ids]
    assert [c.name for c in made] == ["long-1", "long-2"]
    assert all(c.parent_id == long.id and c.category == "calm" and c.lang == "zh"
               and c.text == "" for c in made)
    assert [c.duration_s for c in made] == [4.5, 5.0]
    x, _ = sf.read(ws.clips.abspath(long.id), dtype="float32")
    y, _ = sf.read(ws.clips.abspath(ids[1]), dtype="float32")
    assert np.array_equal(y, np.concatenate([x[int(9.5 * SR):], x[int(4.5 * SR):5 * SR]]))
    assert ws.clips.get(long.id).sha256 == long.sha256  # the parent is untouched
    assert "Made 2 new clips: long-1, long-2" in panel.ctx.notice.value
    assert panel.segments == [[]]
    rows = panel.children.rows
    assert [r["name"] for r in rows] == ["long-1", "long-2"]
    assert rows[1]["regions"] == "9.50–14.00 + 4.50–5.00"
    assert set(ids) <= {v for _, v in panel.clip_pick.options}
    # transcripts are filled in right there
    panel.children.edit(ids[0], "text", "第一段")
    assert ws.clips.get(ids[0]).text == "第一段"
    panel.children.action(ids[0], "play")
    assert panel.children.playing == ids[0]
    assert sorted(ws.clips.df(role, parent_id=long.id)["id"]) == ids


def test_split_refuses_an_empty_segment_and_cuts_nothing(panel, ws, role):
    panel.split_button.click()
    assert "nothing to cut" in panel.ctx.notice.value
    panel.add_region(0.0, 4.0)
    panel.new_segment()
    panel.split_button.click()
    assert "segment 2 has no regions" in panel.ctx.notice.value
    assert ws.clips.count(role) == 3


def test_stereo_clip_keeps_its_channels(panel, ws, clips):
    stereo = clips[2]
    panel.clip_pick.value = stereo.id
    assert panel.clip_id == stereo.id and panel.segments == [[]]
    panel.add_region(1.0, 5.0)
    panel.preview()
    data, sr = sf.read(io.BytesIO(panel.player.audio))
    assert data.ndim == 1 and sr == 22050 and len(data) == 4 * 22050
    child = ws.clips.get(panel.split()[0])
    assert (child.channels, child.sample_rate, child.duration_s) == (2, 22050, 4.0)


def test_suggested_cuts_become_segments(panel, ws, clips):
    panel.vad.value = "rms"
    pieces = panel.suggest(wait=True)
    assert pieces == [(0.0, 4.25), (4.75, 9.25), (9.75, 14.0)]
    assert len(panel.suggested.rows) == 3 and "Found 3 pieces" in panel.ctx.notice.value
    dashed = [s for s in panel.figure.figure.layout.shapes if s.line.dash == "dash"]
    assert len(dashed) == 3
    panel.suggested.action(1, "add")
    panel.suggested.action(2, "new")
    assert panel.segments == [[(4.75, 9.25)], [(9.75, 14.0)]]
    panel.use_all.click()
    assert panel.segments == [[(4.75, 9.25)], [(9.75, 14.0)], [(0.0, 4.25)],
                              [(4.75, 9.25)], [(9.75, 14.0)]]
    panel.suggested.action(0, "play")
    data, _ = sf.read(io.BytesIO(panel.player.audio))
    assert len(data) == int(4.25 * SR)


def test_no_suggestion_is_a_warning(panel, ws, role, tmp_path):
    # 12 s of voice without a pause long enough to cut in: no 3–10 s piece exists
    c = ws.clips.add(role, make_clip(tmp_path / "breathless.wav", 12.0, seed=9))
    panel.refresh()
    panel.clip_pick.value = c.id
    panel.vad.value = "rms"
    assert panel.suggest(wait=True) == []
    assert "No cut found" in panel.ctx.notice.value and panel.use_all.disabled
    panel.use_all.click()
    assert "No cut found" in panel.ctx.notice.value and panel.segments == [[]]


def test_role_switch_and_navigation(ws, role, clips):
    wb = Workbench(ws, lang="en", role=role)
    assert "split" in wb.tab_names()
    assert wb.ctx.navigate("split", clip=clips[1].id)
    panel = wb.panel("split")
    assert panel.clip_id == clips[1].id
    wb.ctx.role = ws.roles.create("女-小红")
    assert panel.clip_id is None and panel.clip_pick.options == ()
    panel.add_button.click()
    assert "Choose a clip" in wb.ctx.notice.value


def test_static_figures_still_show_the_regions(ws, role, clips, monkeypatch):
    # Colab and other front ends without two-way figures get a figure in an Output
    monkeypatch.setenv("RASV_FIGURES", "static")
    ctx = Context(ws, lang="en")
    ctx.role = role
    panel = SplitPanel(ctx)
    assert not panel.figure.interactive and panel.click_hint.value == ""
    panel.add_region(0.5, 4.0)
    shapes = panel.figure.figure.layout.shapes
    assert [s.label.text for s in shapes] == ["1.1"]
    assert len(panel.figure.widget.outputs) == 1
