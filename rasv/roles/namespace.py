"""Roles: the voices a workspace tunes, named ``category-name`` like RefAudioSelectorV2.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> ws.roles.create("男性-张三").label
    '男性-张三'
    >>> ws.roles.create("alice").category
    'default'
    >>> ws.roles.list().label.tolist()
    ['default-alice', '男性-张三']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from rasv.errors import AlreadyExists, InvalidInput, RoleNotFound
from rasv.ids import is_id
from rasv.records import DEFAULT_CATEGORY, Role

if TYPE_CHECKING:
    from rasv.workspace import Workspace

RoleRef = Role | int | str


def parse_label(label: str) -> tuple[str, str]:
    """Split ``category-name`` on the first dash; no dash means the default category.

    Example:
        >>> parse_label("男性-张三-v2")
        ('男性', '张三-v2')
        >>> parse_label("alice")
        ('default', 'alice')
    """
    text = str(label).strip()
    if "-" in text:
        category, name = (part.strip() for part in text.split("-", 1))
    else:
        category, name = DEFAULT_CATEGORY, text
    if not name:
        raise InvalidInput(f"role {label!r} has no name; write it as 'category-name' or 'name'")
    if not category:
        category = DEFAULT_CATEGORY
    return category, name


class Roles:
    """``ws.roles``: create, list, get, rename and delete roles."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def create(self, label: str, *, exist_ok: bool = False) -> Role:
        """Create a role from ``category-name`` (``男性-张三``) or a bare name.

        Args:
            label: ``category-name``; the text before the first dash is the category.
            exist_ok: return the existing role instead of raising when it exists.

        Raises:
            AlreadyExists: the role exists and ``exist_ok`` is False.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.roles.create("女性-小红").id
            1
            >>> ws.roles.create("女性-小红", exist_ok=True).id
            1
        """
        category, name = parse_label(label)
        with self._ws.store.transaction() as cur:
            row = cur.execute(
                "SELECT id, category, name, created_at FROM roles WHERE category = ? AND name = ?",
                [category, name],
            ).fetchall()
            if row:
                if exist_ok:
                    return Role(*row[0])
                raise AlreadyExists(f"role {category}-{name} already exists")
            new = cur.execute(
                "INSERT INTO roles(category, name) VALUES (?, ?) "
                "RETURNING id, category, name, created_at",
                [category, name],
            ).fetchall()
        return Role(*new[0])

    def list(self) -> pd.DataFrame:
        """All roles with their clip counts, sorted by label.

        Columns: id, category, name, label, n_clips, n_valid, n_tasks, created_at.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> _ = ws.roles.create("a-b")
            >>> ws.roles.list()[["label", "n_clips"]].values.tolist()
            [['a-b', 0]]
        """
        return self._ws.store.df(
            """
            SELECT r.id, r.category, r.name, r.category || '-' || r.name AS label,
                   (SELECT count(*) FROM clips c WHERE c.role_id = r.id) AS n_clips,
                   (SELECT count(*) FROM clips c WHERE c.role_id = r.id AND c.valid) AS n_valid,
                   (SELECT count(*) FROM tasks t WHERE t.role_id = r.id AND NOT t.archived)
                       AS n_tasks,
                   r.created_at
            FROM roles r ORDER BY r.category, r.name
            """
        )

    def get(self, ref: RoleRef) -> Role:
        """Find a role by record, id, ``category-name`` label, or a name that is unique.

        Raises:
            RoleNotFound: no such role (or a bare name shared by several categories).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> r = ws.roles.create("男性-张三")
            >>> ws.roles.get("男性-张三") == ws.roles.get(r.id) == ws.roles.get("张三")
            True
        """
        cols = "id, category, name, created_at"
        if isinstance(ref, Role):
            ref = ref.id
        if is_id(ref):
            ref = int(ref)
            return Role(*self._ws.store.one_or_raise(
                f"SELECT {cols} FROM roles WHERE id = ?", [ref], RoleNotFound(ref)))
        if not isinstance(ref, str):
            raise InvalidInput(f"a role is a Role, an id or a 'category-name' label, not {ref!r}")
        text = ref.strip()
        if "-" in text:
            category, name = parse_label(text)
            rows = self._ws.store.rows(
                f"SELECT {cols} FROM roles WHERE category = ? AND name = ?", [category, name]
            )
            if rows:
                return Role(*rows[0])
        rows = self._ws.store.rows(f"SELECT {cols} FROM roles WHERE name = ?", [text])
        if len(rows) == 1:
            return Role(*rows[0])
        if len(rows) > 1:
            labels = ", ".join(f"{r[1]}-{r[2]}" for r in rows)
            raise RoleNotFound(ref, f"several roles are named {text!r} ({labels}); give the category")
        raise RoleNotFound(ref)

    def rename(self, ref: RoleRef, new_label: str) -> Role:
        """Rename a role (and possibly move it to another category).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> r = ws.roles.create("a-b")
            >>> ws.roles.rename(r, "c-d").label
            'c-d'
        """
        role = self.get(ref)
        category, name = parse_label(new_label)
        with self._ws.store.transaction() as cur:
            clash = cur.execute(
                "SELECT id FROM roles WHERE category = ? AND name = ? AND id <> ?",
                [category, name, role.id],
            ).fetchall()
            if clash:
                raise AlreadyExists(f"role {category}-{name} already exists")
            cur.execute(
                "UPDATE roles SET category = ?, name = ? WHERE id = ?", [category, name, role.id]
            )
        return self.get(role.id)

    def delete(self, ref: RoleRef) -> None:
        """Delete a role with its clips, categories, tasks, products and long-text runs.

        Takes used only by this role's tasks are deleted; stored audio is removed only when
        nothing else (another role's clip, the aux pool, a take) still references it.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> r = ws.roles.create("x")
            >>> ws.roles.delete(r); len(ws.roles.list())
            0
        """
        from rasv.takes.orphans import drop_unused_takes

        role = self.get(ref)
        rid = role.id
        with self._ws.store.transaction() as cur:
            paths = [r[0] for r in cur.execute(
                "SELECT path FROM clips WHERE role_id = ?", [rid]).fetchall()]
            runs = cur.execute("SELECT id, audio_path, srt_path FROM longtext_runs "
                               "WHERE role_id = ?", [rid]).fetchall()
            run_ids = [r[0] for r in runs]
            task_ids = [r[0] for r in cur.execute(
                "SELECT id FROM tasks WHERE role_id = ?", [rid]).fetchall()]
            # Every take this role's tasks, runs and products name; those another role still
            # uses survive the clean-up below.
            mine = [r[0] for r in cur.execute(
                """
                SELECT take_id FROM task_takes WHERE list_contains($tasks, task_id)
                UNION SELECT take_id FROM longtext_chunks WHERE list_contains($runs, run_id)
                UNION SELECT source_take_id FROM longtext_runs WHERE role_id = $role
                UNION SELECT source_take_id FROM products WHERE role_id = $role
                """, {"tasks": task_ids, "runs": run_ids, "role": rid}).fetchall() if r[0]]
            cur.execute("DELETE FROM task_takes WHERE list_contains(?, task_id)", [task_ids])
            cur.execute("DELETE FROM longtext_chunks WHERE list_contains(?, run_id)", [run_ids])
            cur.execute("DELETE FROM votes WHERE list_contains(?, task_id)", [task_ids])
            cur.execute("DELETE FROM scores WHERE list_contains(?, longtext_id)", [run_ids])
            cur.execute("UPDATE products SET source_longtext_id = NULL"
                        " WHERE list_contains(?, source_longtext_id)", [run_ids])
            cur.execute("DELETE FROM longtext_runs WHERE role_id = ?", [rid])
            cur.execute("DELETE FROM products WHERE role_id = ?", [rid])
            cur.execute("DELETE FROM tasks WHERE role_id = ?", [rid])
            cur.execute("DELETE FROM clips WHERE role_id = ?", [rid])
            cur.execute("DELETE FROM categories WHERE role_id = ?", [rid])
            cur.execute("DELETE FROM models WHERE role_id = ?", [rid])
            cur.execute("DELETE FROM roles WHERE id = ?", [rid])
            drop_unused_takes(self._ws, mine)
            run_files = {p for r in runs for p in r[1:] if p}
            self._ws.store.after_commit(lambda: self._ws.release_files(set(paths) | run_files))

    def resolve_id(self, ref: RoleRef) -> int:
        """The id of a role given any reference accepted by :meth:`get`.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); _ = ws.roles.create("男性-张三")
            >>> ws.roles.resolve_id("张三")
            1
        """
        if isinstance(ref, Role):
            return ref.id
        return self.get(ref).id


__all__ = ["Roles", "parse_label"]
