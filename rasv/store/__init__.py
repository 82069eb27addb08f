"""The DuckDB store behind a workspace: its connection policy and its named migrations.

``db`` holds :class:`Store` (ATTACH → work → DETACH per operation in shared mode, retries on
lock errors, one cursor per thread); ``migrations`` applies the named, ordered schema steps and
records them in ``schema_migrations``. The namespaces never open DuckDB themselves; they build
their filters and updates with ``where_sql``, ``check_editable`` and ``update_sql``.

Example:
    >>> import tempfile, pathlib
    >>> from rasv.store import Store, migrate
    >>> s = Store(pathlib.Path(tempfile.mkdtemp()) / "rasv.duckdb")
    >>> "0001_initial" in migrate(s)
    True
    >>> s.close()
"""

from __future__ import annotations

from rasv.store.db import Condition, Store, check_editable, one_or_many, update_sql, where_sql
from rasv.store.migrations import migrate

__all__ = [
    "Condition",
    "Store",
    "check_editable",
    "migrate",
    "one_or_many",
    "update_sql",
    "where_sql",
]
