"""The voices an API server offers: the workspace's products, looked up by the names clients use.

A voice is a product. Clients name it as ``"<role label>/<product name>"`` (OpenAI's
``voice``), as a GSVI character (the role) and emotion (the product), or as api_v2's
``product=`` (an id, a unique name or the voice name). The catalogue reads the product list
at most every ``ttl_s`` seconds and keeps each product's preset until the product changes,
so a busy server does not query the database per request, yet a product created or edited
in the workbench is served within seconds.

Example:
    >>> import rasv, tempfile
    >>> from rasv.testing import make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("女-小红")
    >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
    >>> _ = ws.products.create(r, "温柔", clip=c.id, engine_kind="fake")
    >>> cat = Catalog(ws)
    >>> cat.find("女-小红/温柔").name, cat.find("温柔").voice
    ('温柔', '女-小红/温柔')
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.errors import InvalidInput, ProductNotFound

if TYPE_CHECKING:
    from rasv.products.presets import Preset
    from rasv.workspace import Workspace


@dataclass(frozen=True)
class Voice:
    """A product as the API offers it.

    Example:
        >>> Voice(3, 1, "女-小红", "小红", "温柔", "gpt-sovits", 5, "").voice
        '女-小红/温柔'
    """

    product_id: int
    role_id: int
    role: str
    role_name: str
    name: str
    engine_kind: str
    score: int | None
    stamp: str

    @property
    def voice(self) -> str:
        """The OpenAI ``voice`` name: ``"<role label>/<product name>"``."""
        return f"{self.role}/{self.name}"


_VOICES_SQL = """
SELECT p.id, p.role_id, r.category || '-' || r.name AS role, r.name AS role_name, p.name,
       p.engine_kind, p.score, CAST(coalesce(p.updated_at, p.created_at) AS VARCHAR) AS stamp
