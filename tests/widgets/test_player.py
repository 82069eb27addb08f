"""The player, keyboard, figure slot and table driven without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from rasv.engine import Audio
from widgets.figures import FigureView, figure_mode
from widgets.keyboard import Keyboard
from widgets.player import Player
from widgets.table import Table, column, records


def _wav(seconds: float = 1.0, sr: int = 16000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    return Audio((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr).to_wav_bytes()


@pytest.fixture
def sent(monkeypatch):
    """Messages widgets send to the browser, in order."""
    out: list[tuple[object, dict]] = []
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: out.append((self, msg)))
    return out


def test_player_loads_plays_pauses_and_seeks(sent):
    p = Player(lang="en")
    p.load(_wav(2.0), key="t1", label="take 1")
    assert p.audio[:4] == b"RIFF" and p.duration == pytest.approx(2.0)
    p.play()
    p.seek(1.5)
    p.pause()
    assert [m for _, m in sent] == [{"cmd": "play"}, {"cmd": "seek", "at": 1.5}, {"cmd": "pause"}]
    assert not p.playing and p.position == 1.5


def test_loading_new_audio_pauses_the_old_and_can_autoplay(sent):
    p = Player()
    p.load(_wav(), key="a", play=True)
    p.load(_wav(0.5), key="b", play=True)
    assert [m["cmd"] for _, m in sent] == ["play", "pause", "play"]
    assert p.key == "b" and p.playing


def test_play_without_audio_does_nothing(sent):
    p = Player()
    p.play()
    assert sent == [] and not p.playing


def test_ended_event_reaches_python_and_resets_playing(sent):
    p = Player()
    p.load(_wav(), key="x", play=True)
    ended = []
    p.on_ended(ended.append)
    p._handle_custom_msg({"type": "ended", "key": "x"}, [])
    assert ended == ["x"] and not p.playing


def test_load_file_keeps_the_stored_format(tmp_path):
    from rasv.testing import make_clip

    path = make_clip(tmp_path / "c.ogg", 1.0)
    p = Player()
    p.load_file(path)
    assert p.mime == "audio/ogg" and p.audio[:4] == b"OggS" and p.label == "c.ogg"


def test_keyboard_dispatches_only_the_keys_it_listens_for():
    kb = Keyboard(["space"])
    calls = []
    kb.bind("j", lambda: calls.append("next"))
    kb.on_key(lambda key: calls.append(f"key:{key}"))
    for key in ("j", "x", "space"):
        kb._handle_custom_msg({"type": "key", "key": key}, [])
    assert calls == ["next", "key:j", "key:space"]
    kb.enabled = False
    kb.press("j")
    assert calls == ["next", "key:j", "key:space"]
    assert "j" in kb.accept and "space" in kb.accept


@pytest.mark.parametrize("mode", ["widget", "static"])
def test_figure_view_updates_in_both_modes(mode):
    view = FigureView(go.Figure(go.Scatter(x=[0, 1], y=[1, 2], customdata=["a", "b"])),
                      mode=mode, on_click=lambda t, i, c: clicks.append(c))
    clicks: list[object] = []
    view.update(go.Figure(go.Scatter(x=[0], y=[5], customdata=["z"])))
    assert list(view.figure.data[0].y) == [5]
    view.click(0, 0)
    assert clicks == ["z"]
    if mode == "widget":
        assert isinstance(view.widget, go.FigureWidget)
    else:
        bundle = view.widget.outputs[0]["data"]
        assert "application/vnd.plotly.v1+json" in bundle


def test_figure_mode_follows_env_and_colab(monkeypatch):
    monkeypatch.setenv("RASV_FIGURES", "static")
    assert figure_mode() == "static"
    monkeypatch.delenv("RASV_FIGURES")
    monkeypatch.setitem(__import__("sys").modules, "google.colab", object())
    assert figure_mode() == "static"


def test_table_pages_and_converts_values():
    t = Table([column("a", "A", "num", sortable=True)], page_size=20, lang="en")
    df = pd.DataFrame({"id": np.arange(45), "a": np.r_[np.nan, np.arange(44.0)],
                       "extra": ["x"] * 45})
    t.set_rows(df.iloc[:20], total=45)
    assert t.pages == 3 and t.page_text == "Page 1/3, 45 rows"
    assert t.rows[0] == {"id": 0, "a": None}
    t.page = 3
    assert t.offset == 40


def test_records_handles_timestamps_and_lists():
    df = pd.DataFrame({"id": [1], "when": [pd.Timestamp("2026-01-02 03:04:05")],
                       "tags": [np.array(["电音", "复读"])]})
    assert records(df) == [{"id": 1, "when": "2026-01-02 03:04:05", "tags": ["电音", "复读"]}]


def test_unknown_column_kind_is_refused():
    with pytest.raises(ValueError, match="unknown column kind"):
        column("x", "X", "sparkline")
