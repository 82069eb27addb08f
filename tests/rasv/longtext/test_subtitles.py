"""SRT cues from chunk durations."""

from __future__ import annotations

import pytest

import rasv
from rasv.longtext.subtitles import Cue, cues_from_durations, parse_srt, timestamp, to_srt


def test_timestamps_are_hours_minutes_seconds_millis():
    assert timestamp(0) == "00:00:00,000"
    assert timestamp(59_999) == "00:00:59,999"
    assert timestamp(36_000_001) == "10:00:00,001"
    with pytest.raises(rasv.InvalidInput):
        timestamp(-1)


def test_cues_are_cumulative_without_rounding_drift():
    durations = [1 / 3] * 300  # 100 s in thirds: rounding each cue would drift by ~0.1 s
    cues = cues_from_durations(["x"] * 300, durations)
    assert cues[-1].end_ms == 100_000
    assert all(a.end_ms == b.start_ms for a, b in zip(cues, cues[1:], strict=False))


def test_gaps_separate_cues_but_do_not_trail_the_last():
    cues = cues_from_durations(["a", "b", "c"], [1.0, 1.0, 1.0], gap_s=0.25)
    assert [(c.start_s, c.end_s) for c in cues] == [(0.0, 1.0), (1.25, 2.25), (2.5, 3.5)]


def test_srt_round_trips_and_keeps_multiline_text():
    cues = [Cue(0.0, 1.5, "第一行\n\n第二行"), Cue(1.5, 3.0, 'He said "hi", then left.')]
    text = to_srt(cues)
    back = parse_srt(text)
    assert [(c.start_s, c.end_s) for c in back] == [(0.0, 1.5), (1.5, 3.0)]
    assert back[0].text == "第一行\n第二行"  # no blank line inside a cue
    assert back[1].text == 'He said "hi", then left.'
    assert text.startswith("1\n00:00:00,000 --> 00:00:01,500\n")


def test_bad_inputs_are_refused():
    with pytest.raises(rasv.InvalidInput):
        cues_from_durations(["a"], [1.0, 2.0])
    with pytest.raises(rasv.InvalidInput):
        cues_from_durations(["a"], [-1.0])
    with pytest.raises(rasv.InvalidInput):
        cues_from_durations(["a"], [1.0], gap_s=-0.1)
