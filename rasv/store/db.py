"""The DuckDB store behind a workspace, and its connection policy.

DuckDB lets one process hold a database file for writing, and that process then blocks every
other process, readers included (``research/stack-check.md`` §4). So in shared mode (the
default) the store keeps one in-memory connection per workspace object and attaches the file
only for the length of an operation: ATTACH → work → DETACH. Lock conflicts with another
process are retried with jittered exponential backoff until ``lock_timeout``, then raise
:class:`~rasv.WorkspaceLocked`. Threads get their own cursors; nested operations on one thread
share the cursor (and so the transaction) of the outermost one.

Example:
    >>> import tempfile, os
    >>> s = Store(os.path.join(tempfile.mkdtemp(), "db.duckdb"))
    >>> with s.transaction() as cur:
    ...     _ = cur.execute("CREATE TABLE t(x INT)")
    ...     _ = cur.execute("INSERT INTO t VALUES (1), (2)")
    >>> s.scalar("SELECT sum(x) FROM t")
    3
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rasv.errors import InvalidInput, WorkspaceError, WorkspaceLocked

_ALIAS = "ws"


def _is_lock_error(e: Exception) -> bool:
    msg = str(e).lower()
    if "already attached" in msg:  # another Workspace object of this process holds the file
        return True
    return "lock" in msg and ("conflicting" in msg or "could not set" in msg or "locked" in msg)


class Store:
    """A DuckDB database file used under rasv's connection policy.

    Args:
        path: the ``.duckdb`` file (created if missing).
        shared: when True, hold the file only during operations so other processes
            (a JupyterLab kernel, Voilà kernels, the CLI) can use the workspace too.
        lock_timeout: seconds to keep retrying when another process holds the file.
        read_only: attach read-only (statements that write are refused by DuckDB).

    Example:
        >>> import tempfile, os
        >>> s = Store(os.path.join(tempfile.mkdtemp(), "w.duckdb"), shared=False)
        >>> s.rows("SELECT 1 + 1")
        [(2,)]
        >>> s.close()
    """

    def __init__(
        self,
        path: str | Path,
        *,
        shared: bool = True,
        lock_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.shared = shared
        self.lock_timeout = float(lock_timeout)
        self.read_only = read_only
        self._db = duckdb.connect(":memory:")
        self._guard = threading.RLock()
        self._users = 0
        self._attached = False
        self._closed = False
        self._local = threading.local()
        #: The file's :meth:`stamp` after this object's last operation, as long as no other
        #: process wrote in between (``None`` until someone sets a baseline; see ``changed``).
        self.own_stamp: tuple | None = None
        self._opened_at: tuple | None = None
        if not shared:
            with self._guard:
                self._attach()

    # -- attaching ---------------------------------------------------------------------------

    def _attach(self) -> None:
        target = str(self.path).replace("'", "''")
        opts = " (READ_ONLY)" if self.read_only else ""
        sql = f"ATTACH '{target}' AS {_ALIAS}{opts}"
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        last: Exception | None = None
        while True:
            try:
                self._db.execute(sql)
                self._attached = True
                return
            except (duckdb.IOException, duckdb.ResourceInUseException) as e:
                if not _is_lock_error(e):
                    raise WorkspaceError(f"cannot open workspace database {self.path}: {e}") from None
                last = e
            except duckdb.Error as e:
                raise WorkspaceError(f"cannot open workspace database {self.path}: {e}") from None
            if time.monotonic() >= deadline:
                pid = _holder_pid(last)
                command = _command_line(pid)
                detail = _holder(last) + (f": {command}" if command else "")
                raise WorkspaceLocked(self.path, self.lock_timeout, detail, pid, command) from None
            time.sleep(delay * (1.0 + random.random()))
            delay = min(delay * 2.0, 0.2)

    def _detach(self) -> None:
        if self._attached:
            self._db.execute("USE memory")
            self._db.execute(f"DETACH {_ALIAS}")
            self._attached = False

    # -- changes by other processes -------------------------------------------------------

    def stamp(self) -> tuple:
        """Modification time and size of the database file and its WAL: changes on every
        committed write, not on reads, and costs two ``stat`` calls (the file is not opened).

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "m.duckdb"))
            >>> _ = s.rows("SELECT 1")  # creates the file
            >>> a = s.stamp(); _ = s.rows("SELECT 1"); a == s.stamp()
            True
        """
        out = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = path.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def changed(self) -> bool:
        """True when another process wrote since the last call (the first call sets the
        baseline and says False). Writes through this object do not count.

        Example:
            >>> import tempfile, os
            >>> path = os.path.join(tempfile.mkdtemp(), "c.duckdb")
            >>> mine, other = Store(path), Store(path)
            >>> _ = mine.rows("SELECT 1"); mine.changed()
            False
            >>> _ = other.rows("CREATE TABLE t AS SELECT 1 AS x")
            >>> mine.changed(), mine.changed()
            (True, False)
            >>> _ = mine.rows("INSERT INTO t VALUES (2)"); mine.changed()
            False
        """
        now = self.stamp()
        with self._guard:
            if self.own_stamp is None:
                self.own_stamp = now
                return False
            if now == self.own_stamp:
                return False
            self.own_stamp = now
            return True

    # -- cursors -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the attached database for this thread (reused when nested).

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "c.duckdb"))
            >>> with s.cursor() as cur:
            ...     cur.execute("SELECT 42").fetchall()
            [(42,)]
        """
        current = getattr(self._local, "cursor", None)
        if current is not None:
            yield current
            return
        if self._closed:
            raise WorkspaceError(f"workspace database {self.path} is closed")
        with self._guard:
            if not self._attached:
                before = self.stamp()
                self._attach()
                # Attaching may have waited for another process's lock and its write: only a
                # file that did not change while we waited is one this object can follow.
                self._opened_at = before if self.stamp() == before else None
            self._users += 1
        cur = None
        try:
            cur = self._db.cursor()
            cur.execute(f"USE {_ALIAS}")
            self._local.cursor = cur
            yield cur
        finally:
            self._local.cursor = None
            if cur is not None:
                with contextlib.suppress(duckdb.Error):
                    cur.close()
            with self._guard:
                self._users -= 1
                if self._users == 0 and self.shared:
                    self._detach()
                    # The file changed only by us since own_stamp: keep following it, so a
                    # watcher can tell this process's writes from other processes'.
                    if self._opened_at == self.own_stamp:
                        self.own_stamp = self.stamp()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside a transaction: committed on success, rolled back on any error.

        Nested calls on the same thread join the outer transaction.

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "t.duckdb"))
            >>> with s.transaction() as cur:
            ...     _ = cur.execute("CREATE TABLE t(x INT)")
            >>> try:
            ...     with s.transaction() as cur:
            ...         _ = cur.execute("INSERT INTO t VALUES (1)")
            ...         raise RuntimeError("boom")
            ... except RuntimeError:
            ...     pass
            >>> s.scalar("SELECT count(*) FROM t")
            0
        """
        if getattr(self._local, "in_tx", False):
            with self.cursor() as cur:
                yield cur
            return
        with self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            self._local.in_tx = True
            self._local.after = []
            try:
                yield cur
            except BaseException:
                self._local.in_tx = False
                self._local.after = []
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise
            else:
                self._local.in_tx = False
                cur.execute("COMMIT")
                after, self._local.after = self._local.after, []
                for fn in after:
                    fn()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the current transaction commits (at once outside a transaction).

        On a rollback ``fn`` never runs: files a delete would remove stay with their rows.

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "a.duckdb")); seen = []
            >>> with s.transaction():
            ...     s.after_commit(lambda: seen.append(1)); before = list(seen)
            >>> before, seen
            ([], [1])
        """
        if getattr(self._local, "in_tx", False):
            self._local.after.append(fn)
        else:
            fn()

    @contextlib.contextmanager
    def session(self) -> Iterator[Store]:
        """Keep the file attached across several operations (one lock, no re-attach cost).

        Example:
            >>> import tempfile, os
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "s.duckdb"))
            >>> with s.session():
            ...     a = s.scalar("SELECT 1"); b = s.scalar("SELECT 2")
            >>> a + b
            3
        """
        with self.cursor():
            yield self

    # -- helpers -----------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple]:
        """Run one statement and fetch all rows.

        Example:
            >>> import tempfile, os
            >>> Store(os.path.join(tempfile.mkdtemp(), "r.duckdb")).rows("SELECT ?", [5])
            [(5,)]
        """
        with self.cursor() as cur:
            return cur.execute(sql, params if params is not None else []).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> tuple | None:
        """The first row of a query, or None.

        Example:
            >>> import tempfile, os
            >>> Store(os.path.join(tempfile.mkdtemp(), "o.duckdb")).one("SELECT 1, 2")
            (1, 2)
        """
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def one_or_raise(self, sql: str, params: Sequence[Any] | dict[str, Any] | None,
                     missing: Exception) -> tuple:
        """The first row of a query; ``missing`` (a ``NotFound``) is raised when there is none.

        Example:
            >>> import tempfile, os
            >>> from rasv.errors import ClipNotFound
            >>> s = Store(os.path.join(tempfile.mkdtemp(), "n.duckdb"))
            >>> s.one_or_raise("SELECT 1 WHERE ? = 2", [1], ClipNotFound(1))
            Traceback (most recent call last):
            ...
            rasv.errors.ClipNotFound: clip 1 does not exist in this workspace
        """
        row = self.one(sql, params)
        if row is None:
            raise missing
        return row

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first column of the first row, or None.

        Example:
            >>> import tempfile, os
            >>> Store(os.path.join(tempfile.mkdtemp(), "v.duckdb")).scalar("SELECT 'x'")
            'x'
        """
        row = self.one(sql, params)
        return None if row is None else row[0]

    def df(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a query and return a pandas DataFrame.

        Example:
            >>> import tempfile, os
            >>> Store(os.path.join(tempfile.mkdtemp(), "d.duckdb")).df("SELECT 1 AS a").a.tolist()
            [1]
        """
        with self.cursor() as cur:
            return cur.execute(sql, params if params is not None else []).df()

    def close(self) -> None:
        """Detach and close; later operations raise :class:`~rasv.WorkspaceError`."""
        if self._closed:
            return
        with self._guard:
            self._closed = True
            with contextlib.suppress(duckdb.Error):
                self._detach()
            with contextlib.suppress(duckdb.Error):
                self._db.close()

    @property
    def closed(self) -> bool:
        return self._closed


