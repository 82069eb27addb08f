"""An audio player the Python side can drive: play, pause, seek, and hear when it ended.

``ipywidgets.Audio`` cannot be started or stopped from Python (ipywidgets #3063) and
``IPython.display.Audio(autoplay=True)`` is unreliable, so keyboard-driven review needs its own
small front-end widget. :class:`Player` is an anywidget: the audio travels once as binary
bytes over the widget comm (no base64, no file server, so it works the same in JupyterLab,
Voilà and Colab), the browser plays it, and the state (``playing``, ``position``,
``duration``) syncs back. All players on a page share one registry: starting one pauses the
others.

Example:
    >>> from rasv.engine import Audio
    >>> import numpy as np
    >>> p = Player()
    >>> p.load(Audio(np.zeros(8000, dtype=np.float32), 8000).to_wav_bytes(), key="t1",
    ...        label="take 1", play=True)
    >>> p.key, p.playing, p.duration
    ('t1', True, 1.0)
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from widgets.i18n import Translator

STATIC = Path(__file__).with_name("static")

#: MIME types for the containers clips may be stored in (the browser decodes them itself).
MIME_BY_SUFFIX = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
}


def _wav_duration(data: bytes) -> float:
    """Duration from the header of in-memory audio, 0.0 when unknown (never raises)."""
    try:
        import soundfile as sf

        info = sf.info(io.BytesIO(data))
        return info.frames / info.samplerate if info.samplerate else 0.0
    except Exception:  # unknown container: the browser will report the duration
        return 0.0


class Player(anywidget.AnyWidget):
    """A compact audio transport (play/pause button, seek bar, time, label).

    Traits synced with the browser: ``audio`` (the file's bytes), ``mime``, ``key`` (what is
    loaded, e.g. a take id), ``label``, ``playing``, ``position`` and ``duration`` (seconds),
    ``error`` (the browser's last playback error, e.g. autoplay refused).

    Args:
        lang: interface language for the button tooltips.

    Example:
        >>> p = Player(lang="en")
        >>> ended = []
        >>> p.on_ended(ended.append)
        >>> p.key = "take-9"
        >>> p._handle_custom_msg({"type": "ended", "key": "take-9"}, [])
        >>> ended, p.playing
        (['take-9'], False)
    """

    _esm = STATIC / "player.js"
    _css = STATIC / "player.css"

    audio = traitlets.Bytes(b"").tag(sync=True)
    mime = traitlets.Unicode("audio/wav").tag(sync=True)
    key = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    position = traitlets.Float(0.0).tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    text_play = traitlets.Unicode("").tag(sync=True)
    text_pause = traitlets.Unicode("").tag(sync=True)
    text_empty = traitlets.Unicode("").tag(sync=True)

    def __init__(self, lang: str | None = None, **kwargs: Any) -> None:
        t = Translator(lang)
        super().__init__(
            text_play=t("player.play"), text_pause=t("player.pause"),
            text_empty=t("player.empty"), **kwargs,
        )
        self._ended: list[Callable[[str], Any]] = []
        self.on_msg(self._on_front_end_msg)

    # -- loading -------------------------------------------------------------------------

    def load(self, data: bytes, *, key: str = "", label: str = "", mime: str = "audio/wav",
             play: bool = False) -> None:
        """Load audio bytes (a whole WAV/FLAC/OGG/MP3 file) and optionally start playing.

        Example:
            >>> from rasv.engine import Audio
            >>> import numpy as np
            >>> p = Player()
            >>> p.load(Audio(np.zeros(4000, dtype=np.float32), 8000).to_wav_bytes())
            >>> p.duration, p.playing
            (0.5, False)
        """
        if self.playing:
            self.pause()
        with self.hold_sync():
            self.mime = mime
            self.audio = bytes(data)
            self.key = str(key)
            self.label = label
            self.position = 0.0
            self.duration = _wav_duration(data)
            self.error = ""
        if play:
            self.play()

    def load_file(self, path: str | os.PathLike, *, key: str = "", label: str = "",
                  play: bool = False) -> None:
        """Load an audio file a rasv call returned (e.g. ``ws.abspath(take.audio_path)``).

        The file goes to the browser as it is stored; browsers decode WAV, FLAC, OGG and MP3.

        Example:
            >>> import tempfile, os
            >>> from rasv.testing import make_clip
            >>> path = make_clip(os.path.join(tempfile.mkdtemp(), "a.flac"), 1.5)
            >>> p = Player(); p.load_file(path, label="a")
            >>> p.mime, p.duration
            ('audio/flac', 1.5)
        """
        p = Path(path)
        mime = MIME_BY_SUFFIX.get(p.suffix.lower(), "audio/wav")
        self.load(p.read_bytes(), key=key or p.stem, label=label or p.name, mime=mime, play=play)

    def play_clip(self, clips: Any, clip_id: int, key: str) -> None:
        """Play a clip of ``ws.clips`` or ``ws.aux``, labelled name · transcript; when ``key`` is loaded, pause or resume it.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(texts=()); p = Player()
            >>> p.play_clip(ex.ws.clips, ex.clip.id, key="1"); p.label, p.key
            ('0.wav · 参考。', '1')
        """
        if self.key == key:
            self.toggle()
            return
        clip = clips.get(int(clip_id))
        self.load_file(clips.abspath(clip.id), key=key, label=f"{clip.name} · {clip.text}",
                       play=True)

    def clear(self) -> None:
        """Unload the audio."""
        self.load(b"", key="", label="")

    # -- transport -----------------------------------------------------------------------

    def play(self, at: float | None = None) -> None:
        """Start playing (from ``at`` seconds when given); pauses every other player."""
        if not self.audio:
            return
        msg: dict[str, Any] = {"cmd": "play"}
        if at is not None:
            msg["at"] = max(0.0, float(at))
            self.position = msg["at"]
        self.send(msg)
        # Optimistic: the browser confirms (or, if it refuses to autoplay, resets it).
        self.playing = True

    def pause(self) -> None:
        """Pause playback."""
        self.send({"cmd": "pause"})
        self.playing = False

    def toggle(self) -> None:
        """Play when paused, pause when playing.

        Example:
            >>> from rasv.engine import Audio
            >>> import numpy as np
            >>> p = Player(); p.load(Audio(np.zeros(80, dtype=np.float32), 8000).to_wav_bytes())
            >>> p.toggle(); p.playing
            True
            >>> p.toggle(); p.playing
            False
        """
        if self.playing:
            self.pause()
        else:
            self.play()

    def seek(self, seconds: float) -> None:
        """Move the play head to ``seconds``."""
        at = max(0.0, float(seconds))
        self.send({"cmd": "seek", "at": at})
        self.position = at

    # -- events --------------------------------------------------------------------------

    def on_ended(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(key)`` when playback reaches the end of the loaded audio."""
        self._ended.append(callback)

    def _on_front_end_msg(self, _widget: Any, content: dict, _buffers: list) -> None:
        if content.get("type") == "ended":
            self.playing = False
            key = str(content.get("key", self.key))
            for cb in list(self._ended):
                cb(key)


__all__ = ["MIME_BY_SUFFIX", "Player"]
