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

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.errors import (
    AuxClipNotFound,
    ClipNotFound,
    InvalidInput,
    ModelNotFound,
    RasvWarning,
    TaskBusy,
    TaskError,
    TaskNotFound,
)
from rasv.params import VARIABLE_PARAMS, Params
from rasv.tasks.checks import validate
from rasv.tasks.grid import DIMENSIONS, GSV_KIND, PlannedTake, TaskSpec
from rasv.tasks.plan import materialise, plan_frame, plan_takes
from rasv.tasks.records import (
    TAKE_STATUSES,
    Task,
    TaskArgs,
    TaskCounts,
    TaskPreview,
    task_status,
)
from rasv.tasks.resolve import (
    clean_name,
    find_task_id,
    params_of,
    referenced,
    resolve_spec,
    task_id_of,
    task_kind,
)

if TYPE_CHECKING:
    from rasv.engine import Engine
    from rasv.runner import Run, RunEvent
    from rasv.workspace import Workspace

_TASK_COLS = (
    "id, role_id, name, version, parent_id, engine_kind, spec, conclusion, archived, "
    "created_at, updated_at"
)


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
        # The keywords above are for IDE help; TaskArgs is the list everything else reads.
        args = TaskArgs.from_kwargs(locals(), strict=False)
        name = clean_name(name)
        # One attach for the dozen lookups validation makes (shared mode attaches per operation).
        with self._ws.store.session():
            role_id = self._ws.roles.resolve_id(role)
            spec = self._build_spec(role_id, args)
            takes = plan_takes(self._ws, spec, role_id, task_kind(engine))
            with self._ws.store.transaction() as cur:
                row = cur.execute(
                    "INSERT INTO tasks(role_id, name, engine_kind, spec, conclusion) "
                    f"VALUES (?, ?, ?, ?, ?) RETURNING {_TASK_COLS}",
                    [role_id, name, task_kind(engine), spec.to_json(), str(conclusion or "")],
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
        args = TaskArgs.from_kwargs(locals(), strict=False)
        with self._ws.store.session():
            role_id = self._ws.roles.resolve_id(role)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RasvWarning)  # they are in spec.warnings
                spec = self._build_spec(role_id, args)
        return TaskPreview(size=spec.size(), warnings=tuple(spec.warnings), spec=spec)

    # -- read --------------------------------------------------------------------------------

    def get(self, ref: Task | int) -> Task:
        """A task by id (or a fresh copy of a task record).

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().tasks.get, 7)
            'TaskNotFound: task 7 does not exist in this workspace'
        """
        tid = task_id_of(ref)
        return self._record(self._ws.store.one_or_raise(
            f"SELECT {_TASK_COLS} FROM tasks WHERE id = ?", [tid], TaskNotFound(tid)))

    def resolve(self, ref: Task | int | str) -> Task:
        """The task a reference means: a Task, an id (also numpy, or as text) or a name.

        A name means the only current (not archived) version with that name. Every
        namespace and the CLI resolve task references through this one rule.

        Raises:
            TaskNotFound: no such task, or several current tasks share the name.
            InvalidInput: ``ref`` is none of these (``True``, ``3.7`` …).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", name="k sweep", texts=["hi"], run=False); ws = ex.ws
            >>> ws.tasks.resolve("k sweep").id, ws.tasks.resolve("1").label
            (1, 'k sweep (v1)')
        """
        return self.get(find_task_id(self._ws, ref))

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
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", texts=["hi"], run=False); ws, t = ex.ws, ex.task
            >>> ws.tasks.counts(t)
            TaskCounts(total=1, pending=1, running=0, done=0, failed=0, cancelled=0)
        """
        tid = task_id_of(task)
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
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", texts=["hi"], vary={"speed_factor": [0.9, 1.1]}, run=False)
            >>> ws, t = ex.ws, ex.task
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
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", texts=["hi", "yo"], repeats=2, run=False)
            >>> ws, t = ex.ws, ex.task
            >>> p = t.plan()
            >>> len(p), p.status.unique().tolist(), p.take_id.is_unique
            (4, ['pending'], True)
        """
        t = task if isinstance(task, Task) else self.get(task)
        self.ensure_planned(t)
        return plan_frame(self._ws, t, self._describer(t.spec))

    def ensure_planned(self, task: Task | int) -> bool:
        """Materialise the task's takes unless that was done; True if done now.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", texts=["hi"], run=False); ws, t = ex.ws, ex.task
            >>> ws.tasks.ensure_planned(t)   # create() planned it already
            False
        """
        t = task if isinstance(task, Task) else self.get(task)
        if self._planned(t.id):
            return False
        self._materialise(t, plan_takes(self._ws, t.spec, t.role_id, t.engine_kind))
        return True

    def _planned(self, task_id: int) -> bool:
        return bool(self._ws.store.scalar(
            "SELECT count(*) FROM task_takes WHERE task_id = ?", [task_id]))

    def _materialise(self, t: Task, takes: list[PlannedTake]) -> None:
        materialise(self._ws, t, takes)

    # -- edit and delete ---------------------------------------------------------------------

    def edit(self, task: Task | int, **changes: Any) -> Task:
        """Change a task. A task that already has takes gets a new version instead.

        ``name`` and ``conclusion`` are changed in place. Any other argument of
        :meth:`create` (texts, clips, vary …) changes what is compared: when the task has
        takes that are made, failed or running, a new task row is created with
        ``parent_id`` = this task and ``version`` + 1 (the old one is archived, its takes and
        scores stay); otherwise the task is rewritten and its plan dropped.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", texts=["hi"]); ws, t = ex.ws, ex.task
            >>> t2 = ws.tasks.edit(t, vary={"top_k": [5, 15]})
            >>> (t2.version, t2.parent_id == t.id), ws.tasks.get(t.id).archived
            ((2, True), True)
            >>> t2.counts().done   # the top_k=15 take is the one v1 made: reused
            1
        """
        t = self.get(task_id_of(task))  # fresh: the caller's record may predate a new version
        unknown = set(changes) - set(TaskArgs.names()) - {"name", "conclusion"}
        if unknown:
            raise InvalidInput(
                f"cannot edit {', '.join(sorted(unknown))}; editable: "
                f"name, conclusion, {', '.join(TaskArgs.names())}"
            )
        meta = {k: changes.pop(k) for k in ("name", "conclusion") if k in changes}
        if "name" in meta:
            meta["name"] = clean_name(meta["name"])
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
        args = TaskArgs.from_spec(t.spec, t.engine_kind)
        new_clips = "clips" in changes or "clip_categories" in changes
        if new_clips:  # new clips replace both the snapshot and the categories
            changes.setdefault("clips", None)
            changes.setdefault("clip_categories", None)
        if "seeds" in changes or "repeats" in changes:
            changes.setdefault("seeds", None)
            changes.setdefault("repeats", None)
            if changes["seeds"] is not None or changes["repeats"] is not None:
                changes["fixed"] = Params.from_dict(
                    {**params_of(changes.get("fixed", args.fixed)).as_dict(), "seed": None})
        args = args.replace(**changes)
        engine = args.engine
        try:
            spec = self._build_spec(t.role_id, args)
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
        takes = plan_takes(self._ws, spec, t.role_id, task_kind(engine))
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
                    [t.role_id, name, t.version + 1, t.id, task_kind(engine), spec.to_json(),
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
                [name, task_kind(engine), spec.to_json(), conclusion, t.id],
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
            >>> from rasv.testing import example
            >>> ex = example(transcript="ref", texts=["hi"], run=False); ws, t = ex.ws, ex.task
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
            >>> from rasv.testing import FakeEngine, example
            >>> ex = example(transcript="ref", texts=["hi"], run=False); ws, t = ex.ws, ex.task
            >>> _ = ws.tasks.run(t, FakeEngine(fail=lambda req: True))
            >>> t.counts().failed, ws.tasks.reset(t), t.counts().pending
            (1, 1, 1)
        """
        tid = task_id_of(task)
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
            engines: an engine or a list of engines whose kind matches the task's; a
                running ``gsv_bridge.GsvServer`` or ``ServerPool`` stands for its engines.
            background: return at once and run on a background thread (notebooks).
            on_event: called with each :class:`rasv.runner.RunEvent` (from worker threads).
            retries: extra attempts for transient errors.
            take_timeout: seconds one request may take before it counts as a transient
                failure (None: no limit).
            backoff_s: first retry delay, doubled each attempt (capped at 30 s).
            retry_failed: also retry takes that failed in earlier runs.

        Returns:
            the :class:`rasv.runner.run.Run` (finished unless ``background``).

        Example:
            >>> from rasv.testing import FakeEngine, example
            >>> ex = example(transcript="ref", texts=["hi"], repeats=3, run=False)
            >>> ws, t = ex.ws, ex.task
            >>> eng = FakeEngine()
            >>> ws.tasks.run(t, eng).progress.done, len(eng.calls)
            (3, 3)
            >>> ws.tasks.run(t, eng).progress.done, len(eng.calls)   # nothing left to make
            (0, 3)
        """
        from rasv.runner.run import RunOptions, start_run

        options = RunOptions(retries, take_timeout, backoff_s, retry_failed)
        t = task if isinstance(task, Task) else self.get(task)
        return start_run(self._ws, t, engines, background=background, on_event=on_event,
                         options=options)

    # -- building and validating specs -------------------------------------------------------

    def _build_spec(self, role_id: int, args: TaskArgs) -> TaskSpec:
        """Resolve and validate ``args``; warn (and record in ``spec.warnings``) what is odd."""
        spec, notes = resolve_spec(self._ws, role_id, args)
        notes += validate(self._ws, spec, task_kind(args.engine), role_id, force=bool(args.force))
        for note in notes:
            warnings.warn(note, RasvWarning, stacklevel=3)
        return spec.replace(warnings=tuple(notes))

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

    def _check_not_running(self, t: Task) -> None:
        from rasv.runner import live_owners

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
    """Every clip, model and aux id a spec mentions (:func:`rasv.tasks.resolve.referenced`)."""
    return referenced(spec)


def _spec_or_none(text: str) -> set[str]:
    try:
        return TaskSpec.from_json(text).varied_names()
    except Exception:  # an unreadable spec must not break the task list
        return set()


__all__ = ["DIMENSIONS", "TAKE_STATUSES", "Task", "TaskCounts", "TaskPreview", "Tasks",
           "task_status"]
