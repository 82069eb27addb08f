"""Takes (``ws.takes``): the synthesised results of tasks, listed, grouped and drawn for review.

Modules, leaves first: ``table`` (pure functions over DataFrames: parameter labels, duration
statistics, filters, nesting and sorting, export) ← ``namespace`` (:class:`Takes`, the
:class:`Take` record, take references). ``orphans`` (:func:`drop_unused_takes`: deleting
takes nothing uses, with their scores, metrics, votes, files and visuals) stands beside them;
every delete path (clips, roles, tasks, long-text runs, products) calls it.

Example:
    >>> from rasv.takes import GROUP_KEYS
    >>> "clip" in GROUP_KEYS
    True
"""

from __future__ import annotations

from rasv.takes.namespace import (
    GROUP_KEYS,
    Take,
    Takes,
    model_labels,
    task_id_of,
    write_table,
)
from rasv.takes.orphans import drop_unused_takes

__all__ = [
    "GROUP_KEYS",
    "Take",
    "Takes",
    "drop_unused_takes",
    "model_labels",
    "task_id_of",
    "write_table",
]
