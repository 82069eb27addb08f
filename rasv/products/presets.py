"""Presets: one complete voice configuration, and rendering a text with it as a cached take.

A preset is everything that, with a text, decides the audio: the engine kind, the reference
clip (and its transcript as the prompt), the auxiliary clips, the GPT and SoVITS checkpoints
and the full sampling parameters including the seed. Takes, finished products and long-text
runs all reduce to one, so a long text can be rendered with "exactly this take's
configuration" and a product can be exported as the exact ``api_v2`` request.

:func:`render` turns (preset, text) into a take: its id is a hash of everything that
changes the audio, so rendering the same chunk again finds the take already made and costs
nothing.

Example:
    >>> p = Preset(engine_kind="fake", clip_id=1, clip_sha256="ab", clip_path="c.wav",
    ...            prompt_text="参考。", prompt_lang="zh", params=Params(seed=3))
    >>> take_id(p, "你好", "zh") == take_id(p, "你好", "zh") != take_id(p, "你好!", "zh")
    True
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasv.engine import Engine, SynthesisRequest
from rasv.errors import (
    AudioError,
    CapabilityError,
    ClipNotFound,
    EngineRequestError,
    InvalidInput,
    ModelNotFound,
)
from rasv.langs import normalize_lang
from rasv.params import Params
from rasv.records import AuxClip, Model

if TYPE_CHECKING:
    from rasv.workspace import Workspace

TAKES_DIR = "audio/takes"


@dataclass(frozen=True)
class Preset:
    """A complete voice configuration (see the module docstring).

    ``clip_path`` and aux paths are as stored (workspace-relative for stored audio).

    Example:
        >>> Preset("gpt-sovits", 1, "ab", "c.wav", "p", "zh", Params()).aux_ids
        ()
    """

    engine_kind: str
    clip_id: int | None
    clip_sha256: str
    clip_path: str
    prompt_text: str
    prompt_lang: str
    params: Params
    clip_name: str = ""
    clip_category: str = ""
    role_id: int | None = None
    aux: tuple[AuxClip, ...] = ()
    gpt: Model | None = None
    sovits: Model | None = None

    @property
    def aux_ids(self) -> tuple[int, ...]:
        return tuple(a.id for a in self.aux)

    @property
    def seed(self) -> int | None:
        return self.params.seed

    def with_seed(self, seed: int) -> Preset:
        """The same configuration with another seed.

        Example:
            >>> Preset("fake", 1, "ab", "c", "p", "zh", Params(seed=1)).with_seed(2).seed
            2
        """
        return dataclasses.replace(self, params=self.params.replace(seed=int(seed)))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (stored with long-text runs, written to provenance)."""
        return {
            "engine_kind": self.engine_kind,
            "clip": {"id": self.clip_id, "sha256": self.clip_sha256, "name": self.clip_name,
                     "category": self.clip_category, "prompt_text": self.prompt_text,
                     "prompt_lang": self.prompt_lang},
            "aux": [{"id": a.id, "sha256": a.sha256, "name": a.name} for a in self.aux],
            "gpt": None if self.gpt is None else {
                "id": self.gpt.id, "name": self.gpt.name, "sha256": self.gpt.sha256,
                "version": self.gpt.version},
            "sovits": None if self.sovits is None else {
                "id": self.sovits.id, "name": self.sovits.name, "sha256": self.sovits.sha256,
                "version": self.sovits.version},
            "params": self.params.canonical(),
        }


# -- building presets ------------------------------------------------------------------------


def load_model(ws: Workspace, model_id: int | None, kind: str | None = None) -> Model | None:
    """A checkpoint of the ``models`` table (None for None), checked to be of ``kind``.

    Raises:
        InvalidInput: ``kind`` (``"gpt"`` or ``"sovits"``) is given and the model is the other.

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import make_checkpoint, raises
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> m = ws.models.add(make_checkpoint(os.path.join(ws.root, "a_e1_s2.pth")))
        >>> load_model(ws, m.id).kind
        'sovits'
        >>> raises(load_model, ws, m.id, "gpt")
        'InvalidInput: model 1 is a sovits checkpoint, not a gpt one'
    """
    if model_id is None:
        return None
    m = ws.models.get(model_id)
    if kind is not None and m.kind != kind:
        raise InvalidInput(f"model {m.id} is a {m.kind} checkpoint, not a {kind} one")
    return m


def load_aux(ws: Workspace, aux_ids: tuple[int, ...] | list[int]) -> tuple[AuxClip, ...]:
    """Pool clips by id, in the order given."""
    return tuple(ws.aux.get(int(i)) for i in aux_ids)


