"""Resolving what users hand to ``ws.tasks``: task references, and the texts, clips, models
and aux clips a task names, checked against the workspace.

:func:`find_task_id` is the one rule for "which task is meant" (``ws.tasks.resolve``, the
review table, the analysis and the CLI call it); :func:`resolve_spec` turns
:class:`~rasv.tasks.records.TaskArgs` into a :class:`~rasv.tasks.grid.TaskSpec` of ids.

Example:
    >>> clean_name("  k sweep "), task_kind("GPT-SoVITS")
    ('k sweep', 'gpt-sovits')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rasv.engine import REF_MAX_S, REF_MIN_S, reference_in_range
from rasv.errors import (
    AuxClipNotFound,
    ClipNotFound,
    EmptyGrid,
    InvalidInput,
    ModelNotFound,
    RoleNotFound,
    TaskNotFound,
    TextNotFound,
)
from rasv.ids import is_id
from rasv.langs import guess_lang, normalize_lang
from rasv.params import Params
from rasv.records import Model
from rasv.tasks.grid import (
    GSV_KIND,
    AuxInfo,
    ClipGroup,
    ClipInfo,
    ModelInfo,
    TaskSpec,
    TextRef,
)
from rasv.tasks.records import TaskArgs

if TYPE_CHECKING:
    from rasv.workspace import Workspace


def resolve_spec(ws: Workspace, role_id: int, args: TaskArgs) -> tuple[TaskSpec, list[str]]:
    """Resolve the references in ``args`` into a :class:`TaskSpec`, with what to warn about.

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import make_clip
        >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
        >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
        >>> spec, notes = resolve_spec(ws, r.id, TaskArgs(texts="hi", clips=[c], engine="fake"))
        >>> spec.clips, spec.texts[0].lang, notes
        ((1,), 'en', [])
    """
    engine, texts, clips, clip_categories = args.engine, args.texts, args.clips, args.clip_categories
    fixed, gpt, sovits, aux, vary, combos = (args.fixed, args.gpt, args.sovits, args.aux,
                                            args.vary, args.combos)
    seeds, repeats, force = args.seeds, args.repeats, args.force
    kind = task_kind(engine)
    notes: list[str] = []
    text_refs = resolve_texts(ws, texts)
    categories = _str_list(clip_categories, "clip_categories")
    clip_ids = resolve_clip_ids(ws, clips, role_id) if clips is not None else ()
    for cat in categories:
        found, skipped = category_clips(ws, role_id, cat, kind)
        if skipped:
            notes.append(
                f"category {cat!r}: {skipped} clip(s) outside {REF_MIN_S:g}–{REF_MAX_S:g} s "
                "left out"
            )
        if not found:
            raise EmptyGrid(
                f"category {cat!r} of this role has no usable clips"
                + (" (3–10 s)" if kind == GSV_KIND else "")
            )
        clip_ids = (*clip_ids, *found)
    vary_in = dict(vary or {})
    vary_out = {}
    for name, values in vary_in.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise InvalidInput(f"vary[{name!r}] must be a list of values, got {values!r}")
        vary_out[name] = tuple(resolve_value(ws, name, v, role_id, kind, notes)
                               for v in values)
    if combos is not None and not isinstance(combos, Iterable):
        raise InvalidInput("combos must be a list of dicts")
    combos_out = []
    for i, row in enumerate(combos if combos is not None else ()):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"combos[{i}] must be a dict of name → value, got {row!r}")
        combos_out.append({n: resolve_value(ws, n, v, role_id, kind, notes)
                           for n, v in row.items()})
    if combos is not None and not combos_out:
        raise EmptyGrid("combos is empty; give at least one row or leave it out")
    if is_id(seeds):
        seeds = [seeds]
    if seeds is not None:
        seeds = [int(s) if is_id(s) else s for s in seeds]
    spec = TaskSpec(
        texts=text_refs,
        clips=clip_ids,
        clip_categories=categories,
        fixed=params_of(fixed),
        gpt=resolve_model(ws, gpt, "gpt") if gpt is not None else None,
        sovits=resolve_model(ws, sovits, "sovits") if sovits is not None else None,
        aux=resolve_aux(ws, aux) if aux is not None else (),
        vary=vary_out,
        combos=tuple(combos_out),
        seeds=tuple(seeds) if seeds is not None else (),
        repeats=repeats,
        force=bool(force),
    )
    return spec, notes


def resolve_texts(ws: Workspace, texts: Any) -> tuple[TextRef, ...]:
    if texts is None:
        raise EmptyGrid("the task has no texts; give at least one")
    if isinstance(texts, (str, TextRef, Mapping)) or (
        isinstance(texts, tuple) and _is_pair(texts) and _is_lang(texts[1])
    ):
        texts = [texts]  # one text; a list is always a list of texts
    items = list(texts)
    if not items:
        raise EmptyGrid("the task has no texts; give at least one")
    ids = [int(x) for x in items if is_id(x)]
    lib = {}
    if ids:
        for tid, content, lang in ws.store.rows(
            "SELECT id, content, lang FROM texts WHERE list_contains(?, id)", [ids]
        ):
            lib[tid] = (content, lang)
    out = []
    for x in items:
        if isinstance(x, TextRef):
            out.append(x)
        elif is_id(x):
            if int(x) not in lib:
                raise TextNotFound(int(x))
            content, lang = lib[int(x)]
            out.append(TextRef(content, lang, int(x)))
        elif hasattr(x, "content") and hasattr(x, "lang") and hasattr(x, "id"):
            out.append(TextRef(x.content, x.lang, x.id))  # a TextItem record
        elif isinstance(x, str):
            out.append(TextRef(x, guess_lang(x)))
        elif _is_pair(x):
            out.append(TextRef(str(x[0]), x[1]))
        elif isinstance(x, Mapping) and ("text" in x or "content" in x):
            body = str(x.get("text", x.get("content")))
            out.append(TextRef(body, x.get("lang") or guess_lang(body), x.get("id")))
        elif isinstance(x, Mapping) and "id" in x:
            out.extend(resolve_texts(ws, [int(x["id"])]))
        else:
            raise InvalidInput(
                f"a text is a text-library id, a (text, lang) pair or a string, not {x!r}"
            )
    return tuple(out)

def resolve_clip_ids(ws: Workspace, clips: Any, role_id: int) -> tuple[int, ...]:
    if is_id(clips) or hasattr(clips, "sha256"):
        clips = [clips]
    if isinstance(clips, str):
        raise InvalidInput(
            f"clips takes clip ids; for a category use clip_categories=[{clips!r}]"
        )
    ids = []
    for c in clips:
        if is_id(c):
            ids.append(int(c))
        elif hasattr(c, "id") and hasattr(c, "sha256"):
            ids.append(int(c.id))
        else:
            raise InvalidInput(f"a clip is a clip id or a Clip record, not {c!r}")
    found = {r[0]: r[1] for r in ws.store.rows(
        "SELECT id, role_id FROM clips WHERE list_contains(?, id)", [ids])}
    for i in ids:
        if i not in found:
            raise ClipNotFound(i)
        if found[i] != role_id:
            raise InvalidInput(f"clip {i} belongs to another role")
    return tuple(ids)

def category_clips(ws: Workspace, role_id: int, category: str, kind: str) -> tuple[list[int], int]:
    rows = ws.store.rows(
        "SELECT id, duration_s FROM clips WHERE role_id = ? AND category = ? ORDER BY id",
        [role_id, category],
    )
    if kind != GSV_KIND:
        return [r[0] for r in rows], 0
    ok = [r[0] for r in rows if reference_in_range(r[1])]
    return ok, len(rows) - len(ok)

def resolve_value(ws: Workspace, name: str, value: Any, role_id: int, kind: str,
                   notes: list[str]) -> Any:
    if name == "clip":
        if isinstance(value, ClipGroup):
            return value
        if isinstance(value, str):
            found, skipped = category_clips(ws, role_id, value, kind)
            if skipped:
                notes.append(f"category {value!r}: {skipped} clip(s) outside "
                             f"{REF_MIN_S:g}–{REF_MAX_S:g} s left out")
            if not found:
                raise EmptyGrid(f"category {value!r} of this role has no usable clips")
            return ClipGroup(tuple(found), value)
        if isinstance(value, Mapping) and "category" in value:
            return resolve_value(ws, "clip", str(value["category"]), role_id, kind, notes)
        if isinstance(value, Mapping) and "ids" in value:
            return ClipGroup(resolve_clip_ids(ws, value["ids"], role_id), value.get("label"))
        return ClipGroup(resolve_clip_ids(ws, value, role_id))
    if name in ("gpt", "sovits"):
        return resolve_model(ws, value, name)
    if name == "aux":
        return resolve_aux(ws, value)
    return value

def resolve_model(ws: Workspace, ref: Any, kind: str) -> int:
    if not (is_id(ref) or isinstance(ref, (str, os.PathLike, Model))):
        raise InvalidInput(f"a {kind} model is a model id, a Model or a path, not {ref!r}")
    try:
        model = ws.models.get(ref)
    except ModelNotFound:
        if isinstance(ref, (str, os.PathLike)):
            raise ModelNotFound(ref, "register it first with ws.models.add(path)") from None
        raise
    if model.kind != kind:
        raise InvalidInput(f"model {model.id} is a {model.kind} checkpoint, not a {kind} one")
    return model.id

def resolve_aux(ws: Workspace, refs: Any) -> tuple[int, ...]:
    if isinstance(refs, (str, bytes)) or not isinstance(refs, Iterable):
        raise InvalidInput(f"an aux set is a list of aux clip ids, got {refs!r}")
    ids = []
    for a in refs:
        if is_id(a):
            ids.append(int(a))
        elif hasattr(a, "id") and hasattr(a, "source_role"):
            ids.append(int(a.id))  # an AuxClip record
        else:
            raise InvalidInput(f"an aux clip is an aux id or an AuxClip record, not {a!r}")
    found = {r[0] for r in ws.store.rows(
        "SELECT id FROM aux_clips WHERE list_contains(?, id)", [ids])}
    for i in ids:
        if i not in found:
            raise AuxClipNotFound(i)
    return tuple(sorted(set(ids)))

# -- lookups -----------------------------------------------------------------------------

def clip_infos(ws: Workspace, ids: Iterable[int], role_id: int | None = None) -> dict[int, ClipInfo]:
    ids = sorted(set(ids))
    out = {}
    for cid, rid, name, sha, text, lang, dur in ws.store.rows(
        "SELECT id, role_id, name, sha256, text, lang, duration_s FROM clips "
        "WHERE list_contains(?, id)", [ids]
    ):
        if role_id is not None and rid != role_id:
            raise InvalidInput(f"clip {cid} belongs to another role")
        out[cid] = ClipInfo(cid, sha, text or "", lang, dur, name)
    for i in ids:
        if i not in out:
            raise ClipNotFound(i, "it was deleted after the task was made")
    return out

def model_infos(ws: Workspace, ids: Iterable[int]) -> dict[int, ModelInfo]:
    ids = sorted(set(ids))
    out = {r[0]: ModelInfo(r[0], r[1], r[2], r[3], r[4]) for r in ws.store.rows(
        "SELECT id, kind, sha256, version, name FROM models WHERE list_contains(?, id)", [ids])}
    for i in ids:
        if i not in out:
            raise ModelNotFound(i)
    return out

def aux_infos(ws: Workspace, ids: Iterable[int]) -> dict[int, AuxInfo]:
    ids = sorted(set(ids))
    out = {r[0]: AuxInfo(r[0], r[1], r[2]) for r in ws.store.rows(
        "SELECT id, sha256, name FROM aux_clips WHERE list_contains(?, id)", [ids])}
    for i in ids:
        if i not in out:
            raise AuxClipNotFound(i)
    return out


def referenced(spec: TaskSpec) -> dict[str, set[int]]:
    """Every clip, model and aux id a spec mentions."""
    clips, models, aux = set(spec.clips), set(), set(spec.aux)
    for m in (spec.gpt, spec.sovits):
        if m is not None:
            models.add(m)
    rows = [*({n: v} for n, vs in spec.vary.items() for v in vs), *spec.combos]
    for row in rows:
        for n, v in row.items():
            if n == "clip":
                clips.update(v.ids)
            elif n in ("gpt", "sovits"):
                models.add(v)
            elif n == "aux":
                aux.update(v)
    return {"clip": clips, "model": models, "aux": aux}


def params_of(fixed: Params | Mapping[str, Any] | None) -> Params:
    if fixed is None:
        return Params()
    if isinstance(fixed, Params):
        return fixed
    if isinstance(fixed, Mapping):
        unknown = set(fixed) - {*Params.__dataclass_fields__}
        if unknown:
            raise InvalidInput(
                f"fixed: unknown parameter(s) {', '.join(sorted(map(str, unknown)))}; "
                "engine-specific values go in fixed={'extra': {...}}"
            )
        return Params.from_dict(dict(fixed))
    raise InvalidInput(f"fixed must be a rasv.Params or a dict, not {fixed!r}")


def clean_name(name: Any) -> str:
    text = str(name or "").strip()
    if not text:
        raise InvalidInput("a task needs a name")
    return text


def task_kind(engine: Any) -> str:
    if not isinstance(engine, str) or not engine.strip():
        raise InvalidInput(
            f"engine is the engine kind the task is for ('{GSV_KIND}', 'espeak' …), "
            f"not {engine!r}; engines themselves are given to ws.tasks.run"
        )
    return engine.strip().lower()


def task_id_of(task: Any) -> int:
    """The id of a task given as a :class:`Task` (or a record with an ``.id``) or as an id.

    Whole numbers only: ``True`` and ``3.0`` are refused. No database is asked; see
    :func:`find_task_id` for names and existence.

    Example:
        >>> import numpy as np
        >>> task_id_of(3), task_id_of(np.int64(4))
        (3, 4)
    """
    tid = getattr(task, "id", task)
    if not is_id(tid):
        raise InvalidInput(f"a task is a Task or a task id, not {task!r}")
    return int(tid)


def find_task_id(ws: Workspace, ref: Any) -> int:
    """The id of an existing task given as a Task, an id, an id in text, or its name.

    A name means the only current (not archived) task with that name.

    Raises:
        TaskNotFound: no task has this id or name, or several current tasks share the name.
        InvalidInput: ``ref`` is none of these (a bool, a float …).

    Example:
        >>> from rasv.testing import example
        >>> ex = example(transcript="ref", name="k sweep", texts=["hi"], run=False)
        >>> ws, t = ex.ws, ex.task
        >>> find_task_id(ws, "k sweep"), find_task_id(ws, " 1 "), find_task_id(ws, t)
        (1, 1, 1)
    """
    if isinstance(ref, str):
        text = ref.strip()
        if not text.isdigit():
            rows = ws.store.rows(
                "SELECT id FROM tasks WHERE name = ? AND NOT archived ORDER BY id", [text])
            if len(rows) > 1:
                ids = ", ".join(str(r[0]) for r in rows)
                raise TaskNotFound(text, f"several tasks are named so (ids {ids}); give the id")
            if not rows:
                raise TaskNotFound(text, _role_hint(ws, text))
            return int(rows[0][0])
        ref = int(text)
    tid = task_id_of(ref)
    if not ws.store.scalar("SELECT count(*) FROM tasks WHERE id = ?", [tid]):
        raise TaskNotFound(tid)
    return tid


def _role_hint(ws: Workspace, name: str) -> str:
    """What to say when a task was asked for by a role's name (an easy slip: both are names)."""
    try:
        role_id = ws.roles.resolve_id(name)
    except RoleNotFound:
        return ""
    ids = [str(r[0]) for r in ws.store.rows(
        "SELECT id FROM tasks WHERE role_id = ? AND NOT archived ORDER BY id", [role_id])]
    if not ids:
        return "that is a role's name, and the role has no tasks yet"
    return f"that is a role's name; give one of its tasks (id{'s' * (len(ids) > 1)} {', '.join(ids)})"


_is_int = is_id


def _is_pair(x: Any) -> bool:
    return (isinstance(x, (tuple, list)) and len(x) == 2 and isinstance(x[0], str)
            and isinstance(x[1], str))


def _is_lang(code: str) -> bool:
    try:
        normalize_lang(code)
    except InvalidInput:
        return False
    return True


def _str_list(value: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    out = tuple(str(v) for v in value)
    if not out:
        raise EmptyGrid(f"{what} is empty")
    return out


__all__ = [
    "aux_infos",
    "clean_name",
    "clip_infos",
    "find_task_id",
    "model_infos",
    "params_of",
    "referenced",
    "resolve_spec",
    "task_id_of",
    "task_kind",
]
