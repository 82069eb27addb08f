"""The runner: make a task's pending takes with one or more engines, resumably.

``run`` holds scheduling, the per-take caller, orchestration and persistence;
:meth:`rasv.tasks.Tasks.run` is the way in.

Example:
    >>> from rasv.runner import Run
    >>> Run.__name__
    'Run'
"""

from __future__ import annotations

from rasv.runner.run import Run, RunEvent, live_owners, start_run

__all__ = [
    "Run",
    "RunEvent",
    "live_owners",
    "start_run",
]
