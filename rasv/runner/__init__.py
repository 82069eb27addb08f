"""The runner: make a task's pending takes with one or more engines, resumably.

:meth:`rasv.tasks.Tasks.run` is the way in. How the modules depend on each other (an arrow
reads "imports"; the lower ones know nothing of threads or of the database)::

    run ─┬─► worker ──┬─► caller
         │            └─► scheduler
         ├─► persist ─┬─► liveness
         │            └─► scheduler
         ├─► events ────► scheduler
         └─► liveness

- ``scheduler``: pure decisions. Which engine makes which take (whole (GPT, SoVITS) pairs
  per engine, pair then clip order, joining a pair when it pays, requeueing), retry and
  backoff rules. No SQL, no threads, no engines; property-tested.
- ``caller``: calling an engine with a per-take timeout; reading its failures.
- ``liveness``: the owner (``host:pid:run``) on claimed takes, and whether it still lives.
- ``persist``: the SQL and files: claim and adopt takes, write WAVs, commit, release.
- ``events``: :class:`Progress` and :class:`RunEvent`, what a run reports.
- ``worker``: one engine's thread: takes from the scheduler, loads, makes, retries.
- ``run``: orchestration: starting the workers, the saver, events, cancel, background.

Example:
    >>> from rasv.runner import Run
    >>> Run.__name__
    'Run'
"""

from __future__ import annotations

from rasv.runner.events import EVENT_KINDS, Progress, RunEvent
from rasv.runner.liveness import live_owners, owner_alive
from rasv.runner.run import Run, RunOptions, start_run

__all__ = [
    "EVENT_KINDS",
    "Progress",
    "Run",
    "RunEvent",
    "RunOptions",
    "live_owners",
    "owner_alive",
    "start_run",
]