def from_clip(ws: Workspace, clip_id: int, params: Params, *, engine_kind: str = "gpt-sovits",
              gpt: int | None = None, sovits: int | None = None,
              aux: tuple[int, ...] | list[int] = ()) -> Preset:
    """A preset from a catalogue clip (its transcript is the prompt) and settings.

    Without a seed in ``params`` the runner's default seed is used: a preset, like a take,
    always reproduces.

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> from rasv.testing import raises
        >>> raises(from_clip, ws, 3, Params())
        'ClipNotFound: clip 3 does not exist in this workspace'
    """
    clip = ws.clips.get(int(clip_id))
    if params.seed is None or params.seed < 0:
        # A preset always names its seed, as every take does (the runner's default seed).
        from rasv.tasks.grid import DEFAULT_SEED

        params = params.replace(seed=DEFAULT_SEED)
    return Preset(
        engine_kind=engine_kind, clip_id=clip.id, clip_sha256=clip.sha256, clip_path=clip.path,
        prompt_text=clip.text, prompt_lang=clip.lang, params=params, clip_name=clip.name,
        clip_category=clip.category, role_id=clip.role_id, aux=load_aux(ws, list(aux)),
        gpt=load_model(ws, gpt, "gpt"), sovits=load_model(ws, sovits, "sovits"),
    )


def from_take(ws: Workspace, take_id: str) -> Preset:
    """The exact configuration a take was made with (its seed included).

    The reference is the clip as it was when the take was made (its stored audio and the
    prompt the take was sent), even if the clip's transcript was edited since.
    """
    take = ws.takes.get(take_id)
    clip_path, clip_name, clip_category, role_id = "", "", "", None
    if take.clip_id is not None:
        try:
            clip = ws.clips.get(take.clip_id)
        except ClipNotFound:
            clip = None
        if clip is not None:
            clip_name, clip_category, role_id = clip.name, clip.category, clip.role_id
            if not take.clip_sha256 or clip.sha256 == take.clip_sha256:
                clip_path = clip.path
    if not clip_path:
        # The clip was deleted or re-imported with other audio: any stored copy of the
        # take's reference (same hash) will do.
        clip_path = blob_for(ws, take.clip_sha256) or ""
    if not clip_path:
        raise ClipNotFound(take.clip_id, f"take {take_id} needs its reference audio, which "
                                         "is no longer in the workspace")
    return Preset(
        engine_kind=take.engine_kind, clip_id=take.clip_id, clip_sha256=take.clip_sha256 or "",
        clip_path=clip_path, prompt_text=take.prompt_text, prompt_lang=take.prompt_lang,
        params=take.params, clip_name=clip_name, clip_category=clip_category, role_id=role_id,
        aux=load_aux(ws, list(take.aux_ids)), gpt=load_model(ws, take.gpt_id),
        sovits=load_model(ws, take.sovits_id),
    )


def blob_for(ws: Workspace, sha: str | None) -> str | None:
    """The workspace-relative path of a clip's (or aux clip's) audio by its content hash.

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> blob_for(ws, "0" * 64) is None
        True
    """
    if not sha:
        return None
    rows = ws.store.rows(
        "SELECT path FROM clips WHERE sha256 = $s UNION ALL SELECT path FROM aux_clips "
        "WHERE sha256 = $s LIMIT 1", {"s": sha})
    if rows:
        return rows[0][0]
    # The clip row may be gone while its audio is kept for takes and products
    # (Workspace.release_files): find the content-addressed file itself.
    return ws.blobs.find(sha)


# -- requests and takes ----------------------------------------------------------------------


def request(ws: Workspace, preset: Preset, text: str, text_lang: str) -> SynthesisRequest:
    """The engine request for ``text``: full parameters, absolute local paths, the clip's
    transcript as the prompt, the preset's seed.

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> p = Preset("fake", None, "ab", "audio/clips/ab/ab.wav", "参考。", "zh", Params(seed=4))
        >>> r = request(ws, p, "你好", "zh")
        >>> r.seed, r.prompt_text, Path(r.ref_audio_path).is_absolute()
        (4, '参考。', True)
    """
    return SynthesisRequest.from_params(
        preset.params,
        text=text,
        text_lang=text_lang,
        ref_audio_path=str(ws.abspath(preset.clip_path)),
        prompt_text=preset.prompt_text,
        prompt_lang=preset.prompt_lang or text_lang,
        aux_ref_audio_paths=[str(ws.abspath(a.path)) for a in preset.aux],
    )


def take_id(preset: Preset, text: str, text_lang: str) -> str:
    """The content-hash id of the take this preset makes of ``text``.

    The same function as the runner's (:func:`rasv.tasks.grid.take_id`), so a long-text chunk and a
    task take with the same configuration and text are the same take.
    """
    from rasv.tasks.grid import take_id as grid_take_id

    return grid_take_id(
        engine_kind=preset.engine_kind, clip_sha256=preset.clip_sha256, text=text,
        text_lang=text_lang, prompt_text=preset.prompt_text,
        prompt_lang=preset.prompt_lang or text_lang, params=preset.params,
        gpt_sha256=preset.gpt.sha256 if preset.gpt else None,
        sovits_sha256=preset.sovits.sha256 if preset.sovits else None,
        aux_sha256s=[a.sha256 for a in preset.aux],
    )


