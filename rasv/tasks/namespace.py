"""Comparison tasks: what to compare (``ws.tasks.create``), its takes (``task.plan()``), its
lifecycle (counts, status, versions, delete) and running it (``ws.tasks.run``).

A task fixes some parameters and varies others over reference clips and texts; every
RefAudioSelectorV2 comparison type is one call (``docs/comparisons.md``). References are
resolved and validated when the task is created, before anything runs: unknown names,
empty grids, clips outside GPT-SoVITS's 3–10 s rule and parameters the model version
ignores are refused (``force=True`` turns the last two into :class:`~rasv.RasvWarning`).

Example:
    >>> import rasv, tempfile
    >>> from rasv.testing import FakeEngine, make_clip
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> role = ws.roles.create("女性-小红")
    >>> clip = ws.clips.add(role, make_clip(ws.root / "ref.wav", 4.0), text="参考音频。")
    >>> task = ws.tasks.create(role, "k sweep", texts=["你好。"], clips=[clip],
    ...                        vary={"top_k": [5, 15]}, engine="fake")
    >>> len(task.plan())
    2
    >>> run = ws.tasks.run(task, FakeEngine())
    >>> task.counts().status, run.progress.done
    ('done', 2)
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.engine import REF_MAX_S, REF_MIN_S, capabilities_for_version, reference_in_range
from rasv.errors import (
    AuxClipNotFound,
    CapabilityError,
    ClipNotFound,
    EmptyGrid,
    InvalidInput,
    ModelNotFound,
    RasvWarning,
    TaskBusy,
    TaskError,
    TaskNotFound,
    TextNotFound,
)
from rasv.tasks.grid import (
    DIMENSIONS,
    GSV_KIND,
    MAX_TAKES,
    AuxInfo,
    ClipGroup,
    ClipInfo,
    ModelInfo,
    PlannedTake,
    TaskSpec,
    TextRef,
    expand,
)
from rasv.ids import is_id
from rasv.langs import guess_lang, normalize_lang
from rasv.params import VARIABLE_PARAMS, Params
from rasv.records import Model

if TYPE_CHECKING:
    from rasv.engine import Engine
    from rasv.runner.run import Run, RunEvent
    from rasv.workspace import Workspace

#: Take statuses, in lifecycle order.
TAKE_STATUSES: tuple[str, ...] = ("pending", "running", "done", "failed", "cancelled")

_TASK_COLS = (
    "id, role_id, name, version, parent_id, engine_kind, spec, conclusion, archived, "
    "created_at, updated_at"
)
_EDITABLE = (
    "texts", "clips", "clip_categories", "fixed", "gpt", "sovits", "aux", "vary", "combos",
    "seeds", "repeats", "engine", "force",
)


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskCounts:
    """How many of a task's takes are in each state, and the task status they imply.

    ``status`` is ``pending`` (nothing made yet), ``partial`` (some made, or a run is on it),
    ``done`` (every take made) or ``failed`` (nothing left to try and some takes failed).

    Example:
        >>> TaskCounts(total=4, pending=1, done=3).status
        'partial'
        >>> TaskCounts(total=4, done=3, failed=1).status
        'failed'
    """

    total: int = 0
    pending: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def status(self) -> str:
        """pending / partial / done / failed (see the class docstring)."""
        return task_status(self.total, self.pending, self.running, self.done, self.failed,
                           self.cancelled)

    @property
    def todo(self) -> int:
        """Takes a run would still make (pending or cancelled)."""
        return self.pending + self.cancelled


def task_status(total: int, pending: int, running: int, done: int, failed: int,
                cancelled: int) -> str:
    """The status a task has given its take counts.

    Example:
        >>> task_status(0, 0, 0, 0, 0, 0), task_status(2, 0, 0, 2, 0, 0)
        ('pending', 'done')
    """
    if total and done == total:
        return "done"
    if total and failed and not (pending or running or cancelled):
        return "failed"
    if done or failed or running:
        return "partial"
    return "pending"


@dataclass(frozen=True)
class TaskPreview:
    """What :meth:`Tasks.preview` found: the take count, the warnings, the resolved spec.

    Example:
        >>> TaskPreview(size=4, warnings=("x",), spec=None).size
        4
    """

    size: int
    warnings: tuple[str, ...]
    spec: TaskSpec | None


@dataclass(frozen=True)
class Task:
    """A comparison task (one version of it). Obtain it from ``ws.tasks``.

    The record is a snapshot; ``plan()``, ``counts()`` and ``run()`` go to the workspace it
    came from. Editing a task that has takes makes a new version (``parent_id`` → the old).

    Example:
        >>> Task(1, 1, "k sweep", 1, None, "fake", TaskSpec(texts=(TextRef("a", "en"),))).label
        'k sweep (v1)'
    """

    id: int
    role_id: int
    name: str
    version: int
    parent_id: int | None
    engine_kind: str
    spec: TaskSpec
    conclusion: str = ""
    archived: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    workspace: Workspace | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``name (vN)``."""
        return f"{self.name} (v{self.version})"

    def _tasks(self) -> Tasks:
        if self.workspace is None:
            raise TaskError(f"task {self.id} is not attached to a workspace; use ws.tasks.get")
        return self.workspace.tasks

    def plan(self) -> pd.DataFrame:
        """One row per take; see :meth:`Tasks.plan`.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> task = ws.tasks.create(r, "x", ["你好。"], clips=[c], repeats=2, engine="fake")
            >>> task.plan()[["label", "seed", "status"]].shape
            (2, 3)
        """
        return self._tasks().plan(self)

    def counts(self) -> TaskCounts:
        """Take counts by status and the task status; see :meth:`Tasks.counts`.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> task = ws.tasks.create(r, "x", ["你好。"], clips=[c], repeats=2, engine="fake")
            >>> task.counts().status, task.counts().pending
            ('pending', 2)
        """
        return self._tasks().counts(self)

    def combinations(self) -> pd.DataFrame:
        """The task's combinations; see :meth:`Tasks.combinations`.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> task = ws.tasks.create(r, "x", ["你好。"], clips=[c], repeats=2, engine="fake")
            >>> task.combinations().seeds.tolist() == [list(rasv.tasks.grid.derive_seeds(2))]
            True
        """
        return self._tasks().combinations(self)

    def run(self, engines: Engine | Sequence[Engine], **kwargs: Any) -> Run:
        """Run the task's pending takes; see :meth:`Tasks.run`.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> task = ws.tasks.create(r, "x", ["你好。"], clips=[c], repeats=2, engine="fake")
            >>> task.run(FakeEngine()).progress.done
            2
        """
        return self._tasks().run(self, engines, **kwargs)


