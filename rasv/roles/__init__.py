"""Roles: the voices a workspace tunes (``ws.roles``), named ``category-name``.

``namespace`` holds :class:`Roles`; the :class:`~rasv.records.Role` record is a top-level record.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> ws.roles.create("女性-小美").label
    '女性-小美'
    >>> ws.close()
"""

from __future__ import annotations

from rasv.roles.namespace import RoleRef, Roles

__all__ = [
    "RoleRef",
    "Roles",
]