FROM products p JOIN roles r ON r.id = p.role_id
ORDER BY role, p.score DESC NULLS LAST, p.name
"""


class Catalog:
    """Products of a workspace as voices, with cached presets (see the module docstring).

    Args:
        ws: the workspace.
        ttl_s: seconds a read of the product list is trusted.
    """

    def __init__(self, ws: Workspace, *, ttl_s: float = 2.0) -> None:
        self.ws = ws
        self.ttl_s = float(ttl_s)
        self._lock = threading.Lock()
        self._voices: list[Voice] = []
        self._read_at = -1e9
        self._refreshing = False
        self._presets: dict[int, tuple[str, Preset]] = {}
        self._root = Path(os.path.realpath(ws.root))

    def voices(self, *, refresh: bool = False) -> list[Voice]:
        """Every product as a voice, by role then best score first.

        A stale list is served while a background thread reads the new one, so no request
        waits for the database; ``refresh=True`` reads it now.

        Example:
            >>> import rasv, tempfile
            >>> Catalog(rasv.open(tempfile.mkdtemp())).voices()
            []
        """
        with self._lock:
            age = time.monotonic() - self._read_at
            if not refresh and age <= self.ttl_s:
                return list(self._voices)
            if not refresh and self._read_at > 0:
                if not self._refreshing:
                    self._refreshing = True
                    threading.Thread(target=self._read, daemon=True,
                                     name="rasv-api-catalog").start()
                return list(self._voices)
        return self._read()

    def _read(self) -> list[Voice]:
        try:
            df = self.ws.sql(_VOICES_SQL)
            voices = [Voice(int(r.id), int(r.role_id), str(r.role), str(r.role_name),
                            str(r.name), str(r.engine_kind),
                            None if pd.isna(r.score) else int(r.score), str(r.stamp))
                      for r in df.itertuples(index=False)]
            with self._lock:
                self._voices, self._read_at = voices, time.monotonic()
            return list(voices)
        finally:
            with self._lock:
                self._refreshing = False

    def find(self, name: Any) -> Voice:
        """The voice a client names: ``"<role>/<product>"``, a unique product name, or an id.

        The role part may be the role label (``女-小红``) or, when unique, the bare role name.

        Raises:
            ProductNotFound: nothing has that name (the message lists a few voices).
            InvalidInput: the name is ambiguous or empty.

        Example:
            >>> import rasv, tempfile
            >>> Catalog(rasv.open(tempfile.mkdtemp())).find("nobody/none")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            rasv.errors.ProductNotFound: product nobody/none does not exist in this workspace: ...
        """
        text = str(name if name is not None else "").strip()
        if not text:
            raise InvalidInput("name a voice: '<role>/<product>' or a unique product name")
        for attempt in (False, True):  # a miss re-reads the list once: it may be brand new
            voices = self.voices(refresh=attempt)
            hits = _match(voices, text)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InvalidInput(f"voice {text!r} is ambiguous ("
                                   + ", ".join(v.voice for v in hits[:5])
                                   + "); use '<role>/<product>'")
        some = ", ".join(v.voice for v in voices[:8]) or "none yet: create a product first"
        raise ProductNotFound(text, f"the voices are: {some}")

    def find_character(self, character: Any, emotion: Any = None) -> Voice:
        """A GSVI character (a role) and emotion (a product name; default: the best-scored).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("女-小红")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> _ = ws.products.create(r, "温柔", clip=c.id, engine_kind="fake", score=5)
            >>> _ = ws.products.create(r, "生气", clip=c.id, engine_kind="fake", score=2)
            >>> Catalog(ws).find_character("小红").name
            '温柔'
        """
        who = str(character or "").strip()
        if not who:
            raise InvalidInput("name a character (a role with products; see /character_list)")
        mood = str(emotion or "").strip()
        if mood and mood != "default":
            return self.find(f"{who}/{mood}")
        for attempt in (False, True):
            voices = [v for v in self.voices(refresh=attempt) if _role_is(v, who, self.voices())]
            named = [v for v in voices if v.name == "default"]
            if named or voices:
                return (named or voices)[0]  # voices() lists the best score first
        raise ProductNotFound(who, "no role of that name has products; see /character_list")

    def preset(self, voice: Voice) -> Preset:
        """The product's preset, read once per change of the product.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> _ = ws.products.create(r, "p", clip=c.id, engine_kind="fake",
            ...                        params=rasv.Params(seed=3))
            >>> cat = Catalog(ws); cat.preset(cat.find("p")).seed
            3
        """
        with self._lock:
            hit = self._presets.get(voice.product_id)
            if hit is not None and hit[0] == voice.stamp:
                return hit[1]
        preset = self.ws.products.preset(voice.product_id)
        with self._lock:
            self._presets[voice.product_id] = (voice.stamp, preset)
        return preset

    def workspace_audio(self, path: Any) -> str:
        """The absolute path of a workspace clip a request names (by its stored path).

        A request may swap a product's reference or aux clips only for audio this workspace
        holds: a catalogue or aux-pool clip, named by its workspace-relative path (as
        ``/products`` and the clip tables show it) or by its absolute path inside the
        workspace. Anything else (another file, ``..``, a link out) is refused.

        Raises:
            InvalidInput: the path is not a clip of this workspace.

        Example:
            >>> import rasv, tempfile
            >>> catalog = Catalog(rasv.open(tempfile.mkdtemp()))
            >>> catalog.workspace_audio("/etc/passwd")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            rasv.errors.InvalidInput: '/etc/passwd' is not audio of this workspace; ...
        """
        text = str(path or "").strip()
        refused = InvalidInput(f"{text!r} is not audio of this workspace; a request may only "
                               "name its clips and aux clips by their stored path")
        if not text or "\x00" in text:
            raise refused
        p = Path(text)
        full = Path(os.path.realpath(p if p.is_absolute() else self._root / p))
        try:
            rel = full.relative_to(self._root).as_posix()
        except ValueError:
            raise refused from None
        hits = self.ws.sql("SELECT count(*) AS n FROM (SELECT path FROM clips UNION ALL"
                           " SELECT path FROM aux_clips) WHERE path = ?", [rel]).n[0]
        if not hits or not full.is_file():
            raise refused
        return str(full)


def _role_is(v: Voice, who: str, voices: list[Voice]) -> bool:
    if v.role == who:
        return True
    # The bare role name counts when only one role has it.
    labels = {x.role for x in voices if x.role_name == who}
    return v.role_name == who and len(labels) == 1


def _match(voices: list[Voice], text: str) -> list[Voice]:
    if text.isdigit() or (text.startswith("#") and text[1:].isdigit()):
        pid = int(text.lstrip("#"))
        return [v for v in voices if v.product_id == pid]
    exact = [v for v in voices if v.voice == text]
    if exact:
        return exact
    if "/" in text:
        who, name = text.rsplit("/", 1)
        return [v for v in voices if v.name == name.strip() and _role_is(v, who.strip(), voices)]
    return [v for v in voices if v.name == text]


__all__ = ["Catalog", "Voice"]