# --- the namespace ----------------------------------------------------------------------------


class Tasks:
    """``ws.tasks``: create, list, edit, plan, run and delete comparison tasks.

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> ws.tasks.list().empty
        True
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- create ------------------------------------------------------------------------------

    def create(
        self,
        role: Any,
        name: str,
        texts: Any,
        clips: Iterable[Any] | None = None,
        clip_categories: str | Iterable[str] | None = None,
        fixed: Params | Mapping[str, Any] | None = None,
        gpt: Any = None,
        sovits: Any = None,
        vary: Mapping[str, Iterable[Any]] | None = None,
        combos: Iterable[Mapping[str, Any]] | None = None,
        seeds: Iterable[int] | None = None,
        repeats: int | None = None,
        *,
        aux: Iterable[Any] | None = None,
        engine: str = GSV_KIND,
        force: bool = False,
        conclusion: str = "",
    ) -> Task:
        """Create a comparison task; nothing is synthesized until it is run.

        Args:
            role: the role (record, id or ``category-name``).
            name: a name for people.
            texts: text-library ids, ``(text, lang)`` pairs, or plain strings (language
                guessed from the script: zh/ja/ko/en).
            clips: reference clips (ids or records) used by every combination that sets none.
            clip_categories: or/and the role's categories whose 3–10 s clips to use.
            fixed: the parameters every take starts from (:class:`rasv.Params` or a dict).
            gpt, sovits: checkpoints (model ids, records or registered paths); required for
                GPT-SoVITS tasks unless ``vary``/``combos`` set them.
            vary: name → values, crossed (cartesian product). Names: clip (ids, id lists or
                categories), gpt, sovits, aux (lists of aux ids), top_k, top_p, temperature,
                text_split_method, speed_factor, sample_steps, super_sampling,
                repetition_penalty, batch_size, fragment_interval, seed.
            combos: explicit rows (dicts of the same names), crossed with ``vary``: model
                pairs, k-p-t triples, whole parameter rows.
            seeds: explicit seeds for every cell; or ``repeats=N`` seeds from rasv's fixed
                sequence; default one fixed seed (never random).
            aux: auxiliary (fusion) clip ids used by combinations that set no ``aux``.
            engine: the engine kind the task is for (``gpt-sovits``, ``espeak``, ``fake`` …).
            force: keep clips outside 3–10 s and parameters the model ignores, with warnings.
            conclusion: free text (what the comparison showed).

        Raises:
            InvalidInput, EmptyGrid, TaskError, CapabilityError, ClipNotFound,
            ModelNotFound, TextNotFound, AuxClipNotFound: with one sentence saying what to fix.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> role = ws.roles.create("a")
            >>> c = ws.clips.add(role, make_clip(ws.root / "a.wav", 5.0), text="参考。")
            >>> t = ws.tasks.create(role, "p", ["你好。", ("Hello.", "en")], clips=[c],
            ...                     combos=[{"top_p": .8}, {"temperature": .7}], engine="fake")
            >>> t.spec.texts[1].lang, t.combinations().label.tolist()
            ('en', ['top_p=0.8', 'temperature=0.7'])
        """
        name = _clean_name(name)
        # One attach for the dozen lookups validation makes (shared mode attaches per operation).
        with self._ws.store.session():
            role_id = self._ws.roles.resolve_id(role)
            spec = self._build_spec(
                role_id,
                engine=engine,
                texts=texts,
                clips=clips,
                clip_categories=clip_categories,
                fixed=fixed,
                gpt=gpt,
                sovits=sovits,
                aux=aux,
                vary=vary,
                combos=combos,
                seeds=seeds,
                repeats=repeats,
                force=force,
            )
            takes = self._expand(spec, role_id, _kind(engine))
            with self._ws.store.transaction() as cur:
                row = cur.execute(
                    "INSERT INTO tasks(role_id, name, engine_kind, spec, conclusion) "
                    f"VALUES (?, ?, ?, ?, ?) RETURNING {_TASK_COLS}",
                    [role_id, name, _kind(engine), spec.to_json(), str(conclusion or "")],
                ).fetchall()
                task = self._record(row[0])
                self._materialise(task, takes)
        return task

    def preview(
        self,
        role: Any,
        texts: Any,
        clips: Iterable[Any] | None = None,
        clip_categories: str | Iterable[str] | None = None,
        fixed: Params | Mapping[str, Any] | None = None,
        gpt: Any = None,
        sovits: Any = None,
        vary: Mapping[str, Iterable[Any]] | None = None,
        combos: Iterable[Mapping[str, Any]] | None = None,
        seeds: Iterable[int] | None = None,
        repeats: int | None = None,
        *,
        aux: Iterable[Any] | None = None,
        engine: str = GSV_KIND,
        force: bool = False,
    ) -> TaskPreview:
        """Check a task as :meth:`create` would, without creating anything.

        Takes the arguments of :meth:`create` (but no name) and raises the same errors; a
        task builder calls it on every change to show the take count and the warnings.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4.0), text="参考。")
            >>> p = ws.tasks.preview(r, ["你好。", "再见。"], clips=[c],
            ...                      vary={"top_k": [5, 10, 15]}, engine="fake")
            >>> p.size, p.warnings, len(ws.tasks.list())
            (6, (), 0)
        """
        with self._ws.store.session():
            role_id = self._ws.roles.resolve_id(role)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RasvWarning)  # they are in spec.warnings
                spec = self._build_spec(
                    role_id, engine=engine, texts=texts, clips=clips,
                    clip_categories=clip_categories, fixed=fixed, gpt=gpt, sovits=sovits,
                    aux=aux, vary=vary, combos=combos, seeds=seeds, repeats=repeats,
                    force=force,
                )
        return TaskPreview(size=spec.size(), warnings=tuple(spec.warnings), spec=spec)

    # -- read --------------------------------------------------------------------------------

    def get(self, ref: Task | int) -> Task:
        """A task by id (or a fresh copy of a task record).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> try:
            ...     ws.tasks.get(7)
            ... except rasv.TaskNotFound as e:
            ...     print(e)
            task 7 does not exist in this workspace
        """
        tid = _task_id(ref)
        rows = self._ws.store.rows(f"SELECT {_TASK_COLS} FROM tasks WHERE id = ?", [tid])
        if not rows:
            raise TaskNotFound(tid)
        return self._record(rows[0])

    def list(self, role: Any = None, *, all_versions: bool = False) -> pd.DataFrame:
        """Tasks with their take counts and status, newest version of each by default.

        Columns: id, role_id, role, name, version, parent_id, engine_kind, varies, status,
        n_takes, n_pending, n_running, n_done, n_failed, n_cancelled, conclusion, created_at,
        updated_at.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> list(ws.tasks.list().columns[:4])
            ['id', 'role_id', 'role', 'name']
        """
        where, params = ["TRUE"], {}
        if role is not None:
            where.append("t.role_id = $role")
            params["role"] = self._ws.roles.resolve_id(role)
        if not all_versions:
            where.append("NOT t.archived")
        df = self._ws.store.df(
            f"""
            SELECT t.id, t.role_id, r.category || '-' || r.name AS role, t.name, t.version,
                   t.parent_id, t.engine_kind, t.spec,
                   count(k.id) AS n_takes,
                   count(k.id) FILTER (WHERE k.status = 'pending') AS n_pending,
                   count(k.id) FILTER (WHERE k.status = 'running') AS n_running,
                   count(k.id) FILTER (WHERE k.status = 'done') AS n_done,
                   count(k.id) FILTER (WHERE k.status = 'failed') AS n_failed,
                   count(k.id) FILTER (WHERE k.status = 'cancelled') AS n_cancelled,
                   t.conclusion, t.created_at, t.updated_at
            FROM tasks t
            JOIN roles r ON r.id = t.role_id
            LEFT JOIN task_takes tt ON tt.task_id = t.id
            LEFT JOIN takes k ON k.id = tt.take_id
            WHERE {' AND '.join(where)}
            GROUP BY ALL
            ORDER BY t.id
            """,
            params,
        )
        df.insert(7, "varies", [", ".join(sorted(_spec_or_none(s))) for s in df["spec"]])
        df.insert(8, "status", [
            task_status(*(int(v) for v in vals))
            for vals in zip(df.n_takes, df.n_pending, df.n_running, df.n_done, df.n_failed,
                            df.n_cancelled, strict=True)
        ])
        return df.drop(columns=["spec"])

    def counts(self, task: Task | int) -> TaskCounts:
        """Take counts by status.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], engine="fake")
            >>> ws.tasks.counts(t)
            TaskCounts(total=1, pending=1, running=0, done=0, failed=0, cancelled=0)
        """
        tid = _task_id(task)
        row = self._ws.store.one(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE k.status = 'pending'),
                   count(*) FILTER (WHERE k.status = 'running'),
                   count(*) FILTER (WHERE k.status = 'done'),
                   count(*) FILTER (WHERE k.status = 'failed'),
                   count(*) FILTER (WHERE k.status = 'cancelled')
            FROM task_takes tt JOIN takes k ON k.id = tt.take_id
            WHERE tt.task_id = ?
            """,
            [tid],
        )
        return TaskCounts(*(int(v or 0) for v in (row or (0,) * 6)))

    def combinations(self, task: Task | int) -> pd.DataFrame:
        """The task's combinations: index, label, models, aux, clips, seeds and parameters.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], vary={"speed_factor": [0.9, 1.1]},
            ...                     engine="fake")
            >>> t.combinations()[["combo", "label", "speed_factor"]].values.tolist()
            [[0, 'speed_factor=0.9', 0.9], [1, 'speed_factor=1.1', 1.1]]
        """
        t = task if isinstance(task, Task) else self.get(task)
        describe = self._describer(t.spec)
        rows = []
        for c in t.spec.combinations():
            p = c.params
            rows.append({
                "combo": c.index,
                "label": c.label(describe),
                "gpt_id": c.gpt,
                "sovits_id": c.sovits,
                "aux_ids": list(c.aux),
                "clip_ids": list(c.clips.ids),
                "seeds": list(c.seeds),
                **{n: getattr(p, n) for n in VARIABLE_PARAMS if n != "seed"},
            })
        return pd.DataFrame(rows)

    # -- plan --------------------------------------------------------------------------------

    def plan(self, task: Task | int) -> pd.DataFrame:
        """Materialise the task's takes (once) and return one row per take.

        Takes are keyed by a content hash (:func:`rasv.tasks.grid.take_id`): a take another task
        already made is linked, not made again. The plan is fixed when first made, so later
        edits of a clip do not silently change a task; edit the task to get a new version.

        Columns: ord, take_id, combo, label, clip_id, clip_name, text_id, text, text_lang,
        gpt_id, sovits_id, aux_ids, top_k, top_p, temperature, text_split_method,
        speed_factor, sample_steps, super_sampling, repetition_penalty, seed, status,
        attempts, error, audio_path, duration_s, engine.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi", "yo"], clips=[c], repeats=2, engine="fake")
            >>> p = t.plan()
            >>> len(p), p.status.unique().tolist(), p.take_id.is_unique
            (4, ['pending'], True)
        """
        t = task if isinstance(task, Task) else self.get(task)
        self.ensure_planned(t)
        return self._plan_df(t)

    def ensure_planned(self, task: Task | int) -> bool:
        """Materialise the task's takes unless that was done; True if done now.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], engine="fake")
            >>> ws.tasks.ensure_planned(t)   # create() planned it already
            False
        """
        t = task if isinstance(task, Task) else self.get(task)
        if self._planned(t.id):
            return False
        self._materialise(t, self._expand(t.spec, t.role_id, t.engine_kind))
        return True

    def _planned(self, task_id: int) -> bool:
        return bool(self._ws.store.scalar(
            "SELECT count(*) FROM task_takes WHERE task_id = ?", [task_id]))

    def _expand(self, spec: TaskSpec, role_id: int, kind: str) -> list[PlannedTake]:
        ids = _referenced(spec)
        clips = self._clip_infos(ids["clip"], role_id)
        models = self._model_infos(ids["model"])
        aux = self._aux_infos(ids["aux"])
        return expand(spec, kind, clips=clips, models=models, aux=aux)

    def _materialise(self, t: Task, takes: list[PlannedTake]) -> None:
        takes_df = pd.DataFrame({
            "id": [k.take_id for k in takes],
            "engine_kind": t.engine_kind,
            "clip_id": pd.array([k.clip_id for k in takes], dtype="Int64"),
            "clip_sha256": [k.clip_sha256 for k in takes],
            "gpt_id": pd.array([k.gpt_id for k in takes], dtype="Int64"),
            "sovits_id": pd.array([k.sovits_id for k in takes], dtype="Int64"),
            "gpt_sha256": pd.array([k.gpt_sha256 for k in takes], dtype="string"),
            "sovits_sha256": pd.array([k.sovits_sha256 for k in takes], dtype="string"),
            "aux_ids": [json.dumps(list(k.aux_ids)) for k in takes],
            "text_id": pd.array([k.text_id for k in takes], dtype="Int64"),
            "text": [k.text for k in takes],
            "text_lang": [k.text_lang for k in takes],
            "prompt_text": [k.prompt_text for k in takes],
            "prompt_lang": [k.prompt_lang for k in takes],
            "params": [json.dumps(k.params.canonical(), sort_keys=True) for k in takes],
            **{
                n: pd.array([getattr(k.params, n) for k in takes], dtype=dt)
                for n, dt in (("top_k", "Int64"), ("top_p", "Float64"),
                              ("temperature", "Float64"), ("text_split_method", "string"),
                              ("speed_factor", "Float64"), ("sample_steps", "Int64"),
                              ("super_sampling", "boolean"), ("repetition_penalty", "Float64"),
                              ("seed", "Int64"))
            },
            "extra": [json.dumps({"aux_sha256": list(k.aux_sha256s)}) for k in takes],
        })
        links_df = pd.DataFrame({
            "task_id": t.id,
            "take_id": takes_df["id"],
            "ord": [k.ord for k in takes],
            "clip_id": takes_df["clip_id"],
            "text_id": takes_df["text_id"],
            "combo": [k.combo for k in takes],
        })
        cols = ", ".join(takes_df.columns)
        with self._ws.store.transaction() as cur:
            # Another process may have planned the task meanwhile: the file lock serialises us,
            # so checking inside the transaction is enough.
            if cur.execute("SELECT count(*) FROM task_takes WHERE task_id = ?",
                           [t.id]).fetchall()[0][0]:
                return
            cur.register("_rasv_new_takes", takes_df)
            cur.register("_rasv_new_links", links_df)
            try:
                cur.execute(
                    f"INSERT INTO takes ({cols}) SELECT {cols} FROM _rasv_new_takes "
                    "ON CONFLICT DO NOTHING"
                )
                cur.execute(
                    "INSERT INTO task_takes (task_id, take_id, ord, clip_id, text_id, combo) "
                    "SELECT task_id, take_id, ord, clip_id, text_id, combo FROM _rasv_new_links"
                )
            finally:
                cur.unregister("_rasv_new_takes")
                cur.unregister("_rasv_new_links")

    def _plan_df(self, t: Task) -> pd.DataFrame:
        df = self._ws.store.df(
            """
            SELECT tt.ord, tt.take_id, tt.combo, tt.clip_id, c.name AS clip_name, tt.text_id,
                   k.text, k.text_lang, k.gpt_id, k.sovits_id, k.aux_ids, k.top_k, k.top_p,
                   k.temperature, k.text_split_method, k.speed_factor, k.sample_steps,
                   k.super_sampling, k.repetition_penalty, k.seed, k.status, k.attempts,
                   k.error, k.audio_path, k.duration_s, k.engine
            FROM task_takes tt
            JOIN takes k ON k.id = tt.take_id
            LEFT JOIN clips c ON c.id = tt.clip_id
            WHERE tt.task_id = ?
            ORDER BY tt.ord
            """,
            [t.id],
        )
        describe = self._describer(t.spec)
        labels = {c.index: c.label(describe) for c in t.spec.combinations()}
        df.insert(3, "label", df["combo"].map(labels))
        df["aux_ids"] = df["aux_ids"].map(json.loads)
        return df

    # -- edit and delete ---------------------------------------------------------------------

    def edit(self, task: Task | int, **changes: Any) -> Task:
        """Change a task. A task that already has takes gets a new version instead.

        ``name`` and ``conclusion`` are changed in place. Any other argument of
        :meth:`create` (texts, clips, vary …) changes what is compared: when the task has
        takes that are made, failed or running, a new task row is created with
        ``parent_id`` = this task and ``version`` + 1 (the old one is archived, its takes and
        scores stay); otherwise the task is rewritten and its plan dropped.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> t2 = ws.tasks.edit(t, vary={"top_k": [5, 15]})
            >>> (t2.version, t2.parent_id == t.id), ws.tasks.get(t.id).archived
            ((2, True), True)
            >>> t2.counts().done   # the top_k=15 take is the one v1 made: reused
            1
        """
        t = self.get(_task_id(task))  # fresh: the caller's record may predate a new version
        unknown = set(changes) - set(_EDITABLE) - {"name", "conclusion"}
        if unknown:
            raise InvalidInput(
                f"cannot edit {', '.join(sorted(unknown))}; editable: "
                f"name, conclusion, {', '.join(_EDITABLE)}"
            )
        meta = {k: changes.pop(k) for k in ("name", "conclusion") if k in changes}
        if "name" in meta:
            meta["name"] = _clean_name(meta["name"])
        if "conclusion" in meta:
            meta["conclusion"] = str(meta["conclusion"] or "")
        if not changes:
            if meta:
                sets = ", ".join(f"{k} = ?" for k in meta)
                with self._ws.store.transaction() as cur:
                    cur.execute(
                        f"UPDATE tasks SET {sets}, updated_at = current_timestamp WHERE id = ?",
                        [*meta.values(), t.id],
                    )
            return self.get(t.id)
        if t.archived:
            newest = self._ws.store.scalar(
                "SELECT max(id) FROM tasks WHERE parent_id = ?", [t.id])
            raise TaskError(
                f"task {t.id} ({t.label}) has a newer version (task {newest}); edit that one"
            )
        args = self._spec_args(t.spec)
        new_clips = "clips" in changes or "clip_categories" in changes
        if new_clips:
            args["clips"] = changes.pop("clips", None)
            args["clip_categories"] = changes.pop("clip_categories", None)
        if "seeds" in changes or "repeats" in changes:
            args["seeds"] = changes.pop("seeds", None)
            args["repeats"] = changes.pop("repeats", None)
            if args["seeds"] is not None or args["repeats"] is not None:
                args["fixed"] = Params.from_dict(
                    {**_params_of(changes.get("fixed", args["fixed"])).as_dict(), "seed": None})
        engine = changes.pop("engine", t.engine_kind)
        args.update(changes)
        try:
            spec = self._build_spec(t.role_id, engine=engine, **args)
        except (ClipNotFound, ModelNotFound, AuxClipNotFound) as e:
            kind = {ClipNotFound: "clip", ModelNotFound: "model", AuxClipNotFound: "aux"}[type(e)]
            if e.key not in _referenced(t.spec)[kind]:
                raise  # a new id the caller gave
            what = {"clip": "clips= or clip_categories=", "model": "gpt= and sovits=",
                    "aux": "aux="}[kind]
            raise TaskError(
                f"task {t.id} ({t.label}) uses {kind} {e.key}, which was deleted since; give "
                f"{what} (and vary/combos without it) to edit the task"
            ) from None
        if not new_clips:
            spec = spec.replace(clip_categories=t.spec.clip_categories)
        name = meta.get("name", t.name)
        conclusion = meta.get("conclusion", t.conclusion)
        self._check_not_running(t)
        takes = self._expand(spec, t.role_id, _kind(engine))
        with self._ws.store.transaction() as cur:
            worked = cur.execute(
                "SELECT count(*) FROM task_takes tt JOIN takes k ON k.id = tt.take_id "
                "WHERE tt.task_id = ? AND k.status <> 'pending'",
                [t.id],
            ).fetchall()[0][0]
            if worked:
                row = cur.execute(
                    "INSERT INTO tasks(role_id, name, version, parent_id, engine_kind, spec, "
                    f"conclusion) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {_TASK_COLS}",
                    [t.role_id, name, t.version + 1, t.id, _kind(engine), spec.to_json(),
                     conclusion],
                ).fetchall()
                cur.execute("UPDATE tasks SET archived = true, updated_at = current_timestamp "
                            "WHERE id = ?", [t.id])
                new = self._record(row[0])
                self._materialise(new, takes)
                return new
            self._drop_plan(cur, t.id)
            cur.execute(
                "UPDATE tasks SET name = ?, engine_kind = ?, spec = ?, conclusion = ?, "
                "updated_at = current_timestamp WHERE id = ?",
                [name, _kind(engine), spec.to_json(), conclusion, t.id],
            )
            rewritten = self._record(cur.execute(
                f"SELECT {_TASK_COLS} FROM tasks WHERE id = ?", [t.id]).fetchall()[0])
            self._materialise(rewritten, takes)
        return rewritten

    def delete(self, task: Task | int, force: bool = False) -> dict[str, int]:
        """Delete a task and the takes nothing else needs.

        A take stays when another task, a long-text run, a product or (without ``force``) a
        score still needs it.

        Returns ``{"takes_deleted": n, "takes_kept": m}``.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], engine="fake")
            >>> _ = t.plan()
            >>> ws.tasks.delete(t)
            {'takes_deleted': 1, 'takes_kept': 0}
        """
        from rasv.takes.orphans import drop_unused_takes

        t = task if isinstance(task, Task) else self.get(task)
        self._check_not_running(t)
        with self._ws.store.transaction() as cur:
            mine = [r[0] for r in cur.execute(
                "SELECT DISTINCT take_id FROM task_takes WHERE task_id = ?", [t.id]).fetchall()]
            if force:
                cur.execute("DELETE FROM votes WHERE task_id = ?", [t.id])
            cur.execute("DELETE FROM task_takes WHERE task_id = ?", [t.id])
            cur.execute("DELETE FROM tasks WHERE id = ?", [t.id])
            doomed = drop_unused_takes(self._ws, mine, keep_scored=not force)
        return {"takes_deleted": len(doomed), "takes_kept": len(mine) - len(doomed)}

    def reset(self, task: Task | int, *, failed: bool = True, running: bool = False) -> int:
        """Put a task's failed (and, if asked, running) takes back to pending.

        ``running=True`` also frees takes that a run on another machine, or a crashed run
        whose process id was reused, left ``running``; only use it when no run is live.
        Returns how many takes changed.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine(fail=lambda req: True))
            >>> t.counts().failed, ws.tasks.reset(t), t.counts().pending
            (1, 1, 1)
        """
        tid = _task_id(task)
        states = (["failed"] if failed else []) + (["running"] if running else [])
        if not states:
            return 0
        with self._ws.store.transaction() as cur:
            rows = cur.execute(
                "UPDATE takes SET status = 'pending', run_owner = NULL, error = NULL "
                "WHERE list_contains(?, status) AND id IN "
                "(SELECT take_id FROM task_takes WHERE task_id = ?) RETURNING id",
                [states, tid],
            ).fetchall()
        return len(rows)

    # -- run ---------------------------------------------------------------------------------

    def run(
        self,
        task: Task | int,
        engines: Engine | Sequence[Engine],
        background: bool = False,
        *,
        on_event: Callable[[RunEvent], None] | None = None,
        retries: int = 3,
        take_timeout: float | None = 600.0,
        backoff_s: float = 1.0,
        retry_failed: bool = False,
    ) -> Run:
        """Make the task's pending takes with one or more engines.

        Takes go in (GPT, SoVITS) pair order, then clip; each engine runs on its own thread
        (engines serialise their own requests), works through whole pairs and shares a pair
        with idle engines, so every server stays busy and each loads each pair at most once.
        Transient errors are retried ``retries`` times with exponential backoff from
        ``backoff_s``; other errors are recorded on the take. A take is ``done`` only once its
        WAV is written (atomically) and its row committed. Takes a killed run left behind are
        picked up again; audio a crashed run wrote but did not record is adopted.

        Args:
            task: the task (planned on the fly if needed).
            engines: an engine or a list of engines whose kind matches the task's.
            background: return at once and run on a background thread (notebooks).
            on_event: called with each :class:`rasv.runner.run.RunEvent` (from worker threads).
            retries: extra attempts for transient errors.
            take_timeout: seconds one request may take before it counts as a transient
                failure (None: no limit).
            backoff_s: first retry delay, doubled each attempt (capped at 30 s).
            retry_failed: also retry takes that failed in earlier runs.

        Returns:
            the :class:`rasv.runner.run.Run` (finished unless ``background``).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="ref")
            >>> t = ws.tasks.create(r, "x", ["hi"], clips=[c], repeats=3, engine="fake")
            >>> eng = FakeEngine()
            >>> ws.tasks.run(t, eng).progress.done, len(eng.calls)
            (3, 3)
            >>> ws.tasks.run(t, eng).progress.done, len(eng.calls)   # nothing left to make
            (0, 3)
        """
        from rasv.runner.run import start_run

        t = task if isinstance(task, Task) else self.get(task)
        return start_run(
            self._ws, t, engines, background=background, on_event=on_event, retries=retries,
            take_timeout=take_timeout, backoff_s=backoff_s, retry_failed=retry_failed,
        )

    # -- building and validating specs -------------------------------------------------------

    def _build_spec(
        self,
        role_id: int,
        *,
        engine: str,
        texts: Any,
        clips: Iterable[Any] | None,
        clip_categories: str | Iterable[str] | None,
        fixed: Params | Mapping[str, Any] | None,
        gpt: Any,
        sovits: Any,
        aux: Iterable[Any] | None,
        vary: Mapping[str, Iterable[Any]] | None,
        combos: Iterable[Mapping[str, Any]] | None,
        seeds: Iterable[int] | None,
        repeats: int | None,
        force: bool,
    ) -> TaskSpec:
        kind = _kind(engine)
        notes: list[str] = []
        text_refs = self._resolve_texts(texts)
        categories = _str_list(clip_categories, "clip_categories")
        clip_ids = self._resolve_clip_ids(clips, role_id) if clips is not None else ()
        for cat in categories:
            found, skipped = self._category_clips(role_id, cat, kind)
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
            vary_out[name] = tuple(self._resolve_value(name, v, role_id, kind, notes)
                                   for v in values)
        if combos is not None and not isinstance(combos, Iterable):
            raise InvalidInput("combos must be a list of dicts")
        combos_out = []
        for i, row in enumerate(combos if combos is not None else ()):
            if not isinstance(row, Mapping):
                raise InvalidInput(f"combos[{i}] must be a dict of name → value, got {row!r}")
            combos_out.append({n: self._resolve_value(n, v, role_id, kind, notes)
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
            fixed=_params_of(fixed),
            gpt=self._resolve_model(gpt, "gpt") if gpt is not None else None,
            sovits=self._resolve_model(sovits, "sovits") if sovits is not None else None,
            aux=self._resolve_aux(aux) if aux is not None else (),
            vary=vary_out,
            combos=tuple(combos_out),
            seeds=tuple(seeds) if seeds is not None else (),
            repeats=repeats,
            force=bool(force),
        )
        notes += self._validate(spec, kind, role_id, force=bool(force))
        for note in notes:
            warnings.warn(note, RasvWarning, stacklevel=3)
        return spec.replace(warnings=tuple(notes))

    def _validate(self, spec: TaskSpec, kind: str, role_id: int, *, force: bool) -> list[str]:
        """Refuse (or, forced, warn about) what would waste a run. Returns the warnings."""
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
        ids = _referenced(spec)
        clips = self._clip_infos(ids["clip"], role_id)
        models = self._model_infos(ids["model"])
        self._aux_infos(ids["aux"])
        if kind == GSV_KIND:
            self._validate_gsv(spec, combos, clips, models, refuse, notes)
        return notes

    @staticmethod
    def _validate_gsv(spec: TaskSpec, combos: list[Any], clips: dict[int, ClipInfo],
                      models: dict[int, ModelInfo], refuse: Callable[..., None],
                      notes: list[str]) -> None:
        """GPT-SoVITS: checkpoints, the 3-10 s rule, and what each model version honours."""
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

    # -- resolving references ----------------------------------------------------------------

    def _resolve_texts(self, texts: Any) -> tuple[TextRef, ...]:
        if texts is None:
            raise EmptyGrid("the task has no texts; give at least one")
        if isinstance(texts, (str, TextRef, Mapping)) or (
            isinstance(texts, tuple) and _is_pair(texts) and _is_lang(texts[1])
        ):
            texts = [texts]  # one text; a list is always a list of texts
        items = list(texts)
        if not items:
            raise EmptyGrid("the task has no texts; give at least one")
        ids = [int(x) for x in items if _is_int(x)]
        lib = {}
        if ids:
            for tid, content, lang in self._ws.store.rows(
                "SELECT id, content, lang FROM texts WHERE list_contains(?, id)", [ids]
            ):
                lib[tid] = (content, lang)
        out = []
        for x in items:
            if isinstance(x, TextRef):
                out.append(x)
            elif _is_int(x):
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
                out.extend(self._resolve_texts([int(x["id"])]))
            else:
                raise InvalidInput(
                    f"a text is a text-library id, a (text, lang) pair or a string, not {x!r}"
                )
        return tuple(out)

    def _resolve_clip_ids(self, clips: Any, role_id: int) -> tuple[int, ...]:
        if _is_int(clips) or hasattr(clips, "sha256"):
            clips = [clips]
        if isinstance(clips, str):
            raise InvalidInput(
                f"clips takes clip ids; for a category use clip_categories=[{clips!r}]"
            )
        ids = []
        for c in clips:
            if _is_int(c):
                ids.append(int(c))
            elif hasattr(c, "id") and hasattr(c, "sha256"):
                ids.append(int(c.id))
            else:
                raise InvalidInput(f"a clip is a clip id or a Clip record, not {c!r}")
        found = {r[0]: r[1] for r in self._ws.store.rows(
            "SELECT id, role_id FROM clips WHERE list_contains(?, id)", [ids])}
        for i in ids:
            if i not in found:
                raise ClipNotFound(i)
            if found[i] != role_id:
                raise InvalidInput(f"clip {i} belongs to another role")
        return tuple(ids)

    def _category_clips(self, role_id: int, category: str, kind: str) -> tuple[list[int], int]:
        rows = self._ws.store.rows(
            "SELECT id, duration_s FROM clips WHERE role_id = ? AND category = ? ORDER BY id",
            [role_id, category],
        )
        if kind != GSV_KIND:
            return [r[0] for r in rows], 0
        ok = [r[0] for r in rows if reference_in_range(r[1])]
        return ok, len(rows) - len(ok)

    def _resolve_value(self, name: str, value: Any, role_id: int, kind: str,
                       notes: list[str]) -> Any:
        if name == "clip":
            if isinstance(value, ClipGroup):
                return value
            if isinstance(value, str):
                found, skipped = self._category_clips(role_id, value, kind)
                if skipped:
                    notes.append(f"category {value!r}: {skipped} clip(s) outside "
                                 f"{REF_MIN_S:g}–{REF_MAX_S:g} s left out")
                if not found:
                    raise EmptyGrid(f"category {value!r} of this role has no usable clips")
                return ClipGroup(tuple(found), value)
            if isinstance(value, Mapping) and "category" in value:
                return self._resolve_value("clip", str(value["category"]), role_id, kind, notes)
            if isinstance(value, Mapping) and "ids" in value:
                return ClipGroup(self._resolve_clip_ids(value["ids"], role_id), value.get("label"))
            return ClipGroup(self._resolve_clip_ids(value, role_id))
        if name in ("gpt", "sovits"):
            return self._resolve_model(value, name)
        if name == "aux":
            return self._resolve_aux(value)
        return value

    def _resolve_model(self, ref: Any, kind: str) -> int:
        if not (is_id(ref) or isinstance(ref, (str, os.PathLike, Model))):
            raise InvalidInput(f"a {kind} model is a model id, a Model or a path, not {ref!r}")
        try:
            model = self._ws.models.get(ref)
        except ModelNotFound:
            if isinstance(ref, (str, os.PathLike)):
                raise ModelNotFound(ref, "register it first with ws.models.add(path)") from None
            raise
        if model.kind != kind:
            raise InvalidInput(f"model {model.id} is a {model.kind} checkpoint, not a {kind} one")
        return model.id

    def _resolve_aux(self, refs: Any) -> tuple[int, ...]:
        if isinstance(refs, (str, bytes)) or not isinstance(refs, Iterable):
            raise InvalidInput(f"an aux set is a list of aux clip ids, got {refs!r}")
        ids = []
        for a in refs:
            if _is_int(a):
                ids.append(int(a))
            elif hasattr(a, "id") and hasattr(a, "source_role"):
                ids.append(int(a.id))  # an AuxClip record
            else:
                raise InvalidInput(f"an aux clip is an aux id or an AuxClip record, not {a!r}")
        found = {r[0] for r in self._ws.store.rows(
            "SELECT id FROM aux_clips WHERE list_contains(?, id)", [ids])}
        for i in ids:
            if i not in found:
                raise AuxClipNotFound(i)
        return tuple(sorted(set(ids)))

    # -- lookups -----------------------------------------------------------------------------

    def _clip_infos(self, ids: Iterable[int], role_id: int | None = None) -> dict[int, ClipInfo]:
        ids = sorted(set(ids))
        out = {}
        for cid, rid, name, sha, text, lang, dur in self._ws.store.rows(
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

    def _model_infos(self, ids: Iterable[int]) -> dict[int, ModelInfo]:
        ids = sorted(set(ids))
        out = {r[0]: ModelInfo(r[0], r[1], r[2], r[3], r[4]) for r in self._ws.store.rows(
            "SELECT id, kind, sha256, version, name FROM models WHERE list_contains(?, id)", [ids])}
        for i in ids:
            if i not in out:
                raise ModelNotFound(i)
        return out

    def _aux_infos(self, ids: Iterable[int]) -> dict[int, AuxInfo]:
        ids = sorted(set(ids))
        out = {r[0]: AuxInfo(r[0], r[1], r[2]) for r in self._ws.store.rows(
            "SELECT id, sha256, name FROM aux_clips WHERE list_contains(?, id)", [ids])}
        for i in ids:
            if i not in out:
                raise AuxClipNotFound(i)
        return out

    def _describer(self, spec: TaskSpec) -> Callable[[str, Any], str | None]:
        names = {m: self._ws.models.get(m).label for m in _referenced(spec)["model"]}

        def describe(name: str, value: Any) -> str | None:
            if name in ("gpt", "sovits"):
                return names.get(value, str(value))
            return None

        return describe

    # -- helpers -----------------------------------------------------------------------------

    def _record(self, row: tuple) -> Task:
        (tid, role_id, name, version, parent_id, kind, spec, conclusion, archived, created,
         updated) = row
        return Task(
            id=tid, role_id=role_id, name=name, version=version, parent_id=parent_id,
            engine_kind=kind, spec=TaskSpec.from_json(spec), conclusion=conclusion,
            archived=bool(archived), created_at=created, updated_at=updated,
            workspace=self._ws,
        )

    def _spec_args(self, spec: TaskSpec) -> dict[str, Any]:
        """The create() arguments that rebuild ``spec`` (ids, so nothing is re-resolved)."""
        return {
            "texts": list(spec.texts),
            "clips": list(spec.clips),  # the snapshot, not the categories resolved again
            "clip_categories": None,
            "fixed": spec.fixed,
            "gpt": spec.gpt,
            "sovits": spec.sovits,
            "aux": list(spec.aux),
            "vary": {n: list(v) for n, v in spec.vary.items()},
            "combos": [dict(r) for r in spec.combos] or None,
            "seeds": list(spec.seeds) or None,
            "repeats": spec.repeats,
            "force": spec.force,
        }

    def _check_not_running(self, t: Task) -> None:
        from rasv.runner.run import live_owners

        owners = [r[0] for r in self._ws.store.rows(
            "SELECT DISTINCT k.run_owner FROM task_takes tt JOIN takes k ON k.id = tt.take_id "
            "WHERE tt.task_id = ? AND k.status = 'running'", [t.id])]
        if live_owners(owners):
            raise TaskBusy(f"task {t.id} ({t.label}) is being run; cancel the run first")

    def _drop_plan(self, cur: Any, task_id: int) -> None:
        from rasv.takes.orphans import drop_unused_takes

        mine = [r[0] for r in cur.execute(
            "SELECT DISTINCT take_id FROM task_takes WHERE task_id = ?", [task_id]).fetchall()]
        cur.execute("DELETE FROM task_takes WHERE task_id = ?", [task_id])
        drop_unused_takes(self._ws, mine, keep_scored=True)


# --- module helpers ---------------------------------------------------------------------------


def _referenced(spec: TaskSpec) -> dict[str, set[int]]:
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


def _params_of(fixed: Params | Mapping[str, Any] | None) -> Params:
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


def _spec_or_none(text: str) -> set[str]:
    try:
        return TaskSpec.from_json(text).varied_names()
    except Exception:  # an unreadable spec must not break the task list
        return set()


def _clean_name(name: Any) -> str:
    text = str(name or "").strip()
    if not text:
        raise InvalidInput("a task needs a name")
    return text


def _kind(engine: Any) -> str:
    if not isinstance(engine, str) or not engine.strip():
        raise InvalidInput(
            f"engine is the engine kind the task is for ('{GSV_KIND}', 'espeak' …), "
            f"not {engine!r}; engines themselves are given to ws.tasks.run"
        )
    return engine.strip().lower()


def _task_id(ref: Task | int) -> int:
    if isinstance(ref, Task):
        return ref.id
    if _is_int(ref):
        return int(ref)
    raise InvalidInput(f"a task is a Task or a task id, not {ref!r}")


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


def _notes_has(notes: list[str], word: str) -> bool:
    """True when one of ``notes`` mentions ``word`` (avoids saying the same thing twice)."""
    return any(word in n for n in notes)


__all__ = ["DIMENSIONS", "TAKE_STATUSES", "Task", "TaskCounts", "TaskPreview", "Tasks",
           "task_status"]