def _holder(e: Exception | None) -> str:
    if e is None:
        return ""
    text = str(e)
    marker = "Conflicting lock is held in"
    i = text.find(marker)
    return text[i:].split("\n")[0].strip() if i >= 0 else ""


def _holder_pid(e: Exception | None) -> int | None:
    """The PID DuckDB names in a lock conflict ("... (PID 1234)"), if any."""
    m = re.search(r"\(PID (\d+)\)", str(e or ""))
    return int(m.group(1)) if m else None


def _command_line(pid: int | None) -> str:
    """What process ``pid`` runs (``rasv import-list …``), so a locked workspace names its writer.

    Example:
        >>> import os
        >>> _command_line(None), isinstance(_command_line(os.getpid()), str)
        ('', True)
    """
    if pid is None:
        return ""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # not Linux, or the process is gone
        return ""
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if len(args) > 1 and Path(args[0]).name.startswith("python"):
        args = args[1:]  # "python -m rasv ..." reads better without the interpreter path
    if args and args[0] == "-m" and len(args) > 1:
        args = args[1:]
    if args:
        args[0] = Path(args[0]).name
    text = " ".join(args)
    return text if len(text) <= 120 else text[:119] + "…"



def check_editable(fields: Iterable[str], editable: Iterable[str]) -> None:
    """Refuse an update that names a column users may not edit.

    Raises:
        InvalidInput: naming the unknown fields and the editable ones.

    Example:
        >>> check_editable({"lang", "id"}, {"lang", "text"})
        Traceback (most recent call last):
        ...
        rasv.errors.InvalidInput: cannot update id; editable: lang, text
    """
    unknown = set(fields) - set(editable)
    if unknown:
        raise InvalidInput(f"cannot update {', '.join(sorted(unknown))}; editable: "
                           f"{', '.join(sorted(editable))}")


