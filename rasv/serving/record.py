"""Record every served request in the workspace's ``api_requests`` table, off the request path.

The table comes from the migration ``0003_api_requests`` (:mod:`rasv.store.migrations`).

Rows are queued in memory and written in batches by one thread, so a client never waits for
the database (a shared workspace attaches its file per operation, which costs milliseconds).
Query them with ``ws.sql("SELECT * FROM api_requests")``.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> rec = Recorder(ws).start()
    >>> rec.add(Served(api="openai", voice="a/b", product_id=1, chars=5, seconds=0.2,
    ...                audio_s=1.0, engine="e", status=200))
    >>> rec.stop()
    >>> ws.sql("SELECT api, voice, status FROM api_requests").values.tolist()
    [['openai', 'a/b', 200]]
"""

from __future__ import annotations

import threading
from dataclasses import astuple, dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rasv.workspace import Workspace



@dataclass(frozen=True)
class Served:
    """One served (or refused) request.

    Example:
        >>> Served(api="gsvi", voice=None, product_id=None, chars=0, seconds=0.0,
        ...        audio_s=None, engine=None, status=404).status
        404
    """

    api: str
    voice: str | None
    product_id: int | None
    chars: int
    seconds: float
    audio_s: float | None
    engine: str | None
    status: int
    route: str = ""
    n_chunks: int = 0
    format: str | None = None
    error: str | None = None
    engine_s: float | None = None
    switches: int = 0
    client: str | None = None
    served_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))


_COLS = [f.name for f in fields(Served)]


class Recorder:
    """Batch :class:`Served` rows into ``api_requests`` (see the module docstring).

    Args:
        ws: the workspace.
        flush_s: seconds between writes.
    """

    def __init__(self, ws: Workspace, *, flush_s: float = 2.0) -> None:
        self.ws = ws
        self.flush_s = float(flush_s)
        self._rows: list[Served] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.written = 0
        self.last_error = ""

    def start(self) -> Recorder:
        """Start the writer thread (the table comes with the workspace's migrations)."""
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rasv-api-log")
        self._thread.start()
        return self

    def add(self, row: Served) -> None:
        """Queue one row (never blocks on the database)."""
        with self._cond:
            self._rows.append(row)

    def flush(self) -> None:
        """Write the queued rows now."""
        with self._cond:
            rows, self._rows = self._rows, []
        if not rows:
            return
        marks = ", ".join("?" for _ in _COLS)
        try:
            with self.ws.store.transaction() as cur:
                cur.executemany(f"INSERT INTO api_requests({', '.join(_COLS)}) VALUES ({marks})",
                                [list(astuple(r)) for r in rows])
            self.written += len(rows)
        except Exception as e:  # a locked workspace must not take the server down; retry
            self.last_error = f"{type(e).__name__}: {e}"
            with self._cond:
                self._rows[:0] = rows

    def stop(self) -> None:
        """Stop the writer after a last flush."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(10)
        self.flush()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping, timeout=self.flush_s)
                if self._stopping:
                    return
            self.flush()


__all__ = ["Recorder", "Served"]
