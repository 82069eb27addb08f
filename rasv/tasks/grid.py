"""Comparison grids: a task's spec, its expansion into takes, and content-hash take ids.

A task fixes some parameters and varies others. ``vary`` is a cartesian product over named
dimensions, ``combos`` lists explicit rows; the combinations are every ``vary`` cell crossed
with every combo row. Each combination is then crossed with its clips, the task's texts and
its seeds, one take per cell.

Everything here is pure (no database): :mod:`rasv.tasks.namespace` resolves ids against the workspace
and hands this module plain records, so grid sizes and take ids can be property-tested.

Example:
    >>> spec = TaskSpec(texts=(TextRef("你好。", "zh"),), clips=(1, 2),
    ...                 vary={"top_k": (5, 10, 15)}, seeds=(1, 2))
    >>> [c.label() for c in spec.combinations()]
    ['top_k=5', 'top_k=10', 'top_k=15']
    >>> clips = {1: ClipInfo(1, "a" * 64, "参考一", "zh"), 2: ClipInfo(2, "b" * 64, "参考二", "zh")}
    >>> takes = expand(spec, "fake", clips=clips)
    >>> len(takes), len({t.take_id for t in takes})
    (12, 12)
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rasv.errors import EmptyGrid, InvalidInput, TaskError
from rasv.ids import id_list, is_id
from rasv.langs import normalize_lang
from rasv.params import VARIABLE_PARAMS, Params

#: The engine kind of GPT-SoVITS engines (``api_v2``, ``api.py``, in-process).
GSV_KIND = "gpt-sovits"

#: Names a task may vary or set in a combo, in expansion order (the order of ``vary``'s keys
#: does not matter: combinations are always numbered in this order).
DIMENSIONS: tuple[str, ...] = ("clip", "gpt", "sovits", "aux", *VARIABLE_PARAMS)

#: Version of the take-id recipe; bump it only if the hashed fields change meaning.
TAKE_ID_FORMAT = 1

#: A grid larger than this is refused unless forced: it is almost always a typo.
MAX_TAKES = 100_000

_MODEL_DIMS = ("gpt", "sovits")


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRef:
    """A text a task speaks: its content, its API language and its library id (if any).

    Example:
        >>> TextRef("Hello.", "EN").lang
        'en'
    """

    text: str
    lang: str
    id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise InvalidInput("a task text must be a non-empty string")
        object.__setattr__(self, "lang", normalize_lang(self.lang))


@dataclass(frozen=True)
class ClipGroup:
    """The reference clips one combination uses: a category's clips, or chosen ids.

    Example:
        >>> ClipGroup((3, 1, 3), "温柔").ids
        (3, 1)
    """

    ids: tuple[int, ...]
    label: str | None = None

    def __post_init__(self) -> None:
        ids = tuple(dict.fromkeys(int(i) for i in self.ids))  # keep order, drop repeats
        object.__setattr__(self, "ids", ids)

    def describe(self) -> str:
        """How the group reads in a label: its category, or its clip ids.

        Example:
            >>> ClipGroup((4,)).describe(), ClipGroup((1, 2), "calm").describe()
            ('4', 'calm')
        """
        if self.label:
            return self.label
        return ",".join(str(i) for i in self.ids)


@dataclass(frozen=True)
class ClipInfo:
    """What planning needs of a reference clip (its transcript is the prompt text).

    Example:
        >>> ClipInfo(1, "ab" * 32, "参考", "ZH").lang
        'zh'
    """

    id: int
    sha256: str
    text: str
    lang: str
    duration_s: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lang", normalize_lang(self.lang))


@dataclass(frozen=True)
class ModelInfo:
    """What planning needs of a checkpoint: its kind, content hash and sniffed version.

    Example:
        >>> ModelInfo(2, "sovits", "cd" * 32, "v2ProPlus").version
        'v2ProPlus'
    """

    id: int
    kind: str
    sha256: str
    version: str | None = None
    name: str = ""


@dataclass(frozen=True)
class AuxInfo:
    """What planning needs of an auxiliary (fusion) reference clip.

    Example:
        >>> AuxInfo(1, "ef" * 32).id
        1
    """

    id: int
    sha256: str
    name: str = ""


@dataclass(frozen=True)
class Combination:
    """One cell of the ``vary`` × ``combos`` product, with its effective settings.

    ``overrides`` holds what this cell sets (the rest comes from the task); ``params`` has no
    seed (seeds are crossed with the combination's clips and texts).

    Example:
        >>> c = TaskSpec(texts=(TextRef("x", "en"),), clips=(1,),
        ...              combos=({"top_k": 5, "top_p": 0.8},)).combinations()[0]
        >>> c.params.top_k, c.params.top_p, c.label()
        (5, 0.8, 'top_k=5, top_p=0.8')
    """

    index: int
    overrides: Mapping[str, Any]
    params: Params
    gpt: int | None
    sovits: int | None
    aux: tuple[int, ...]
    clips: ClipGroup
    seeds: tuple[int, ...]

    def label(self, describe: Callable[[str, Any], str] | None = None) -> str:
        """A short human label of what this combination varies (``""`` when nothing).

        ``describe(name, value)`` may render values (model names instead of ids …).

        Example:
            >>> TaskSpec(texts=(TextRef("x", "en"),), clips=(1,),
            ...          vary={"aux": ((), (2, 3))}).combinations()[1].label()
            'aux=2+3'
        """
        parts = []
        for name in DIMENSIONS:
            if name not in self.overrides:
                continue
            value = self.overrides[name]
            text = describe(name, value) if describe else None
            parts.append(f"{name}={text if text is not None else _default_text(name, value)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class PlannedTake:
    """One take of a task's plan: everything that defines its audio, and where it came from.

    Example:
        >>> spec = TaskSpec(texts=(TextRef("hi", "en", id=9),), clips=(1,))
        >>> t = expand(spec, "fake", clips={1: ClipInfo(1, "a" * 64, "ref", "en")})[0]
        >>> t.text_id, t.prompt_text, t.params.seed == DEFAULT_SEED
        (9, 'ref', True)
    """

    take_id: str
    ord: int
    combo: int
    clip_id: int
    clip_sha256: str
    text_id: int | None
    text: str
    text_lang: str
    prompt_text: str
    prompt_lang: str
    params: Params
    gpt_id: int | None = None
    sovits_id: int | None = None
    gpt_sha256: str | None = None
    sovits_sha256: str | None = None
    aux_ids: tuple[int, ...] = ()
    aux_sha256s: tuple[str, ...] = ()


# --- seeds ------------------------------------------------------------------------------------


def derive_seeds(n: int) -> tuple[int, ...]:
    """The first ``n`` seeds of rasv's fixed seed sequence.

    Every task uses the same sequence, so two tasks with ``repeats=3`` sample with the same
    three seeds: their takes are comparable cell by cell (common random numbers) and shared
    takes are reused. Seeds stay below 2**31 so every backend (int32 or not) accepts them.

    Example:
        >>> derive_seeds(2) == derive_seeds(3)[:2], len(set(derive_seeds(50)))
        (True, 50)
    """
    if n < 1:
        raise InvalidInput(f"repeats must be at least 1, got {n}")
    out: list[int] = []
    i = 0
    while len(out) < n:
        digest = hashlib.sha256(f"rasv-seed:{i}".encode()).digest()
        s = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
        if s not in out:
            out.append(s)
        i += 1
    return tuple(out)


#: The seed of a task that names none: never -1, every take records the seed it used.
DEFAULT_SEED: int = derive_seeds(1)[0]


# --- the spec ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    """What a task compares, with every reference resolved to ids (stored as JSON).

    Args:
        texts: the texts every combination speaks.
        clips: default reference clips (ids), used by combinations that set no ``clip``.
        clip_categories: the categories ``clips`` came from (kept for display and edits).
        fixed: the parameters every take starts from.
        gpt, sovits: default checkpoints (model ids).
        aux: default auxiliary clip ids (GPT-SoVITS averages their timbre with the main one).
        vary: name → values; the cartesian product of all of them. ``clip`` values are
            :class:`ClipGroup`, ``aux`` values tuples of aux ids, ``gpt``/``sovits`` model ids.
        combos: explicit rows of name → value, crossed with the ``vary`` product.
        seeds: explicit seeds; or ``repeats`` seeds from :func:`derive_seeds`; else one seed
            (``fixed.seed`` or :data:`DEFAULT_SEED`).
        force: keep clips and parameters that validation would refuse (warnings instead).
        warnings: what validation warned about when the task was created.

    Example:
        >>> s = TaskSpec(texts=(TextRef("a", "en"),), clips=(1,), repeats=3)
        >>> len(s.effective_seeds()), TaskSpec.from_json(s.to_json()) == s
        (3, True)
    """

    texts: tuple[TextRef, ...]
    clips: tuple[int, ...] = ()
    clip_categories: tuple[str, ...] = ()
    fixed: Params = field(default_factory=Params)
    gpt: int | None = None
    sovits: int | None = None
    aux: tuple[int, ...] = ()
    vary: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    combos: tuple[Mapping[str, Any], ...] = ()
    seeds: tuple[int, ...] = ()
    repeats: int | None = None
    force: bool = False
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "clips", tuple(dict.fromkeys(int(c) for c in self.clips)))
        object.__setattr__(self, "clip_categories", tuple(self.clip_categories))
        object.__setattr__(self, "aux", _aux_value(self.aux, "aux"))
        object.__setattr__(self, "seeds", tuple(_seed_value(s, "seeds") for s in self.seeds))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        if not isinstance(self.fixed, Params):
            raise InvalidInput("fixed must be a rasv.Params (or a dict turned into one)")
        vary: dict[str, tuple[Any, ...]] = {}
        for name, values in dict(self.vary).items():
            _check_name(name, "vary")
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise InvalidInput(f"vary[{name!r}] must be a list of values, got {values!r}")
            normal = tuple(_normalize(name, v, f"vary[{name!r}]") for v in values)
            if not normal:
                raise EmptyGrid(f"vary[{name!r}] is empty; give at least one value")
            dupes = [v for v, n in _count(normal).items() if n > 1]
            if dupes:
                raise InvalidInput(f"vary[{name!r}] lists {dupes[0]!r} more than once")
            vary[name] = normal
        object.__setattr__(self, "vary", {n: vary[n] for n in DIMENSIONS if n in vary})
        combos = []
        for i, row in enumerate(self.combos):
            if not isinstance(row, Mapping):
                raise InvalidInput(f"combos[{i}] must be a dict of name → value, got {row!r}")
            if not row:
                raise InvalidInput(f"combos[{i}] is empty; a combo sets at least one value")
            clean = {}
            for name, value in row.items():
                _check_name(name, f"combos[{i}]")
                if name in vary:
                    raise TaskError(
                        f"{name!r} is both in vary and in combos[{i}]; set it in one place"
                    )
                clean[name] = _normalize(name, value, f"combos[{i}][{name!r}]")
            combos.append({n: clean[n] for n in DIMENSIONS if n in clean})
        if len(combos) != len(set(map(_freeze, combos))):
            raise InvalidInput("combos lists the same row more than once")
        object.__setattr__(self, "combos", tuple(combos))
        if self.repeats is not None:
            if isinstance(self.repeats, bool) or int(self.repeats) != self.repeats:
                raise InvalidInput(f"repeats must be a whole number, got {self.repeats!r}")
            object.__setattr__(self, "repeats", int(self.repeats))
            if self.repeats < 1:
                raise InvalidInput(f"repeats must be at least 1, got {self.repeats}")
        seed_places = [
            n for n, used in (
                ("seeds", bool(self.seeds)),
                ("repeats", self.repeats is not None),
                ("fixed seed", self.fixed.seed is not None),
                ("vary/combos seed", "seed" in vary or any("seed" in c for c in combos)),
            ) if used
        ]
        if len(seed_places) > 1:
            raise TaskError(
                f"seeds are given in several places ({', '.join(seed_places)}); give them in one"
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise InvalidInput("seeds lists the same seed more than once")
        keys = [(t.text, t.lang) for t in self.texts]
        if len(set(keys)) != len(keys):
            dup = next(k for k, n in _count(keys).items() if n > 1)
            raise InvalidInput(f"text {dup[0]!r} ({dup[1]}) is listed more than once")

    # -- derived ----------------------------------------------------------------------------

    def effective_seeds(self) -> tuple[int, ...]:
        """The seeds each combination is sampled with (unless it sets its own ``seed``).

        Example:
            >>> TaskSpec(texts=(TextRef("a", "en"),), fixed=Params(seed=7)).effective_seeds()
            (7,)
        """
        if self.seeds:
            return self.seeds
        if self.repeats is not None:
            return derive_seeds(self.repeats)
        if self.fixed.seed is not None:
            return (self.fixed.seed,)
        return (DEFAULT_SEED,)

    def combinations(self) -> list[Combination]:
        """Every ``vary`` cell crossed with every combo row, numbered from 0.

        Example:
            >>> s = TaskSpec(texts=(TextRef("a", "en"),), clips=(1,),
            ...              vary={"top_k": (5, 10)}, combos=({"top_p": .8}, {"top_p": .9}))
            >>> [c.label() for c in s.combinations()]
            ['top_k=5, top_p=0.8', 'top_k=5, top_p=0.9', 'top_k=10, top_p=0.8', 'top_k=10, top_p=0.9']
        """
        names = list(self.vary)
        cells = [dict(zip(names, values, strict=True))
                 for values in itertools.product(*(self.vary[n] for n in names))]
        rows = list(self.combos) or [{}]
        out = []
        base = self.fixed.replace(seed=None)
        default_clips = ClipGroup(self.clips, ", ".join(self.clip_categories) or None)
        for index, (cell, row) in enumerate(itertools.product(cells, rows)):
            overrides = {n: v for n, v in (*cell.items(), *row.items())}
            overrides = {n: overrides[n] for n in DIMENSIONS if n in overrides}
            param_changes = {n: v for n, v in overrides.items() if n in VARIABLE_PARAMS}
            seed = param_changes.pop("seed", None)
            try:
                params = base.replace(**param_changes)
            except InvalidInput as e:
                raise InvalidInput(f"combination {_default_label(overrides)}: {e}") from None
            out.append(
                Combination(
                    index=index,
                    overrides=overrides,
                    params=params,
                    gpt=overrides.get("gpt", self.gpt),
                    sovits=overrides.get("sovits", self.sovits),
                    aux=overrides.get("aux", self.aux),
                    clips=overrides.get("clip", default_clips),
                    seeds=(seed,) if seed is not None else self.effective_seeds(),
                )
            )
        return out

    def size(self) -> int:
        """How many takes the grid has (before removing cells that repeat a take).

        Example:
            >>> TaskSpec(texts=(TextRef("a", "en"), TextRef("b", "en")), clips=(1, 2, 3),
            ...          vary={"top_k": (1, 2)}, repeats=2).size()
            24
        """
        return sum(len(c.clips.ids) * len(c.seeds) for c in self.combinations()) * len(self.texts)

    def varied_names(self) -> set[str]:
        """Names that take more than one value across the grid.

        Example:
            >>> sorted(TaskSpec(texts=(TextRef("a", "en"),), vary={"top_k": (1, 2)},
            ...                 repeats=2).varied_names())
            ['seed', 'top_k']
        """
        names: set[str] = set()
        for n in DIMENSIONS:
            values = {_freeze(v) for v in self.vary.get(n, ())}
            values |= {_freeze(row[n]) for row in self.combos if n in row}
            if self.combos and any(n not in row for row in self.combos) and n not in self.vary:
                values.add(("<task>",))
            if len(values) > 1:
                names.add(n)
        if len(self.effective_seeds()) > 1:
            names.add("seed")
        return names

    # -- JSON -------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The spec as stored in ``tasks.spec``.

        Example:
            >>> json.loads(TaskSpec(texts=(TextRef("a", "en"),)).to_json())["format"]
            1
        """
        def enc(name: str, v: Any) -> Any:
            if isinstance(v, ClipGroup):
                return {"ids": list(v.ids), "label": v.label}
            if isinstance(v, tuple):
                return list(v)
            return v

        data = {
            "format": 1,
            "texts": [{"id": t.id, "text": t.text, "lang": t.lang} for t in self.texts],
            "clips": list(self.clips),
            "clip_categories": list(self.clip_categories),
            "fixed": self.fixed.as_dict(),
            "gpt": self.gpt,
            "sovits": self.sovits,
            "aux": list(self.aux),
            "vary": {n: [enc(n, v) for v in vs] for n, vs in self.vary.items()},
            "combos": [{n: enc(n, v) for n, v in row.items()} for row in self.combos],
            "seeds": list(self.seeds),
            "repeats": self.repeats,
            "force": self.force,
            "warnings": list(self.warnings),
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TaskSpec:
        """Read a spec written by :meth:`to_json`.

        Example:
            >>> TaskSpec.from_json(TaskSpec(texts=(TextRef("a", "en"),),
            ...                             vary={"clip": (ClipGroup((1, 2), "x"),)}).to_json()
            ...                    ).vary["clip"][0].label
            'x'
        """
        d = json.loads(text)
        if d.get("format") != 1:
            raise TaskError(f"task spec format {d.get('format')!r} is not known to this rasv")
        return cls(
            texts=tuple(TextRef(t["text"], t["lang"], t.get("id")) for t in d["texts"]),
            clips=tuple(d.get("clips") or ()),
            clip_categories=tuple(d.get("clip_categories") or ()),
            fixed=Params.from_dict(d.get("fixed") or {}),
            gpt=d.get("gpt"),
            sovits=d.get("sovits"),
            aux=tuple(d.get("aux") or ()),
            vary={n: tuple(vs) for n, vs in (d.get("vary") or {}).items()},
            combos=tuple(d.get("combos") or ()),
            seeds=tuple(d.get("seeds") or ()),
            repeats=d.get("repeats"),
            force=bool(d.get("force")),
            warnings=tuple(d.get("warnings") or ()),
        )

    def replace(self, **changes: Any) -> TaskSpec:
        """A copy with some fields changed (validated again).

        Example:
            >>> TaskSpec(texts=(TextRef("a", "en"),)).replace(repeats=2).repeats
            2
        """
        return dataclasses.replace(self, **changes)


# --- expansion --------------------------------------------------------------------------------


def take_id(
    *,
    engine_kind: str,
    clip_sha256: str,
    text: str,
    text_lang: str,
    prompt_text: str,
    prompt_lang: str,
    params: Params,
    gpt_sha256: str | None = None,
    sovits_sha256: str | None = None,
    aux_sha256s: Iterable[str] = (),
) -> str:
    """The content-hash id of a take: same id, same audio.

    It covers everything that changes the audio: the engine kind, the checkpoints' and
    clips' content hashes, the aux clips' hashes (sorted, because GPT-SoVITS averages them),
    the canonical parameters including the seed, the text and the prompt. Not the engine
    instance: two servers with the same weights make the same take.

    Example:
        >>> kw = dict(engine_kind="gpt-sovits", clip_sha256="a" * 64, text="你好",
        ...           text_lang="zh", prompt_text="参考", prompt_lang="zh", params=Params(seed=1))
        >>> take_id(**kw, aux_sha256s=["b", "c"]) == take_id(**kw, aux_sha256s=["c", "b"])
        True
        >>> take_id(**kw) == take_id(**{**kw, "params": Params(seed=2)})
        False
    """
    if params.seed is None or params.seed < 0:
        raise TaskError("a take needs an explicit seed (>= 0)")
    payload = {
        "f": TAKE_ID_FORMAT,
        "engine": engine_kind,
        "gpt": gpt_sha256,
        "sovits": sovits_sha256,
        "clip": clip_sha256,
        "aux": sorted(aux_sha256s),
        "params": params.canonical(),
        "text": text,
        "text_lang": normalize_lang(text_lang),
        "prompt_text": prompt_text,
        "prompt_lang": normalize_lang(prompt_lang),
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def expand(
    spec: TaskSpec,
    engine_kind: str,
    *,
    clips: Mapping[int, ClipInfo],
    models: Mapping[int, ModelInfo] | None = None,
    aux: Mapping[int, AuxInfo] | None = None,
) -> list[PlannedTake]:
    """Expand a spec into its takes: combination × clip × text × seed, in that order.

    A cell that repeats a take already in the list (same id) is dropped, so the result has
    one row per distinct take.

    Raises:
        EmptyGrid: a combination has no clips, or the spec has no texts.
        TaskError: an id is missing from ``clips``/``models``/``aux``.

    Example:
        >>> spec = TaskSpec(texts=(TextRef("a", "en"),), clips=(1,), vary={"top_p": (0.5, 1)})
        >>> [t.params.top_p for t in expand(spec, "fake",
        ...                                 clips={1: ClipInfo(1, "0" * 64, "r", "en")})]
        [0.5, 1.0]
    """
    models = models or {}
    aux = aux or {}
    if not spec.texts:
        raise EmptyGrid("the task has no texts; give at least one")
    out: list[PlannedTake] = []
    seen: set[str] = set()
    for combo in spec.combinations():
        if not combo.clips.ids:
            where = f" (combination {combo.label()})" if combo.overrides else ""
            raise EmptyGrid(f"no reference clips to use{where}; give clips or clip_categories")
        gpt = _lookup(models, combo.gpt, "GPT model") if combo.gpt is not None else None
        sovits = _lookup(models, combo.sovits, "SoVITS model") if combo.sovits is not None else None
        aux_infos = [_lookup(aux, a, "aux clip") for a in combo.aux]
        aux_shas = tuple(a.sha256 for a in aux_infos)
        for clip_id in combo.clips.ids:
            clip = _lookup(clips, clip_id, "clip")
            for text in spec.texts:
                for seed in combo.seeds:
                    # What the take id hashes, stated once: the plan records the same values.
                    audio = {
                        "clip_sha256": clip.sha256,
                        "text": text.text,
                        "text_lang": text.lang,
                        "prompt_text": clip.text,
                        "prompt_lang": clip.lang,
                        "params": combo.params.replace(seed=seed),
                        "gpt_sha256": gpt.sha256 if gpt else None,
                        "sovits_sha256": sovits.sha256 if sovits else None,
                        "aux_sha256s": aux_shas,
                    }
                    tid = take_id(engine_kind=engine_kind, **audio)
                    if tid in seen:
                        continue
                    seen.add(tid)
                    out.append(PlannedTake(
                        take_id=tid, ord=len(out), combo=combo.index, clip_id=clip.id,
                        text_id=text.id, gpt_id=gpt.id if gpt else None,
                        sovits_id=sovits.id if sovits else None, aux_ids=tuple(combo.aux),
                        **audio,
                    ))
    return out


# --- helpers ----------------------------------------------------------------------------------


def _check_name(name: Any, where: str) -> None:
    if name in DIMENSIONS:
        return
    import difflib

    hint = difflib.get_close_matches(str(name), DIMENSIONS, n=1, cutoff=0.5)
    aliases = {"speed": "speed_factor", "if_sr": "super_sampling", "inp_refs": "aux",
               "text_delimiter": "text_split_method", "cut": "text_split_method",
               "steps": "sample_steps", "clips": "clip", "vits": "sovits", "ref": "clip"}
    suggestion = aliases.get(str(name)) or (hint[0] if hint else None)
    more = f"; did you mean {suggestion!r}?" if suggestion else ""
    raise InvalidInput(
        f"{where}: unknown name {name!r}{more} (names: {', '.join(DIMENSIONS)})"
    )


def _normalize(name: str, value: Any, where: str) -> Any:
    """Turn one value of a dimension into its canonical, hashable form."""
    if name == "clip":
        if isinstance(value, ClipGroup):
            return value
        if isinstance(value, Mapping) and "ids" in value:
            return ClipGroup(tuple(value["ids"]), value.get("label"))
        raise InvalidInput(f"{where}: clip values must be resolved to clip groups")
    if name in _MODEL_DIMS:
        if not is_id(value):
            raise InvalidInput(f"{where}: a model must be resolved to its id, got {value!r}")
        return int(value)
    if name == "aux":
        return _aux_value(value, where)
    if name == "seed":
        return _seed_value(value, where)
    try:
        return getattr(Params(**{name: value}), name)
    except InvalidInput as e:
        raise InvalidInput(f"{where}: {e}") from None
    except TypeError:
        raise InvalidInput(f"{where}: {value!r} is not a valid {name}") from None


def _aux_value(value: Any, where: str) -> tuple[int, ...]:
    """An aux set as sorted, unique aux clip ids (``None``: no aux clips).

    Example:
        >>> _aux_value([3, 1, 3], "aux")
        (1, 3)
    """
    if value is None:
        return ()
    if is_id(value):  # a set of one is still a list: a bare id is a typo for [id]
        raise InvalidInput(f"{where}: an aux set is a list of aux clip ids, got {value!r}")
    try:
        return tuple(sorted(set(id_list(value, "resolved aux clip id"))))
    except InvalidInput as e:
        raise InvalidInput(f"{where}: {e}") from None


def _seed_value(value: Any, where: str) -> int:
    if not is_id(value) or not 0 <= value < 2**32:
        raise InvalidInput(f"{where}: a seed is a whole number in [0, 2**32), got {value!r}")
    return int(value)


def _lookup(table: Mapping[int, Any], key: int, what: str) -> Any:
    try:
        return table[key]
    except KeyError:
        raise TaskError(f"{what} {key} is not known to the plan") from None


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, ClipGroup):
        return ("clip", v.ids)
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


def _count(values: Iterable[Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for v in values:
        key = _freeze(v)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _default_text(name: str, value: Any) -> str:
    if isinstance(value, ClipGroup):
        return value.describe()
    if name == "aux":
        return "+".join(str(a) for a in value) if value else "none"
    return str(value)


def _default_label(overrides: Mapping[str, Any]) -> str:
    return ", ".join(f"{n}={_default_text(n, v)}" for n, v in overrides.items()) or "(base)"


__all__ = [
    "DEFAULT_SEED",
    "DIMENSIONS",
    "GSV_KIND",
    "MAX_TAKES",
    "TAKE_ID_FORMAT",
    "AuxInfo",
    "ClipGroup",
    "ClipInfo",
    "Combination",
    "ModelInfo",
    "PlannedTake",
    "TaskSpec",
    "TextRef",
    "derive_seeds",
    "expand",
    "take_id",
]
