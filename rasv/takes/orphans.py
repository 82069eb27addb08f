"""Deleting takes that nothing uses any more: the one rule every delete path calls.

A take is *used* while a task's plan, a long-text run (as a chunk or as its source) or a
product (as its source) names it, and, when the caller keeps scores, while a take score
(not a long-text score) names it. Everything else hangs off the take and goes with it: its
scores, metrics and A/B votes, and after the commit its audio file, the reference audio only
it still kept (a deleted clip's blob) and its cached spectrograms.

Example:
    >>> import rasv, tempfile
    >>> drop_unused_takes(rasv.open(tempfile.mkdtemp()), ["no-such-take"])
    []
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rasv.workspace import Workspace

# One row per candidate that still exists and that nothing names. Scores count as a use only
# when the caller keeps them ($scored): a long-text score belongs to its run, not to the take.
_UNUSED = """
SELECT t.id FROM takes t WHERE list_contains($ids, t.id)
  AND NOT EXISTS (SELECT 1 FROM task_takes x WHERE x.take_id = t.id)
  AND NOT EXISTS (SELECT 1 FROM longtext_chunks c WHERE c.take_id = t.id)
  AND NOT EXISTS (SELECT 1 FROM longtext_runs r WHERE r.source_take_id = t.id)
  AND NOT EXISTS (SELECT 1 FROM products p WHERE p.source_take_id = t.id)
  AND NOT ($scored AND EXISTS (SELECT 1 FROM scores s WHERE s.take_id = t.id
                                                       AND NOT s.long_text))
"""


def drop_unused_takes(ws: Workspace, take_ids: Iterable[str], *,
                      keep_scored: bool = False) -> list[str]:
    """Delete those of ``take_ids`` nothing uses any more, with their scores, metrics and votes.

    Call it in the transaction that removed the references (it joins it), after removing
    them: the files and cached visuals go once that transaction commits, never on a rollback.
    ``keep_scored=True`` keeps a take someone scored (the score is the user's work).
    Returns the ids deleted, in the order given.

    Example:
        >>> from rasv.testing import example
        >>> ex = example(); ws, take = ex.ws, ex.take
        >>> _ = ws.scores.set(take, 4); _ = ws.sql("DELETE FROM task_takes", write=True)
        >>> drop_unused_takes(ws, [take], keep_scored=True)
        []
        >>> drop_unused_takes(ws, [take]) == [take], ws.takes.exists(take)
        (True, False)
    """
    ids = list(dict.fromkeys(str(t) for t in take_ids if t))
    if not ids:
        return []
    with ws.store.transaction() as cur:
        found = {r[0] for r in cur.execute(_UNUSED, {"ids": ids, "scored": keep_scored}).fetchall()}
        doomed = [t for t in ids if t in found]
        if not doomed:
            return []
        rows = cur.execute("SELECT audio_path, clip_sha256 FROM takes WHERE list_contains(?, id)",
                           [doomed]).fetchall()
        for table in ("scores", "metrics"):
            cur.execute(f"DELETE FROM {table} WHERE list_contains(?, take_id)", [doomed])
        cur.execute("DELETE FROM votes WHERE list_contains($d, take_a) OR list_contains($d, take_b)",
                    {"d": doomed})
        cur.execute("DELETE FROM takes WHERE list_contains(?, id)", [doomed])
        files = {p for p, _ in rows if p}
        shas = {s for _, s in rows if s}
        ws.store.after_commit(lambda: _release(ws, files, shas, doomed))
    return doomed


def _release(ws: Workspace, files: set[str], clip_shas: set[str], take_ids: list[str]) -> None:
    """Remove what the deleted rows named; each file only if nothing else still names it."""
    from rasv.audio.spectrogram import VISUALS_DIR, VisualCache

    # A deleted clip's reference audio is kept while a take remembers its sha (re-renders and
    # exports read it); the last such take gone, the blob goes too.
    blobs = {b for b in (ws.blobs.find(s) for s in clip_shas) if b}
    ws.release_files(files | blobs)
    cache = VisualCache(ws.root / VISUALS_DIR)
    for t in take_ids:
        cache.clear(t)


__all__ = ["drop_unused_takes"]
