"""GPT-SoVITS checks on a resolved task: what would waste a run is refused before it starts.

An empty grid, a grid over :data:`~rasv.tasks.grid.MAX_TAKES`, missing checkpoints, clips
outside the 3–10 s rule (:func:`rasv.engine.reference_in_range`), v1/v2 model mixes, and
parameters, aux clips or languages the model version ignores. ``force=True`` turns the
avoidable ones into warnings.

Example:
    >>> from rasv.tasks.grid import TextRef
    >>> spec = TaskSpec(texts=(TextRef("hi", "en"),), clips=(1,), vary={"top_k": (5, 9)})
    >>> ignored_message("espeak", ignored_dimensions(spec, capabilities_for_kind("espeak")))
    'espeak ignores top_k, which this task varies, so those takes would sound alike'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rasv.engine import (
    REF_MAX_S,
    REF_MIN_S,
    Capabilities,
    capabilities_for_kind,
    capabilities_for_version,
    reference_in_range,
)
from rasv.errors import CapabilityError, EmptyGrid, IgnoredParams, TaskError
from rasv.params import VARIABLE_PARAMS, Params
from rasv.tasks.grid import GSV_KIND, MAX_TAKES, ClipInfo, ModelInfo, TaskSpec
from rasv.tasks.resolve import aux_infos, clip_infos, model_infos, referenced

if TYPE_CHECKING:
    from rasv.workspace import Workspace


def validate(ws: Workspace, spec: TaskSpec, kind: str, role_id: int, *,
             force: bool) -> list[str]:
    """Refuse (or, forced, warn about) what would waste a run. Returns the warnings.

    Example:
        >>> from rasv.tasks.grid import TextRef
        >>> from rasv.testing import raises, workspace
        >>> ws = workspace(); r = ws.roles.create("a")
        >>> spec = TaskSpec(texts=(TextRef("hi", "en"),))
        >>> raises(validate, ws, spec, "fake", r.id, force=False)
        'EmptyGrid: no reference clips; give clips=, clip_categories= or vary clip'
    """
    notes: list[str] = []

    def refuse(msg: str, exc: type[Exception] = TaskError) -> None:
        if not force:
            raise exc(msg + "; pass force=True to keep it anyway")
        notes.append(msg)

    combos = spec.combinations()
    if not spec.texts:
        raise EmptyGrid("the task has no texts; give at least one")
    for c in combos:
        if not c.clips.ids:
            where = f" for combination {c.label()}" if c.overrides else ""
            raise EmptyGrid(
                f"no reference clips{where}; give clips=, clip_categories= or vary clip"
            )
    size = spec.size()
    if size > MAX_TAKES:
        refuse(f"the grid has {size:,} takes (more than {MAX_TAKES:,})")
    ids = referenced(spec)
    clips = clip_infos(ws, ids["clip"], role_id)
    models = model_infos(ws, ids["model"])
    aux_infos(ws, ids["aux"])
    if kind == GSV_KIND:
        validate_gsv(spec, combos, clips, models, refuse, notes)
    else:
        caps = capabilities_for_kind(kind)
        if caps is not None:
            ignored = ignored_dimensions(spec, caps)
            if ignored:
                refuse(ignored_message(kind, ignored), _ignoring(ignored))
    return notes


def ignored_dimensions(spec: TaskSpec, caps: Capabilities) -> set[str]:
    """The dimensions ``spec`` varies that an engine with ``caps`` ignores: THE rule that
    creation, preview, edit and run share.

    Example:
        >>> from rasv.tasks.grid import TextRef
        >>> spec = TaskSpec(texts=(TextRef("hi", "en"),), clips=(1,), vary={"top_k": (5, 9)})
        >>> sorted(ignored_dimensions(spec, capabilities_for_kind("espeak")))
        ['top_k']
    """
    return caps.ignored(spec.varied_names() & (set(VARIABLE_PARAMS) | {"aux"}))


def ignored_message(who: str, ignored: set[str]) -> str:
    """The sentence for :func:`ignored_dimensions` (without the advice on what to do).

    Example:
        >>> ignored_message("espeak", {"top_k"})
        'espeak ignores top_k, which this task varies, so those takes would sound alike'
    """
    return (f"{who} ignores {', '.join(sorted(ignored))}, which this task varies, "
            "so those takes would sound alike")


def _ignoring(ignored: set[str]) -> Callable[[str], IgnoredParams]:
    """An error class for ``refuse`` that carries the ignored names."""
    return lambda msg: IgnoredParams(msg, ignored)

def validate_gsv(spec: TaskSpec, combos: list[Any], clips: dict[int, ClipInfo],
                  models: dict[int, ModelInfo], refuse: Callable[..., None],
                  notes: list[str]) -> None:
    """GPT-SoVITS: checkpoints, the 3-10 s rule, and what each model version honours.

    ``refuse(message, error)`` raises (or, forced, notes) a problem; ``notes`` collects the
    warnings.

    Example:
        >>> from rasv.tasks.grid import TextRef
        >>> from rasv.testing import raises
        >>> spec = TaskSpec(texts=(TextRef("hi", "en"),), clips=(1,))
        >>> raises(validate_gsv, spec, spec.combinations(), {}, {}, print, [])[:60]
        'TaskError: a gpt-sovits task needs a GPT and a SoVITS checkp'
    """
    missing = [c for c in combos if c.gpt is None or c.sovits is None]
    if missing:
        raise TaskError(
            "a gpt-sovits task needs a GPT and a SoVITS checkpoint: give gpt= and sovits= "
            "(model ids from ws.models), or vary/combos over them"
        )
    bad = [c for c in clips.values() if c.duration_s is not None
           and not reference_in_range(c.duration_s)]
    if bad:
        names = ", ".join(f"{c.id} ({c.duration_s:.1f} s)" for c in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        refuse(f"clip(s) {names}{more} are outside GPT-SoVITS's "
               f"{REF_MIN_S:g}–{REF_MAX_S:g} s reference rule")
    for c in combos:
        g, sv = models[c.gpt], models[c.sovits]
        if g.version and sv.version and (g.version == "v1") != (sv.version == "v1"):
            raise CapabilityError(
                f"GPT {g.name} is a {g.version} model but SoVITS {sv.name} is "
                f"{sv.version}; v1 and v2+ models use different phoneme sets"
            )
    versions = {c.index: models[c.sovits].version for c in combos}
    unknown = sorted({models[c.sovits].name or str(c.sovits) for c in combos
                      if versions[c.index] is None})
    if unknown:
        notes.append(f"model version unknown for {', '.join(unknown)}; "
                     "parameters it may ignore were not checked")
    known = {i: v for i, v in versions.items() if v is not None}
    varied = spec.varied_names() & (set(VARIABLE_PARAMS) | {"aux"})
    by_combo = {c.index: c for c in combos}
    for name in sorted(varied):
        ignoring = sorted({v for i, v in known.items()
                           if capabilities_for_version(v).ignored({name})})
        if not ignoring:
            continue
        if len(ignoring) == len(set(known.values())) and not unknown:
            refuse(f"{name} is varied but GPT-SoVITS {', '.join(ignoring)} ignores it, "
                   "so every take would sound alike", CapabilityError)
        else:
            notes.append(f"{name} is varied but GPT-SoVITS {', '.join(ignoring)} ignores "
                         "it; those takes will not differ")
    defaults = Params()
    for name in VARIABLE_PARAMS:
        if name == "seed" or name in varied:
            continue
        if getattr(spec.fixed, name) == getattr(defaults, name):
            continue
        ignoring = sorted({v for v in known.values()
                           if capabilities_for_version(v).ignored({name})})
        if ignoring:
            notes.append(f"{name}={getattr(spec.fixed, name)!r} has no effect on "
                         f"GPT-SoVITS {', '.join(ignoring)}")
    for i, v in known.items():
        caps = capabilities_for_version(v)
        c = by_combo[i]
        if c.aux and not caps.aux_refs:
            refuse(f"GPT-SoVITS {v} does not use auxiliary reference clips "
                   f"(combination {c.label() or 'base'})", CapabilityError)
            break
    for i, v in known.items():
        caps = capabilities_for_version(v)
        langs = {t.lang for t in spec.texts} | {clips[x].lang for x in by_combo[i].clips.ids}
        bad_langs = sorted(lang for lang in langs if lang not in caps.languages)
        if bad_langs:
            refuse(f"GPT-SoVITS {v} does not take language(s) {', '.join(bad_langs)}",
                   CapabilityError)
            break
        if caps.prompt_text_required:
            empty = [x for x in by_combo[i].clips.ids if not clips[x].text.strip()]
            if empty:
                refuse(f"GPT-SoVITS {v} needs each clip's transcript; clip(s) "
                       f"{', '.join(map(str, empty[:5]))} have none", CapabilityError)
                break
    empty = sorted(c.id for c in clips.values() if not c.text.strip())
    if empty and not _notes_has(notes, "transcript"):
        notes.append(f"clip(s) {', '.join(map(str, empty[:5]))} have no transcript: they "
                     "run in GPT-SoVITS's reference-free mode (lower quality)")


def _notes_has(notes: list[str], word: str) -> bool:
    """True when one of ``notes`` mentions ``word`` (avoids saying the same thing twice)."""
    return any(word in n for n in notes)


__all__ = ["ignored_dimensions", "ignored_message", "validate", "validate_gsv"]