def load_engine_models(engine: Engine, preset: Preset) -> None:
    """Load the preset's checkpoints into the engine (a no-op for engines without them)."""
    paths = []
    for ref in (preset.gpt, preset.sovits):
        if ref is None:
            paths.append(None)
            continue
        p = Path(ref.path)
        if not p.exists():
            raise ModelNotFound(ref.id, f"its file {p} is missing; put it back or rescan models")
        paths.append(p)
    engine.load(paths[0], paths[1])


def check_engine(engine: Engine, preset: Preset) -> None:
    """Refuse an engine of another kind than the one the preset was made with."""
    kind = engine.capabilities().kind
    if kind != preset.engine_kind:
        raise CapabilityError(
            f"this configuration was made with a {preset.engine_kind!r} engine, but "
            f"{engine.name!r} is a {kind!r} engine"
        )


def render(ws: Workspace, preset: Preset, text: str, text_lang: str, engine: Engine, *,
           loaded: bool = False) -> str:
    """Render ``text`` as a take (or find the take already made); returns the take id.

    The audio is written atomically to ``audio/takes/<id>.wav`` before the row is marked
    done, so a crash never leaves a done row without its file. A failure is recorded on
    the take (status ``failed``, the error text) and raised.

    Args:
        loaded: the caller already loaded the preset's checkpoints into the engine.
    """
    from rasv.audio.files import write_wav

    text_lang = normalize_lang(text_lang)
    if not text.strip():
        raise InvalidInput("cannot render an empty text")
    tid = take_id(preset, text, text_lang)
    rel = f"{TAKES_DIR}/{tid}.wav"
    row = ws.store.rows("SELECT status, audio_path FROM takes WHERE id = ?", [tid])
    if row and row[0][0] == "done" and row[0][1] and ws.abspath(row[0][1]).exists():
        return tid
    check_engine(engine, preset)
    p = preset.params
    values = {
        "id": tid, "engine_kind": preset.engine_kind, "clip_id": preset.clip_id,
        "clip_sha256": preset.clip_sha256,
        "gpt_id": preset.gpt.id if preset.gpt else None,
        "sovits_id": preset.sovits.id if preset.sovits else None,
        "gpt_sha256": preset.gpt.sha256 if preset.gpt else None,
        "sovits_sha256": preset.sovits.sha256 if preset.sovits else None,
        "aux_ids": json.dumps(list(preset.aux_ids)), "text": text, "text_lang": text_lang,
        "prompt_text": preset.prompt_text, "prompt_lang": preset.prompt_lang,
        "params": json.dumps(p.canonical(), sort_keys=True, ensure_ascii=False),
        "top_k": p.top_k, "top_p": p.top_p, "temperature": p.temperature,
        "text_split_method": p.text_split_method, "speed_factor": p.speed_factor,
        "sample_steps": p.sample_steps, "super_sampling": p.super_sampling,
        "repetition_penalty": p.repetition_penalty, "seed": p.seed,
        "extra": json.dumps({"aux_sha256": [a.sha256 for a in preset.aux]}),
    }
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with ws.store.transaction() as cur:  # another process may be inserting the same take
        cur.execute(f"INSERT OR IGNORE INTO takes({cols}) VALUES ({marks})", list(values.values()))
    if not loaded:
        load_engine_models(engine, preset)
    req = request(ws, preset, text, text_lang)
    started = time.time()
    try:
        audio = engine.synthesize(req)
        if audio.samples.size == 0:
            raise EngineRequestError("the engine returned no audio", request=req)
        write_wav(ws.abspath(rel), audio.samples, audio.sample_rate)
    except Exception as e:
        with ws.store.transaction() as cur:
            cur.execute("UPDATE takes SET status = 'failed', error = ?, attempts = attempts + 1,"
                        " engine = ?, finished_at = current_timestamp WHERE id = ?",
                        [f"{type(e).__name__}: {e}", engine.name, tid])
        raise
    synth_s = time.time() - started
    with ws.store.transaction() as cur:
        cur.execute(
            "UPDATE takes SET status = 'done', error = NULL, attempts = attempts + 1,"
            " audio_path = ?, duration_s = ?, sample_rate = ?, engine = ?,"
            " started_at = to_timestamp(?), finished_at = current_timestamp, synth_s = ?"
            " WHERE id = ?",
            [rel, audio.duration_s, audio.sample_rate, engine.name, started, synth_s, tid],
        )
    return tid


def take_audio_path(ws: Workspace, tid: str) -> Path:
    """The absolute path of a done take's audio (raises AudioError otherwise)."""
    rows = ws.store.rows("SELECT status, audio_path FROM takes WHERE id = ?", [tid])
    if not rows or rows[0][0] != "done" or not rows[0][1]:
        raise AudioError(f"take {tid} has no audio")
    return ws.abspath(rows[0][1])  # type: ignore[return-value]


__all__ = [
    "Preset",
    "check_engine",
    "from_clip",
    "from_take",
    "load_aux",
    "load_engine_models",
    "load_model",
    "render",
    "request",
    "take_audio_path",
    "take_id",
]
