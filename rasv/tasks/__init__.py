"""Comparison tasks (``ws.tasks``): what to compare, expanded into takes with content-hash ids.

Modules, leaves first: ``grid`` (pure: a task's spec, its cartesian expansion, take ids) ←
``namespace`` (:class:`Tasks` and the :class:`Task` record). Running is :mod:`rasv.runner`.

Example:
    >>> from rasv.tasks import DIMENSIONS
    >>> "top_k" in DIMENSIONS
    True
"""

from __future__ import annotations

from rasv.tasks import grid
from rasv.tasks.grid import DEFAULT_SEED, DIMENSIONS, GSV_KIND, TaskSpec, take_id
from rasv.tasks.namespace import Task, Tasks

__all__ = [
    "DEFAULT_SEED",
    "DIMENSIONS",
    "GSV_KIND",
    "Task",
    "TaskSpec",
    "Tasks",
    "grid",
    "take_id",
]
