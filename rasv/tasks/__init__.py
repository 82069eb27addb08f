"""Comparison tasks (``ws.tasks``): what to compare, expanded into takes with content-hash ids.

Modules, leaves first: ``grid`` (pure: a task's spec, its cartesian expansion, take ids) ←
``records`` (:class:`Task`, :class:`TaskArgs`: the one list of what ``create`` takes) ←
``resolve`` (task references; texts, clips, models and aux clips against the workspace) ←
``checks`` (the GPT-SoVITS checks that refuse a wasteful task) ← ``namespace``
(:class:`Tasks`). Running is :mod:`rasv.runner`.

Example:
    >>> from rasv.tasks import DIMENSIONS
    >>> "top_k" in DIMENSIONS
    True
"""

from __future__ import annotations

from rasv.tasks import grid
from rasv.tasks.grid import DEFAULT_SEED, DIMENSIONS, GSV_KIND, TaskSpec, take_id
from rasv.tasks.namespace import Tasks
from rasv.tasks.records import Task, TaskArgs

__all__ = [
    "DEFAULT_SEED",
    "DIMENSIONS",
    "GSV_KIND",
    "Task",
    "TaskArgs",
    "TaskSpec",
    "Tasks",
    "grid",
    "take_id",
]