def update_sql(table: str, values: Mapping[str, Any], row_id: int) -> tuple[str, dict[str, Any]]:
    """The ``UPDATE`` of some columns of one row, stamping ``updated_at``, and its parameters.

    Example:
        >>> sql, params = update_sql("texts", {"lang": "en"}, 3)
        >>> sql, params
        ('UPDATE texts SET lang = $lang, updated_at = current_timestamp WHERE id = $id', {'lang': 'en', 'id': 3})
    """
    sets = ", ".join(f"{k} = ${k}" for k in values)
    return (f"UPDATE {table} SET {sets}, updated_at = current_timestamp WHERE id = $id",
            {**values, "id": int(row_id)})


#: A filter's SQL condition (on the parameter named like the filter) and how its value is bound.
Condition = tuple[str, Callable[[Any], Any]]


def where_sql(conditions: Mapping[str, Condition], filters: Mapping[str, Any],
              base: str = "true", **params: Any) -> tuple[str, dict[str, Any]]:
    """The ``WHERE`` text and parameters for the filters given; a None filter is not applied.

    ``base`` is always applied, with ``params``. A filter ``conditions`` lacks is a TypeError,
    like an unexpected keyword argument.

    Example:
        >>> conds = {"lang": ("lang = $lang", str), "long": ("long = $long", bool)}
        >>> where_sql(conds, {"lang": "en", "long": None})
        ('true AND lang = $lang', {'lang': 'en'})
    """
    unknown = set(filters) - set(conditions)
    if unknown:
        raise TypeError(f"unexpected filter(s): {', '.join(sorted(unknown))}")
    clauses = [base]
    for key, value in filters.items():
        if value is not None:
            clause, bind = conditions[key]
            clauses.append(clause)
            params[key] = bind(value)
    return " AND ".join(clauses), params


def one_or_many(value: str | Iterable[str]) -> list[str]:
    """A filter value that is one string or several, as a list.

    Example:
        >>> one_or_many("zh"), one_or_many(("zh", "en"))
        (['zh'], ['zh', 'en'])
    """
    return [value] if isinstance(value, str) else list(value)


__all__ = ["Condition", "Store", "check_editable", "one_or_many", "update_sql", "where_sql"]
