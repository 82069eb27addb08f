"""The ``metrics`` table as a cache: one row per (take, metric), with backend and version.

A detector's results for a take are fresh when every metric it produces is stored with the
detector's current backend and version; anything else is recomputed and replaced. Rows are
written per take inside one transaction, so an interrupted analysis leaves whole results.

Example:
    >>> import rasv, tempfile
    >>> from rasv.analysis.measure import Measurement
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> save(ws, "take1", [(Measurement("hum_db", 3.5, {"mains_hz": 50}), "dsp", "1")])
    >>> fresh(ws, ["take1"])["take1"]["hum_db"]
    ('dsp', '1')
    >>> ws.close()
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from rasv.analysis.measure import Measurement


def fresh(ws: Any, take_ids: Sequence[str]) -> dict[str, dict[str, tuple[str, str]]]:
    """``take_id → {metric: (backend, version)}`` of what is stored for these takes.

    Example:
        >>> import rasv, tempfile
        >>> with rasv.open(tempfile.mkdtemp()) as ws:
        ...     fresh(ws, ["nope"])
        {}
    """
    out: dict[str, dict[str, tuple[str, str]]] = {}
    if not take_ids:
        return out
    rows = ws.store.rows(
        "SELECT take_id, name, backend, version FROM metrics WHERE list_contains(?, take_id)",
        [list(take_ids)],
    )
    for take, name, backend, version in rows:
        out.setdefault(take, {})[name] = (backend, version)
    return out


def save(ws: Any, take_id: str, results: Iterable[tuple[Measurement, str, str]]) -> None:
    """Replace a take's rows for the given metrics with new values, in one transaction.

    ``results`` holds ``(measurement, backend, version)`` triples.
    """
    rows = [
        (take_id, m.name, m.value, backend, version,
         None if m.detail is None else json.dumps(m.detail, ensure_ascii=False, default=float))
        for m, backend, version in results
    ]
    if not rows:
        return
    names = [r[1] for r in rows]
    # One multi-row INSERT: DuckDB's executemany runs a statement per row (~1 ms each).
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows))
    params = [v for r in rows for v in r]
    with ws.store.transaction() as cur:
        cur.execute("DELETE FROM metrics WHERE take_id = ? AND list_contains(?, name)",
                    [take_id, names])
        cur.execute(
            "INSERT INTO metrics (take_id, name, value, backend, version, detail)"
            f" VALUES {values}",
            params,
        )


def long_table(ws: Any, take_ids: Sequence[str] | None = None, *,
               task_id: int | None = None) -> pd.DataFrame:
    """Stored metrics as rows ``take_id, name, value, backend, version, detail`` (detail
    parsed from JSON), for some takes or for every take of a task.

    Example:
        >>> import rasv, tempfile
        >>> with rasv.open(tempfile.mkdtemp()) as ws:
        ...     long_table(ws, ["x"]).columns.tolist()[:3]
        ['take_id', 'name', 'value']
    """
    cols = "m.take_id, m.name, m.value, m.backend, m.version, m.detail"
    if task_id is not None:
        df = ws.store.df(
            f"SELECT {cols} FROM metrics m WHERE m.take_id IN "
            "(SELECT take_id FROM task_takes WHERE task_id = ?) ORDER BY m.take_id, m.name",
            [int(task_id)],
        )
    else:
        df = ws.store.df(
            f"SELECT {cols} FROM metrics m WHERE list_contains(?, m.take_id)"
            " ORDER BY m.take_id, m.name",
            [list(take_ids or [])],
        )
    df["detail"] = [json.loads(d) if isinstance(d, str) else None for d in df["detail"]]
    return df


def wide_table(long: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Pivot a long table to one row per take and one column per metric; also return the
    details as ``take_id → {metric: detail}``.

    Example:
        >>> import pandas as pd
        >>> long = pd.DataFrame({"take_id": ["a", "a"], "name": ["x", "y"], "value": [1.0, 2.0],
        ...                      "detail": [None, {"k": 1}]})
        >>> w, d = wide_table(long)
        >>> w.columns.tolist(), d["a"]["y"]
        (['take_id', 'x', 'y'], {'k': 1})
    """
    if long.empty:
        return pd.DataFrame({"take_id": pd.Series([], dtype=object)}), {}
    wide = long.pivot_table(index="take_id", columns="name", values="value", aggfunc="last",
                            dropna=False)
    wide.columns.name = None
    wide = wide.reset_index()
    details: dict[str, dict[str, Any]] = {}
    for take, name, detail in zip(long["take_id"], long["name"], long["detail"], strict=True):
        if detail is not None:
            details.setdefault(take, {})[name] = detail
    return wide, details


__all__ = ["fresh", "long_table", "save", "wide_table"]
