"""The workspace: a folder holding ``rasv.duckdb`` and ``audio/``, and the facade over it.

Everything a user does goes through ``ws = rasv.open(path)`` and its namespaces
(``ws.roles``, ``ws.clips``, ``ws.tasks`` …), see DESIGN.md §4.

Example:
    >>> import rasv, tempfile
    >>> with rasv.open(tempfile.mkdtemp()) as ws:
    ...     ws.sql("SELECT count(*) AS n FROM roles").n.tolist()
    [0]
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from rasv.audio.files import BlobStore
from rasv.errors import InvalidInput, WorkspaceError
from rasv.store.db import Store
from rasv.store.migrations import migrate

if TYPE_CHECKING:  # the namespaces import the workspace; keep the import graph one-way
    from rasv.analysis import Analysis
    from rasv.classify.namespace import Classifier
    from rasv.clips.aux import AuxPool
    from rasv.clips.namespace import Clips
    from rasv.longtext.namespace import LongText
    from rasv.models.namespace import Models
    from rasv.products.namespace import Products
    from rasv.roles.namespace import Roles
    from rasv.scores.namespace import Scores
    from rasv.takes.namespace import Takes
    from rasv.tasks.namespace import Tasks
    from rasv.texts.namespace import Texts

DB_NAME = "rasv.duckdb"
CLIPS_DIR = "audio/clips"
TAKES_DIR = "audio/takes"

_READ_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "RELATION", "LOGICAL_PLAN", "CALL"}


class Workspace:
    """An open workspace. Use :func:`rasv.open` to get one.

    Args:
        root: the workspace folder.
        shared: hold the database file only during operations (see :class:`rasv.store.db.Store`).
        lock_timeout: seconds to wait for another process before :class:`~rasv.WorkspaceLocked`.

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> ws.root.joinpath("rasv.duckdb").exists()
        True
        >>> ws.close()
    """

    def __init__(self, root: str | os.PathLike, *, shared: bool = True,
                 lock_timeout: float = 30.0) -> None:
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"{self.root} exists and is not a folder")
        try:
            for folder in (self.root, self.root / CLIPS_DIR, self.root / TAKES_DIR):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # read-only media, a file in the way, a full disk …
            raise WorkspaceError(
                f"cannot create the workspace folder {self.root}: {e.strerror or e}") from None
        self.store = Store(self.root / DB_NAME, shared=shared, lock_timeout=lock_timeout)
        self.blobs = BlobStore(self.root, CLIPS_DIR)
        try:
            migrate(self.store)
        except Exception:
            self.store.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the database. Safe to call twice.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.close(); ws.close()
            >>> repr(ws).endswith("(closed)>")
            True
        """
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "shared" if self.store.shared else "exclusive"
        state = "closed" if self.store.closed else mode
        return f"<rasv.Workspace {self.root} ({state})>"

    @property
    def path(self) -> Path:
        """The workspace folder (same as ``root``)."""
        return self.root

    def abspath(self, rel: str | os.PathLike | None) -> Path | None:
        """Turn a workspace-relative path from the database into an absolute path.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.abspath("audio/takes/x.wav").name
            'x.wav'
        """
        if rel is None:
            return None
        return self.root / Path(str(rel))

    # -- namespaces (DESIGN.md §4) -----------------------------------------------------------

    @cached_property
    def roles(self) -> Roles:
        """Roles (voices): create, list, get, rename, delete."""
        from rasv.roles.namespace import Roles

        return Roles(self)

    @cached_property
    def clips(self) -> Clips:
        """The reference-clip catalogue of each role, ``.list`` import and export, categories."""
        from rasv.clips.namespace import Clips

        return Clips(self)

    @cached_property
    def texts(self) -> Texts:
        """The text library shared by all roles."""
        from rasv.texts.namespace import Texts

        return Texts(self)

    @cached_property
    def aux(self) -> AuxPool:
        """The auxiliary ("fusion") reference pool shared by all roles."""
        from rasv.clips.aux import AuxPool

        return AuxPool(self)

    @cached_property
    def models(self) -> Models:
        """GPT and SoVITS checkpoints: scan, add, list."""
        from rasv.models.namespace import Models

        return Models(self)

    @cached_property
    def classify(self) -> Classifier:
        """Speaker embeddings, similarity to a seed clip, clustering."""
        from rasv.classify.namespace import Classifier

        return Classifier(self)

    @cached_property
    def tasks(self) -> Tasks:
        """Comparison tasks and running them."""
        from rasv.tasks.namespace import Tasks

        return Tasks(self)

    @cached_property
    def takes(self) -> Takes:
        """Synthesised results of tasks, for review."""
        from rasv.takes.namespace import Takes

        return Takes(self)

    @cached_property
    def scores(self) -> Scores:
        """Stars, tags and remarks on takes, and their roll-ups."""
        from rasv.scores.namespace import Scores

        return Scores(self)

    @cached_property
    def longtext(self) -> LongText:
        """Long-text tests rendered chunk by chunk."""
        from rasv.longtext.namespace import LongText

        return LongText(self)

    @cached_property
    def products(self) -> Products:
        """Finished products (saved presets) and their export."""
        from rasv.products.namespace import Products

        return Products(self)

    @cached_property
    def analysis(self) -> Analysis:
        """Automatic take analysis (metrics)."""
        from rasv.analysis import Analysis

        return Analysis(self)

    def analyze(self, task: Any, metrics: Any = None, **kwargs: Any) -> Any:
        """Compute automatic metrics for a task's takes (same as ``ws.analysis.run``).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, t = ex.ws, ex.task
            >>> print(ws.analyze(t, metrics=["clipping", "ending"]))
            task 1: 1 takes, 1 analysed, 0 cached, 0 failed
        """
        return self.analysis.run(task, metrics=metrics, **kwargs)

    # -- SQL ---------------------------------------------------------------------------------

    def sql(self, query: str, params: Any = None, *, write: bool = False) -> pd.DataFrame:
        """Run SQL against the workspace and return a DataFrame.

        Read-only unless ``write=True``: statements other than queries are refused, so an
        exploratory notebook cannot damage the workspace by accident.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.sql("SELECT ? + 1 AS x", [1]).x.tolist()
            [2]
        """
        if not write:
            try:
                statements = duckdb.extract_statements(query)
            except duckdb.Error as e:
                raise InvalidInput(f"cannot parse SQL: {e}") from None
            for st in statements:
                if st.type.name not in _READ_STATEMENTS:
                    raise InvalidInput(
                        f"ws.sql is read-only: {st.type.name} statements need write=True"
                    )
        try:
            if write:
                with self.store.transaction() as cur:
                    res = cur.execute(query, params if params is not None else [])
                    return res.df() if res.description else pd.DataFrame()
            return self.store.df(query, params)
        except duckdb.Error as e:
            raise InvalidInput(f"SQL failed: {e}") from None

    # -- settings (small key/value memory: last role, UI language …) --------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """Read a JSON value saved with :meth:`set_setting`.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.set_setting("ui.lang", "zh"); ws.get_setting("ui.lang")
            'zh'
        """
        raw = self.store.scalar("SELECT value FROM settings WHERE key = ?", [key])
        return default if raw is None else json.loads(raw)

    def set_setting(self, key: str, value: Any) -> None:
        """Save a JSON-serialisable value under ``key``.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.set_setting("review.last_task", {"id": 3}); ws.get_setting("review.last_task")
            {'id': 3}
        """
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)",
                [key, json.dumps(value, ensure_ascii=False)],
            )

    # -- stored files ------------------------------------------------------------------------

    def release_files(self, rel_paths: list[str] | set[str]) -> list[str]:
        """Delete stored audio files that no clip, aux clip or take references any more.

        Files outside the workspace (clips imported without copying) are never touched.

        Returns the paths removed. Called after deletes, inside nothing: the rows are gone
        first, so a crash in between leaves an orphan file, never a row without its file.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "a.wav"), 4.0))
            >>> ws.release_files([c.path])   # the clip still uses it: kept
            []
        """
        removed: list[str] = []
        with self.store.session():  # one attach for the whole loop
            for rel in sorted(set(p for p in rel_paths if p)):
                self._release_one(rel, removed)
        return removed

    def _release_one(self, rel: str, removed: list[str]) -> None:
        # A clip blob is named by its sha256; takes and products remember the sha of their
        # reference, and long-text re-renders and product exports still need that audio.
        n = self.store.scalar(
            "SELECT (SELECT count(*) FROM clips WHERE path = $p)"
            " + (SELECT count(*) FROM aux_clips WHERE path = $p)"
            " + (SELECT count(*) FROM takes WHERE audio_path = $p)"
            " + (SELECT count(*) FROM longtext_runs WHERE audio_path = $p OR srt_path = $p)"
            " + (SELECT count(*) FROM takes WHERE clip_sha256 = $sha)"
            " + (SELECT count(*) FROM products"
            "    WHERE json_extract_string(extra, '$.clip_sha256') = $sha)",
            {"p": rel, "sha": Path(rel).stem},
        )
        if n or not _managed(self.root, rel):
            return
        target = self.root / rel
        if target.exists():
            self.blobs.remove(rel)
            removed.append(rel)


def _managed(root: Path, rel: str) -> bool:
    """True for a file rasv itself stored: a relative path inside the workspace's ``audio/``.

    Clips imported with ``copy=False`` are stored by absolute path, and may even lie inside
    the workspace folder; they belong to the user and are never deleted.
    """
    if Path(rel).is_absolute() or PureWindowsPath(rel).is_absolute():
        return False
    audio = (root / "audio").resolve()
    return audio in (root / rel).resolve().parents


def open(path: str | os.PathLike, shared: bool = True, *, lock_timeout: float = 30.0) -> Workspace:  # noqa: A001
    """Create or open a workspace folder.

    Args:
        path: the folder (created if missing).
        shared: True (default) lets a notebook, Voilà kernels and the CLI share the workspace;
            False keeps the database open for batch speed and blocks other processes.
        lock_timeout: seconds to wait for another process before raising
            :class:`~rasv.WorkspaceLocked`.

    Example:
        >>> import rasv, tempfile
        >>> with rasv.open(tempfile.mkdtemp()) as ws:
        ...     type(ws).__name__
        'Workspace'
    """
    return Workspace(path, shared=shared, lock_timeout=lock_timeout)


__all__ = ["Workspace", "open"]
