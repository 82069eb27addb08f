"""Clip categories of a role (``ws.clips.categories``); ``default`` always exists.

Example:
    >>> category_name("  "), category_name("温柔")
    ('default', '温柔')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.errors import AlreadyExists, InvalidInput
from rasv.records import DEFAULT_CATEGORY

if TYPE_CHECKING:
    from rasv.roles.namespace import RoleRef
    from rasv.workspace import Workspace


class Categories:
    """``ws.clips.categories``: a role's clip categories (``default`` always exists).

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
        >>> ws.clips.categories.create(r, "温柔")
        >>> ws.clips.categories.list(r)
        ['default', '温柔']
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def list(self, role: RoleRef) -> list[str]:
        """Category names: ``default`` first, then the others sorted.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> ws.clips.categories.create(r, "愤怒"); ws.clips.categories.create(r, "温柔")
            >>> ws.clips.categories.list(r)
            ['default', '愤怒', '温柔']
        """
        return self.df(role).name.tolist()

    def df(self, role: RoleRef) -> pd.DataFrame:
        """Categories with clip counts: name, n_clips, n_valid.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> ws.clips.categories.df(r).values.tolist()
            [['default', 0, 0]]
        """
        rid = self._ws.roles.resolve_id(role)
        return self._ws.store.df(
            """
            WITH names AS (
                SELECT $d AS name
                UNION SELECT name FROM categories WHERE role_id = $r
                UNION SELECT category FROM clips WHERE role_id = $r
            )
            SELECT n.name,
                   (SELECT count(*) FROM clips c WHERE c.role_id = $r AND c.category = n.name)
                       AS n_clips,
                   (SELECT count(*) FROM clips c
                    WHERE c.role_id = $r AND c.category = n.name AND c.valid) AS n_valid
            FROM names n ORDER BY n.name <> $d, n.name
            """,
            {"r": rid, "d": DEFAULT_CATEGORY},
        )

    def create(self, role: RoleRef, name: str) -> None:
        """Create a category (no error if it exists).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> ws.clips.categories.create(r, "温柔"); ws.clips.categories.create(r, "温柔")
            >>> ws.clips.categories.list(r)
            ['default', '温柔']
        """
        rid = self._ws.roles.resolve_id(role)
        with self._ws.store.transaction() as cur:
            ensure_category(cur, rid, category_name(name))

    def rename(self, role: RoleRef, old: str, new: str) -> int:
        """Rename a category; its clips follow. Returns how many clips moved.

        Raises:
            AlreadyExists: ``new`` exists already (use :meth:`merge`).

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> _ = ws.clips.add(r, make_clip(os.path.join(ws.root, "a.wav"), 4.0), category="温柔")
            >>> ws.clips.categories.rename(r, "温柔", "轻柔"), ws.clips.categories.list(r)
            (1, ['default', '轻柔'])
        """
        rid = self._ws.roles.resolve_id(role)
        old, new = category_name(old), category_name(new)
        if old == DEFAULT_CATEGORY:
            raise InvalidInput("the default category cannot be renamed")
        names = self.list(rid)
        if old not in names:
            raise InvalidInput(f"category {old!r} does not exist")
        if new in names:
            raise AlreadyExists(f"category {new!r} exists; merge the two instead")
        return self.merge(rid, [old], new)

    def merge(self, role: RoleRef, sources: Iterable[str], target: str) -> int:
        """Move every clip of ``sources`` into ``target`` and drop the sources.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> ws.clips.categories.create(r, "x")
            >>> ws.clips.categories.merge(r, ["x"], "y"), ws.clips.categories.list(r)
            (0, ['default', 'y'])
        """
        rid = self._ws.roles.resolve_id(role)
        target = category_name(target)
        srcs = [category_name(s) for s in sources if category_name(s) != target]
        with self._ws.store.transaction() as cur:
            n = cur.execute(
                "UPDATE clips SET category = ?, updated_at = current_timestamp "
                "WHERE role_id = ? AND list_contains(?, category) RETURNING id",
                [target, rid, srcs],
            ).fetchall()
            cur.execute("DELETE FROM categories WHERE role_id = ? AND list_contains(?, name)",
                        [rid, srcs])
            ensure_category(cur, rid, target)
        return len(n)

    def delete(self, role: RoleRef, name: str) -> int:
        """Delete a category; its clips fall back to ``default``. Returns the clips moved.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "a.wav"), 4.0), category="x")
            >>> ws.clips.categories.delete(r, "x"), ws.clips.get(c.id).category
            (1, 'default')
        """
        name = category_name(name)
        if name == DEFAULT_CATEGORY:
            raise InvalidInput("the default category cannot be deleted")
        rid = self._ws.roles.resolve_id(role)
        return self.merge(rid, [name], DEFAULT_CATEGORY)


def category_name(category: str | None) -> str:
    """The stored name of a category: stripped, ``default`` when empty."""
    if category is None:
        return DEFAULT_CATEGORY
    name = str(category).strip()
    return name or DEFAULT_CATEGORY


def ensure_category(cur: Any, role_id: int, name: str) -> None:
    """Record a category of a role if it is new (``default`` needs no row)."""
    if name == DEFAULT_CATEGORY:
        return
    exists = cur.execute(
        "SELECT 1 FROM categories WHERE role_id = ? AND name = ?", [role_id, name]).fetchall()
    if not exists:
        cur.execute("INSERT INTO categories(role_id, name) VALUES (?, ?)", [role_id, name])


__all__ = ["Categories", "category_name", "ensure_category"]
