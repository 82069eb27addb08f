"""Audio file errors read as one clear sentence."""

from __future__ import annotations

import pytest

import rasv
from rasv.audio import files as audio


def test_a_folder_or_a_text_file_is_named_for_what_it_is(tmp_path):
    with pytest.raises(rasv.AudioError, match="is a folder, not an audio file"):
        audio.info(tmp_path)
    bad = tmp_path / "notes.wav"
    bad.write_text("hello")
    with pytest.raises(rasv.AudioError) as e:
        audio.info(bad)
    msg = str(e.value)
    assert msg.startswith(f"cannot read audio {bad} (") and ": ." not in msg
    assert "ffmpeg" in msg
