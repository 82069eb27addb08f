"""The runner's SQL and files: claiming takes, adopting written WAVs, committing results.

Safety: a take's WAV is written atomically and only then its row is committed ``done``.
Claimed rows carry an owner (``host:pid:run``, see :mod:`rasv.runner.liveness`); rows whose
owner died go back to pending on the next claim, and a take whose WAV exists but whose row
is not done is adopted, not made again. Every update of a claimed row is guarded by the
owner, so a run whose claim was taken over writes nothing.

Example:
    >>> from rasv.testing import example
    >>> ex = example(repeats=2, run=False); ws, task = ex.ws, ex.task
    >>> _ = ws.tasks.ensure_planned(task)
    >>> c = claim(ws, task, "here:1:r", retry_failed=False)
    >>> c.total, len(c.jobs), task.counts().running
    (2, 2, 2)
    >>> release(ws, "here:1:r", "pending"); task.counts().pending
    2
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from rasv.audio import files as audio_io
from rasv.engine import Audio, SynthesisRequest, capabilities_for_version
from rasv.errors import AudioError
from rasv.params import Params
from rasv.runner.liveness import is_stale_tmp, live_owners, tmp_prefix
from rasv.runner.scheduler import Job, job_order
from rasv.tasks.grid import GSV_KIND
from rasv.workspace import TAKES_DIR

if TYPE_CHECKING:
    from rasv.tasks.namespace import Task
    from rasv.workspace import Workspace


@dataclass
class Outcome:
    """A take an engine made (``ok``, with its audio until saved) or that failed."""

    job: Job
    ok: bool
    engine: str
    attempts: int
    started_at: datetime
    finished_at: datetime
    synth_s: float | None = None
    audio: Audio | None = None
    error: str | None = None
    engine_version: str | None = None


@dataclass(frozen=True)
class Claim:
    """What :func:`claim` found and took: the jobs to make and the counts of the rest."""

    jobs: list[Job]
    total: int
    adopted: int
    already_done: int
    model_paths: dict[int, Path] = field(default_factory=dict)


def claim(ws: Workspace, task: Task, owner: str, *, retry_failed: bool) -> Claim:
    """Recover, adopt and claim ``task``'s takes for ``owner`` in one transaction.

    Takes to make are the pending and cancelled ones (and failed ones if ``retry_failed``)
    plus running ones whose owner died; those whose WAV is already written are adopted.
    See the module example.
    """
    for attempt in range(5):
        try:
            return _claim_once(ws, task, owner, retry_failed)
        except duckdb.TransactionException:
            # Another run of this process claimed the same rows at the same moment.
            time.sleep(0.05 * (attempt + 1) * (1 + random.random()))
    return _claim_once(ws, task, owner, retry_failed)


def _claim_once(ws: Workspace, task: Task, owner: str, retry_failed: bool) -> Claim:
    todo_states = {"pending", "cancelled"} | ({"failed"} if retry_failed else set())
    with ws.store.transaction() as cur:
        rows = cur.execute(
            """
            SELECT k.id, k.status, k.run_owner, k.gpt_id, k.sovits_id, k.clip_id,
                   k.clip_sha256, k.aux_ids, k.text, k.text_lang, k.prompt_text,
                   k.prompt_lang, k.params, k.extra, tt.ord
            FROM task_takes tt JOIN takes k ON k.id = tt.take_id
            WHERE tt.task_id = ?
            ORDER BY tt.ord
            """,
            [task.id],
        ).fetchall()
        live = live_owners({r[2] for r in rows if r[1] == "running"})
        todo, already = [], 0
        for r in rows:
            status, row_owner = r[1], r[2]
            if status in todo_states or (status == "running" and row_owner not in live):
                todo.append(r)
            elif status == "done":
                already += 1
        adopted = _adopt(cur, [r[0] for r in todo], ws.root / TAKES_DIR) if todo else set()
        todo = [r for r in todo if r[0] not in adopted]
        ids = [r[0] for r in todo]
        if ids:
            cur.execute(
                "UPDATE takes SET status = 'running', run_owner = ?, error = NULL "
                "WHERE list_contains(?, id)",
                [owner, ids],
            )
        jobs, model_paths = _jobs(ws, cur, todo, gsv=task.engine_kind == GSV_KIND)
    return Claim(jobs=jobs, total=len(rows), adopted=len(adopted),
                 already_done=already + len(adopted), model_paths=model_paths)


def _adopt(cur: Any, take_ids: list[str], takes_dir: Path) -> set[str]:
    """Record takes whose WAV a crashed run wrote but never committed; remove the
    temporary files dead runs of this machine left behind."""
    try:
        present = {e.name for e in os.scandir(takes_dir)}
    except FileNotFoundError:
        return set()
    for name in present:
        if is_stale_tmp(name):
            with contextlib.suppress(OSError):
                (takes_dir / name).unlink()
    found = []
    for take_id in take_ids:
        name = f"{take_id}.wav"
        if name not in present:
            continue
        try:
            info = audio_io.info(takes_dir / name)
        except AudioError:
            continue  # unreadable: make it again (write_wav replaces it atomically)
        found.append((take_id, f"{TAKES_DIR}/{name}", info.duration_s, info.sample_rate))
    for take_id, rel, dur, sr in found:
        cur.execute(
            "UPDATE takes SET status = 'done', run_owner = NULL, error = NULL, "
            "audio_path = ?, duration_s = ?, sample_rate = ?, "
            "finished_at = coalesce(finished_at, current_timestamp) WHERE id = ?",
            [rel, dur, sr, take_id],
        )
    return {f[0] for f in found}


def _jobs(ws: Workspace, cur: Any, rows: list[tuple], *,
          gsv: bool) -> tuple[list[Job], dict[int, Path]]:
    """The jobs for claimed rows (a take that cannot be sent says why) and the model paths."""
    clip_ids = sorted({r[5] for r in rows if r[5] is not None})
    clip_paths = dict(cur.execute(
        "SELECT id, path FROM clips WHERE list_contains(?, id)", [clip_ids]).fetchall())
    lost = sorted({r[6] for r in rows if r[5] not in clip_paths and r[6]})
    by_sha = dict(cur.execute(
        "SELECT sha256, any_value(path) FROM clips WHERE list_contains(?, sha256) "
        "GROUP BY sha256", [lost]).fetchall()) if lost else {}
    aux_ids = sorted({a for r in rows for a in json.loads(r[7] or "[]")})
    aux_paths = dict(cur.execute(
        "SELECT id, path FROM aux_clips WHERE list_contains(?, id)", [aux_ids]).fetchall())
    model_ids = sorted({m for r in rows for m in (r[3], r[4]) if m is not None})
    models = {m[0]: (m[1], m[2]) for m in cur.execute(
        "SELECT id, path, version FROM models WHERE list_contains(?, id)",
        [model_ids]).fetchall()}
    jobs = []
    for (take_id, _s, _o, gpt, sovits, clip_id, clip_sha, aux_json, text, text_lang,
         prompt_text, prompt_lang, params_json, extra_json, ord_) in rows:
        problem = None
        rel = clip_paths.get(clip_id) or by_sha.get(clip_sha)
        aux = json.loads(aux_json or "[]")
        missing_aux = [a for a in aux if a not in aux_paths]
        if rel is None:
            problem = f"reference clip {clip_id} was deleted from the workspace"
        elif not ws.abspath(rel).is_file():
            problem = f"reference clip file is missing: {ws.abspath(rel)}"
        elif missing_aux:
            problem = f"aux clip(s) {', '.join(map(str, missing_aux))} were deleted"
        elif any(m is not None and m not in models for m in (gpt, sovits)):
            gone = [m for m in (gpt, sovits) if m is not None and m not in models]
            problem = f"model {gone[0]} was deleted from the workspace"
        request = None
        if problem is None:
            request = SynthesisRequest.from_params(
                Params.from_dict(json.loads(params_json)),
                text=text,
                text_lang=text_lang,
                ref_audio_path=str(ws.abspath(rel)),
                prompt_text=prompt_text,
                prompt_lang=prompt_lang,
                aux_ref_audio_paths=[str(ws.abspath(aux_paths[a])) for a in aux],
            )
        caps = None
        if gsv and sovits in models:
            caps = capabilities_for_version(models[sovits][1])
        jobs.append(Job(
            take_id=take_id, pair=(gpt, sovits), clip_id=clip_id, ord=ord_,
            request=request, problem=problem, caps=caps,
            extra=json.loads(extra_json) if extra_json else {},
        ))
    jobs.sort(key=job_order)
    return jobs, {mid: Path(p) for mid, (p, _) in models.items()}


def write_audio(ws: Workspace, batch: list[Outcome]) -> None:
    """Write the WAV of each made take atomically; a take that cannot be written fails.

    Example:
        >>> import rasv, tempfile
        >>> write_audio(rasv.open(tempfile.mkdtemp()), [])
    """
    takes_dir = ws.root / TAKES_DIR
    for o in batch:
        if not o.ok or o.audio is None:
            continue
        try:
            audio_io.write_wav(takes_dir / f"{o.job.take_id}.wav", o.audio.samples,
                               o.audio.sample_rate, tmp_prefix=tmp_prefix())
        except (OSError, RuntimeError, ValueError) as e:
            o.ok, o.error = False, f"cannot write the take's audio: {e}"


def commit(ws: Workspace, owner: str, outcomes: list[Outcome]) -> None:
    """Record finished takes (``done`` with their WAV, or ``failed``) that ``owner`` holds.

    Example:
        >>> import rasv, tempfile
        >>> commit(rasv.open(tempfile.mkdtemp()), "here:1:r", [])
    """
    if not outcomes:
        return
    rows = []
    for o in outcomes:
        extra = dict(o.job.extra)
        if o.engine_version:
            extra["engine_version"] = o.engine_version
        rows.append({
            "id": o.job.take_id,
            "status": "done" if o.ok else "failed",
            "error": None if o.ok else o.error,
            "audio_path": f"{TAKES_DIR}/{o.job.take_id}.wav" if o.ok else None,
            "duration_s": o.audio.duration_s if o.ok and o.audio is not None else None,
            "sample_rate": o.audio.sample_rate if o.ok and o.audio is not None else None,
            "engine": o.engine,
            "started_at": o.started_at,
            "finished_at": o.finished_at,
            "synth_s": o.synth_s,
            "attempts": o.attempts,
            "extra": json.dumps(extra, sort_keys=True),
        })
    cols = list(rows[0])
    values = ", ".join(["(" + ", ".join(["?"] * len(cols)) + ")"] * len(rows))
    params = [r[c] for r in rows for c in cols]
    with ws.store.transaction() as cur:
        # One statement per batch; the VALUES list is typed by its first row, so cast.
        cur.execute(
            f"""
            UPDATE takes SET status = b.status, error = b.error::VARCHAR,
                audio_path = coalesce(b.audio_path::VARCHAR, takes.audio_path),
                duration_s = coalesce(b.duration_s::DOUBLE, takes.duration_s),
                sample_rate = coalesce(b.sample_rate::INTEGER, takes.sample_rate),
                engine = b.engine, started_at = b.started_at::TIMESTAMP,
                finished_at = b.finished_at::TIMESTAMP, synth_s = b.synth_s::DOUBLE,
                attempts = takes.attempts + b.attempts::INTEGER, extra = b.extra,
                run_owner = NULL
            FROM (VALUES {values}) AS b({", ".join(cols)})
            WHERE takes.id = b.id AND takes.run_owner = ?
            """,
            [*params, owner],
        )


def release(ws: Workspace, owner: str, status: str) -> None:
    """Give back the takes ``owner`` still holds, as ``status`` (pending or cancelled)."""
    with ws.store.transaction() as cur:
        cur.execute(
            "UPDATE takes SET status = ?, run_owner = NULL "
            "WHERE run_owner = ? AND status = 'running'",
            [status, owner],
        )


__all__ = ["Claim", "Outcome", "claim", "commit", "release", "write_audio"]
