"""A task's plan: its takes expanded from the spec, stored once, and read back as a table.

Example:
    >>> from rasv.testing import example
    >>> ex = example(transcript="ref", texts=["hi", "yo"], run=False); ws, t = ex.ws, ex.task
    >>> len(plan_frame(ws, t, lambda name, value: None))
    2
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.tasks.grid import PlannedTake, TaskSpec, expand
from rasv.tasks.records import Task
from rasv.tasks.resolve import aux_infos, clip_infos, model_infos, referenced

if TYPE_CHECKING:
    from rasv.workspace import Workspace


def plan_takes(ws: Workspace, spec: TaskSpec, role_id: int, kind: str) -> list[PlannedTake]:
    """The takes ``spec`` expands to, with the clips, models and aux clips it names looked up.

    Example:
        >>> from rasv.testing import example
        >>> ex = example(transcript="ref", texts=["hi"], repeats=2, run=False)
        >>> ws, r, t = ex.ws, ex.role, ex.task
        >>> [k.take_id for k in plan_takes(ws, t.spec, r.id, "fake")] == list(t.plan().take_id)
        True
    """
    ids = referenced(spec)
    clips = clip_infos(ws, ids["clip"], role_id)
    models = model_infos(ws, ids["model"])
    aux = aux_infos(ws, ids["aux"])
    return expand(spec, kind, clips=clips, models=models, aux=aux)

def materialise(ws: Workspace, t: Task, takes: list[PlannedTake]) -> None:
    """Store ``takes`` as the plan of task ``t`` (once: a planned task is left alone).

    A take another task already planned is linked, not stored again (ids are content hashes).

    Example:
        >>> from rasv.testing import example
        >>> ex = example(transcript="ref", texts=["hi"], run=False); ws, t = ex.ws, ex.task
        >>> materialise(ws, t, []); len(t.plan())   # planned by create(): unchanged
        1
    """
    takes_df = pd.DataFrame({
        "id": [k.take_id for k in takes],
        "engine_kind": t.engine_kind,
        "clip_id": pd.array([k.clip_id for k in takes], dtype="Int64"),
        "clip_sha256": [k.clip_sha256 for k in takes],
        "gpt_id": pd.array([k.gpt_id for k in takes], dtype="Int64"),
        "sovits_id": pd.array([k.sovits_id for k in takes], dtype="Int64"),
        "gpt_sha256": pd.array([k.gpt_sha256 for k in takes], dtype="string"),
        "sovits_sha256": pd.array([k.sovits_sha256 for k in takes], dtype="string"),
        "aux_ids": [json.dumps(list(k.aux_ids)) for k in takes],
        "text_id": pd.array([k.text_id for k in takes], dtype="Int64"),
        "text": [k.text for k in takes],
        "text_lang": [k.text_lang for k in takes],
        "prompt_text": [k.prompt_text for k in takes],
        "prompt_lang": [k.prompt_lang for k in takes],
        "params": [json.dumps(k.params.canonical(), sort_keys=True) for k in takes],
        **{
            n: pd.array([getattr(k.params, n) for k in takes], dtype=dt)
            for n, dt in (("top_k", "Int64"), ("top_p", "Float64"),
                          ("temperature", "Float64"), ("text_split_method", "string"),
                          ("speed_factor", "Float64"), ("sample_steps", "Int64"),
                          ("super_sampling", "boolean"), ("repetition_penalty", "Float64"),
                          ("seed", "Int64"))
        },
        "extra": [json.dumps({"aux_sha256": list(k.aux_sha256s)}) for k in takes],
    })
    links_df = pd.DataFrame({
        "task_id": t.id,
        "take_id": takes_df["id"],
        "ord": [k.ord for k in takes],
        "clip_id": takes_df["clip_id"],
        "text_id": takes_df["text_id"],
        "combo": [k.combo for k in takes],
    })
    cols = ", ".join(takes_df.columns)
    with ws.store.transaction() as cur:
        # Another process may have planned the task meanwhile: the file lock serialises us,
        # so checking inside the transaction is enough.
        if cur.execute("SELECT count(*) FROM task_takes WHERE task_id = ?",
                       [t.id]).fetchall()[0][0]:
            return
        cur.register("_rasv_new_takes", takes_df)
        cur.register("_rasv_new_links", links_df)
        try:
            cur.execute(
                f"INSERT INTO takes ({cols}) SELECT {cols} FROM _rasv_new_takes "
                "ON CONFLICT DO NOTHING"
            )
            cur.execute(
                "INSERT INTO task_takes (task_id, take_id, ord, clip_id, text_id, combo) "
                "SELECT task_id, take_id, ord, clip_id, text_id, combo FROM _rasv_new_links"
            )
        finally:
            cur.unregister("_rasv_new_takes")
            cur.unregister("_rasv_new_links")

def plan_frame(ws: Workspace, t: Task, describe: Callable[[str, Any], str | None]) -> pd.DataFrame:
    """One row per planned take of ``t``; ``describe`` names values in combination labels.

    Example:
        >>> from rasv.testing import example
        >>> ex = example(transcript="ref", texts=["hi"], vary={"top_k": [5, 9]}, run=False)
        >>> ws, t = ex.ws, ex.task
        >>> plan_frame(ws, t, lambda name, value: None).label.tolist()
        ['top_k=5', 'top_k=9']
    """
    df = ws.store.df(
        """
        SELECT tt.ord, tt.take_id, tt.combo, tt.clip_id, c.name AS clip_name, tt.text_id,
               k.text, k.text_lang, k.gpt_id, k.sovits_id, k.aux_ids, k.top_k, k.top_p,
               k.temperature, k.text_split_method, k.speed_factor, k.sample_steps,
               k.super_sampling, k.repetition_penalty, k.seed, k.status, k.attempts,
               k.error, k.audio_path, k.duration_s, k.engine
        FROM task_takes tt
        JOIN takes k ON k.id = tt.take_id
        LEFT JOIN clips c ON c.id = tt.clip_id
        WHERE tt.task_id = ?
        ORDER BY tt.ord
        """,
        [t.id],
    )
    labels = {c.index: c.label(describe) for c in t.spec.combinations()}
    df.insert(3, "label", df["combo"].map(labels))
    df["aux_ids"] = df["aux_ids"].map(json.loads)
    return df


__all__ = ["materialise", "plan_frame", "plan_takes"]
