"""A small made-up workspace for the runnable examples in docstrings.

Most examples of the review, scoring, long-text and product APIs need the same few steps
first: a workspace, a role, a clip or two, a task made by :class:`FakeEngine`. One call here
does them, so every example stays short and still runs on its own
(``tests/test_docs.py`` enforces that each public method has one).

Example:
    >>> from rasv.testing import example
    >>> ex = example(clips=2)
    >>> len(ex.takes), ex.ws.takes.get(ex.take).status
    (2, 'done')
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rasv.errors import RasvError
from rasv.testing.clips import make_clip
from rasv.testing.fake_engine import FakeEngine
from rasv.workspace import Workspace, open

if TYPE_CHECKING:
    from rasv.records import Role
    from rasv.tasks import Task


@dataclass(frozen=True)
class Example:
    """What :func:`example` made: the workspace and the ids an example goes on with."""

    ws: Workspace
    role: Role
    clips: tuple[int, ...]
    task: Task | None
    engine: FakeEngine
    takes: tuple[str, ...]

    @property
    def clip(self) -> int:
        """The first clip."""
        return self.clips[0]

    @property
    def take(self) -> str:
        """The first take in plan order."""
        return self.takes[0]


def example(clips: int = 1, *, texts: Sequence[str] = ("你好。",),
            seeds: Sequence[int] | None = None, run: bool = True, name: str = "x",
            transcript: str = "参考。", category: str | None = None, repeats: int | None = None,
            vary: Mapping[str, Iterable[object]] | None = None) -> Example:
    """A fresh workspace with role ``a``, ``clips`` clips (4 s, 5 s …) and a fake-engine task.

    Args:
        clips: how many clips (each 4 + i seconds, transcript ``参考。``).
        texts: the task's texts; no task at all when empty.
        seeds: the task's seeds (None: the task's default).
        run: make the takes (with :class:`FakeEngine`), or only plan them.
        name: the task's name.
        transcript, category: each clip's transcript and category (None: the default one).
        repeats, vary: passed on to :meth:`Tasks.create`.

    Example:
        >>> ex = example(run=False)
        >>> ex.ws.takes.get(ex.take).status
        'pending'
    """
    ws = workspace()
    role = ws.roles.create("a")
    ids = tuple(
        ws.clips.add(role, make_clip(ws.root / f"{i}.wav", 4 + i, seed=i), text=transcript,
                     category=category)
        for i in range(clips)
    )
    engine = FakeEngine()
    if not texts or not ids:
        return Example(ws, role, ids, None, engine, ())
    task = ws.tasks.create(role, name, list(texts), clips=list(ids), engine="fake",
                           seeds=None if seeds is None else list(seeds), repeats=repeats,
                           vary=vary)
    if run:
        ws.tasks.run(task, engine)
    takes = tuple(ws.takes.df(task, sort="plan").id)
    return Example(ws, role, ids, task, engine, takes)


def workspace() -> Workspace:
    """A fresh, empty workspace in a temporary folder, for examples that need no data.

    Example:
        >>> len(workspace().roles.list())
        0
    """
    return open(tempfile.mkdtemp(prefix="rasv-example-"))


def raises(fn: Callable[..., object], *args: object, **kwargs: object) -> str:
    """``"ErrorName: message"`` of the :class:`~rasv.RasvError` that ``fn(*args, **kwargs)`` raises.

    An example shows a refusal in one call instead of a four-line ``try``/``except``; any
    other outcome (no error, an error outside rasv's hierarchy) propagates, so a doctest
    using it still fails when the refusal goes away or changes class.

    Example:
        >>> raises(workspace().clips.get, 7)
        'ClipNotFound: clip 7 does not exist in this workspace'
    """
    try:
        fn(*args, **kwargs)
    except RasvError as e:
        return f"{type(e).__name__}: {e}"
    raise AssertionError(f"{getattr(fn, '__qualname__', fn)} raised nothing")


__all__ = ["Example", "example", "raises", "workspace"]
