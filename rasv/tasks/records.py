"""The records of comparison tasks: :class:`Task`, its take counts, a preview, and
:class:`TaskArgs`, the one list of what ``ws.tasks.create`` takes.

Example:
    >>> TaskArgs(texts=["你好。"], vary={"top_k": [5, 15]}).engine
    'gpt-sovits'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.errors import InvalidInput, TaskError
from rasv.params import Params
from rasv.tasks.grid import GSV_KIND, TaskSpec

if TYPE_CHECKING:
    from rasv.engine import Engine
    from rasv.runner.run import Run
    from rasv.tasks.namespace import Tasks
    from rasv.workspace import Workspace

#: Take statuses, in lifecycle order.
TAKE_STATUSES: tuple[str, ...] = ("pending", "running", "done", "failed", "cancelled")


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
        >>> from rasv.tasks.grid import TextRef
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
            >>> from rasv.testing import example
            >>> ex = example(repeats=2, run=False); ws, task = ex.ws, ex.task
            >>> task.plan()[["label", "seed", "status"]].shape
            (2, 3)
        """
        return self._tasks().plan(self)

    def counts(self) -> TaskCounts:
        """Take counts by status and the task status; see :meth:`Tasks.counts`.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(repeats=2, run=False); ws, task = ex.ws, ex.task
            >>> task.counts().status, task.counts().pending
            ('pending', 2)
        """
        return self._tasks().counts(self)

    def combinations(self) -> pd.DataFrame:
        """The task's combinations; see :meth:`Tasks.combinations`.

        Example:
            >>> import rasv
            >>> from rasv.testing import example
            >>> ex = example(repeats=2, run=False); ws, task = ex.ws, ex.task
            >>> task.combinations().seeds.tolist() == [list(rasv.tasks.grid.derive_seeds(2))]
            True
        """
        return self._tasks().combinations(self)

    def run(self, engines: Engine | Sequence[Engine], **kwargs: Any) -> Run:
        """Run the task's pending takes; see :meth:`Tasks.run`.

        Example:
            >>> from rasv.testing import FakeEngine, example
            >>> ex = example(repeats=2, run=False); ws, task = ex.ws, ex.task
            >>> task.run(FakeEngine()).progress.done
            2
        """
        return self._tasks().run(self, engines, **kwargs)


@dataclass(frozen=True)
class TaskArgs:
    """What a task compares: the arguments of :meth:`Tasks.create` but role, name, conclusion.

    They are documented there. ``create``, ``preview``, ``edit`` and ``rasv task create``
    all read this one list, so a new argument is one field here (and, for IDE help, one
    keyword on ``create``/``preview``).

    Example:
        >>> a = TaskArgs(texts=["hi"], repeats=2)
        >>> a.replace(repeats=3).repeats, "vary" in TaskArgs.names()
        (3, True)
    """

    texts: Any = None
    clips: Iterable[Any] | None = None
    clip_categories: str | Iterable[str] | None = None
    fixed: Params | Mapping[str, Any] | None = None
    gpt: Any = None
    sovits: Any = None
    aux: Iterable[Any] | None = None
    vary: Mapping[str, Iterable[Any]] | None = None
    combos: Iterable[Mapping[str, Any]] | None = None
    seeds: Iterable[int] | None = None
    repeats: int | None = None
    engine: str = GSV_KIND
    force: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The argument names, in order.

        Example:
            >>> TaskArgs.names()[:3]
            ('texts', 'clips', 'clip_categories')
        """
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_kwargs(cls, values: Mapping[str, Any], *, strict: bool = True) -> TaskArgs:
        """The arguments named in ``values``; other keys are refused (skipped if not ``strict``).

        Example:
            >>> TaskArgs.from_kwargs({"texts": ["hi"], "self": None}, strict=False).texts
            ['hi']
        """
        known = cls.names()
        unknown = sorted(str(k) for k in values if k not in known)
        if unknown and strict:
            raise InvalidInput(f"unknown task argument(s) {', '.join(unknown)}; "
                               f"a task takes {', '.join(known)}")
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_spec(cls, spec: TaskSpec, engine: str) -> TaskArgs:
        """The arguments that rebuild ``spec`` (ids, so nothing is resolved differently).

        Example:
            >>> from rasv.tasks.grid import TextRef
            >>> TaskArgs.from_spec(TaskSpec(texts=(TextRef("a", "en"),), repeats=2), "fake").repeats
            2
        """
        return cls(
            texts=list(spec.texts),
            clips=list(spec.clips),  # the snapshot, not the categories resolved again
            clip_categories=None,
            fixed=spec.fixed,
            gpt=spec.gpt,
            sovits=spec.sovits,
            aux=list(spec.aux),
            vary={n: list(v) for n, v in spec.vary.items()},
            combos=[dict(r) for r in spec.combos] or None,
            seeds=list(spec.seeds) or None,
            repeats=spec.repeats,
            engine=engine,
            force=spec.force,
        )

    def replace(self, **changes: Any) -> TaskArgs:
        """A copy with some arguments changed (unknown names are refused).

        Example:
            >>> TaskArgs(texts=["hi"]).replace(force=True).force
            True
        """
        TaskArgs.from_kwargs(changes)  # refuses unknown names with a clear message
        return replace(self, **changes)


__all__ = ["TAKE_STATUSES", "Task", "TaskArgs", "TaskCounts", "TaskPreview", "task_status"]
