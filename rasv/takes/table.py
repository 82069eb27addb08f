"""The review table of takes, built by pure functions over DataFrames.

``ws.takes.df`` reads the rows (:mod:`rasv.takes.namespace`); here they get their parameter
columns and labels, duration statistics, metrics and listen-first columns, then are filtered,
nested and sorted.

Filters are keyword arguments named after columns (aliases in :data:`FILTER_ALIASES`):

* a scalar keeps equal values: ``top_k=5``, ``status="done"``;
* a list or set keeps any of its values: ``top_k=[5, 10]``, ``clip_category=["happy"]``;
* a tuple ``(low, high)`` is an inclusive range, ``None`` for an open end:
  ``duration_s=(2, 6)``, ``stars=(4, None)``, ``dnsmos_ovrl=(3.0, None)``;
* ``remark="breath"`` keeps scores whose remark contains the text (case-insensitive);
* ``scored=True`` / ``False`` keeps takes with / without a star score.

Example:
    >>> d = pd.DataFrame({"top_k": [5, 10], "top_p": [0.8, 0.8]})
    >>> params_labels(d, varied_dims(d))
    ['k=5', 'k=10']
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasv.errors import InvalidInput
from rasv.langs import count_units
from rasv.params import Params

if TYPE_CHECKING:
    from rasv.workspace import Workspace

#: Group keys accepted by ``group_by`` and the column each groups on.
GROUP_KEYS: dict[str, str] = {"clip": "clip_id", "text": "text", "param": "params_label"}

#: Dimensions that may vary inside a task besides the clip and the text, in label order,
#: with the short name used in ``params_label``.
PARAM_DIMS: dict[str, str] = {
    "gpt": "gpt",
    "sovits": "sovits",
    "aux": "aux",
    "top_k": "k",
    "top_p": "p",
    "temperature": "t",
    "text_split_method": "cut",
    "speed_factor": "speed",
    "sample_steps": "steps",
    "super_sampling": "sr",
    "repetition_penalty": "rep",
    "batch_size": "bs",
    "fragment_interval": "gap",
    "parallel_infer": "parallel",
    "split_bucket": "bucket",
    "batch_threshold": "bt",
}

#: Friendlier names accepted for sorting and filtering.
FILTER_ALIASES: dict[str, str] = {
    "duration": "duration_s",
    "score": "stars",
    "category": "clip_category",
    "categories": "clip_category",
    "clip": "clip_id",
    "clips": "clip_id",
    "texts": "text",
    "k": "top_k",
    "p": "top_p",
    "t": "temperature",
    "speed": "speed_factor",
    "steps": "sample_steps",
}

_SORT_ALIASES = {"duration": "duration_s", "score": "stars", "plan": "ord",
                 "suspicion": "listen_rank", "ask": "ask_rank"}



def parse_params(raw: str | None, seed: int | None = None) -> Params:
    """A take's stored ``params`` JSON as :class:`~rasv.Params` (``seed`` column wins).

    Example:
        >>> parse_params('{"top_k": 5, "noise_scale": 0.4}', seed=2).extra
        {'noise_scale': 0.4}
    """
    data = json.loads(raw) if raw else {}
    if seed is not None:
        data["seed"] = int(seed)
    return Params.from_dict(data)



def model_labels(ws: Workspace, ids: Iterable[Any]) -> dict[int, str]:
    """Short labels (``exp e8 s96``, or the user's label) of model ids.

    Example:
        >>> import rasv, tempfile
        >>> model_labels(rasv.open(tempfile.mkdtemp()), [])
        {}
    """
    wanted = sorted({int(i) for i in ids if i is not None and not pd.isna(i)})
    if not wanted:
        return {}
    models = ws.models.df()
    out = {int(i): str(label) for i, label in zip(models["id"], models["label"], strict=True)
           if int(i) in wanted}
    for i in wanted:
        out.setdefault(i, f"#{i} (deleted)")
    return out



def expand_params(ws: Workspace, df: pd.DataFrame) -> pd.DataFrame:
    """Fill the parameter columns from the stored JSON, and the model and aux labels."""
    df = df.copy()
    n = len(df)
    # A grid repeats a few settings thousands of times: parse each distinct one once
    # (Params is frozen, so rows may share it).
    cache: dict[tuple[Any, Any], Params] = {}
    parsed = []
    for p, s in zip(df["params"].tolist(), df["seed"].tolist(), strict=True):
        key = (p, None if s is None or pd.isna(s) else int(s))
        if key not in cache:
            cache[key] = parse_params(*key)
        parsed.append(cache[key])
    for name in ("top_k", "top_p", "temperature", "text_split_method", "speed_factor",
                 "sample_steps", "super_sampling", "repetition_penalty", "batch_size",
                 "fragment_interval", "parallel_infer", "split_bucket", "batch_threshold"):
        df[name] = [getattr(p, name) for p in parsed] if n else pd.Series(dtype=object)
    df["seed"] = pd.array([p.seed for p in parsed], dtype="Int64") if n else pd.Series(
        dtype="Int64")
    extras = sorted({k for p in parsed for k in p.extra})
    for k in extras:
        col = k if k not in df.columns else f"extra_{k}"
        df[col] = [json.dumps(p.extra[k], sort_keys=True) if k in p.extra else None
                   for p in parsed]
    df.attrs["extra_params"] = [k if k not in df.columns else f"extra_{k}" for k in extras]
    df = df.drop(columns=["params"])
    labels = model_labels(ws, list(df["gpt_id"]) + list(df["sovits_id"]))
    df.insert(df.columns.get_loc("gpt_id") + 1, "gpt",
              [labels.get(int(i)) if not pd.isna(i) else None for i in df["gpt_id"]])
    df.insert(df.columns.get_loc("sovits_id") + 1, "sovits",
              [labels.get(int(i)) if not pd.isna(i) else None for i in df["sovits_id"]])
    aux = [tuple(sorted(json.loads(a or "[]"))) for a in df["aux_ids"]]
    df["aux_ids"] = aux
    df.insert(df.columns.get_loc("aux_ids") + 1, "aux",
              [",".join(str(i) for i in a) if a else "" for a in aux])
    return df


def varied_dims(df: pd.DataFrame) -> list[str]:
    """Parameter dimensions with more than one value in ``df`` (in label order).

    Example:
        >>> varied_dims(pd.DataFrame({"top_k": [5, 10], "top_p": [1.0, 1.0]}))
        ['top_k']
    """
    dims = [d for d in PARAM_DIMS if d in df.columns]
    dims += [d for d in df.attrs.get("extra_params", []) if d in df.columns]
    out = []
    for d in dims:
        values = {_hashable(v) for v in df[d].tolist()}  # a list iterates faster than Arrow
        if len(values) > 1:
            out.append(d)
    return out


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, np.ndarray)):
        return tuple(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return str(v)


def params_labels(df: pd.DataFrame, varied: Sequence[str]) -> list[str]:
    """The compact label of each row's varied parameters, e.g. ``k=5 p=0.8``.

    Models show their labels, aux sets their pool ids; the seed is not part of the label
    (repeats of one setting share a label).

    Example:
        >>> params_labels(pd.DataFrame({"top_k": [5], "top_p": [0.8]}), ["top_k", "top_p"])
        ['k=5 p=0.8']
    """
    if not varied:
        return [""] * len(df)
    parts = []
    for d in varied:
        short = PARAM_DIMS.get(d, d)
        col = df[d]
        if d == "aux":
            parts.append([f"aux=[{v}]" for v in col])
        elif d in ("gpt", "sovits"):
            parts.append([f"{short}={_fmt(v)}" for v in col])
        else:
            parts.append([f"{short}={_fmt(v)}" for v in col])
    return [" ".join(p) for p in zip(*parts, strict=True)]


def add_duration_stats(df: pd.DataFrame) -> None:
    """``units``, ``dur_per_unit`` and ``dur_z`` (z-score among done takes of one text)."""
    units = [max(count_units(t or ""), 1) for t in df["text"]]
    df["units"] = units
    dur = pd.to_numeric(df["duration_s"], errors="coerce")
    done = df["status"] == "done"
    df["dur_per_unit"] = np.where(done, dur / np.asarray(units, dtype=float), np.nan)
    z = pd.Series(np.nan, index=df.index, dtype=float)
    keyed = pd.Series([f"{t}\x00{lang}" for t, lang in zip(df["text"], df["text_lang"],
                                                        strict=True)], index=df.index)[done]
    for _, idx in keyed.groupby(keyed).groups.items():
        vals = df.loc[idx, "dur_per_unit"].astype(float)
        if len(vals) < 2:
            continue
        sd = vals.std(ddof=0)
        z.loc[idx] = 0.0 if sd == 0 else (vals - vals.mean()) / sd
    df["dur_z"] = z


def add_metrics(ws: Workspace, df: pd.DataFrame) -> pd.DataFrame:
    """One column per metric name (latest value per take and name)."""
    if df.empty:
        df.attrs["metrics"] = []
        return df
    m = ws.store.df(
        """
        SELECT take_id, name, value FROM metrics WHERE list_contains($ids, take_id)
        QUALIFY row_number() OVER (PARTITION BY take_id, name ORDER BY created_at DESC) = 1
        """,
        {"ids": list(df["id"])},
    )
    if m.empty:
        df.attrs["metrics"] = []
        return df
    wide = m.pivot(index="take_id", columns="name", values="value")
    rename = {c: (c if c not in df.columns else f"metric_{c}") for c in wide.columns}
    wide = wide.rename(columns=rename)
    attrs = dict(df.attrs)
    out = df.merge(wide, how="left", left_on="id", right_index=True)
    out.attrs = attrs
    out.attrs["metrics"] = list(rename.values())
    return out


def add_suspicion(ws: Workspace, df: pd.DataFrame, task: Any) -> pd.DataFrame:
    """The listen-first columns of :meth:`rasv.analysis.Analysis.suspicion`: ``suspicion``
    (0–1), ``listen_rank`` (1 = hear first; what ``sort="suspicion"`` sorts by), ``flags``
    (suggested tag keys), ``reason`` and ``promise``. Takes not analysed yet get NaN, no flags.
    """
    attrs = dict(df.attrs)
    order = ws.analysis.suspicion(task)
    cols = {"suspicion": "suspicion", "rank": "listen_rank", "flags": "flags",
            "reason": "reason", "promise": "promise"}
    order = order[["take_id", *cols]].rename(columns=cols)
    out = df.merge(order, how="left", left_on="id", right_on="take_id").drop(columns="take_id")
    out["flags"] = [f if isinstance(f, list) else [] for f in out["flags"]]
    out["reason"] = [r if isinstance(r, str) else "" for r in out["reason"]]
    out.attrs = attrs
    return out


def apply_filters(df: pd.DataFrame, filters: dict[str, Any]) -> pd.DataFrame:
    """Keep the rows matching every filter (see the module docstring for the forms).

    Example:
        >>> d = pd.DataFrame({"top_k": [5, 10, 15], "duration_s": [1.0, 2.0, 3.0]})
        >>> apply_filters(d, {"top_k": [5, 15], "duration": (2.5, None)}).top_k.tolist()
        [15]
    """
    mask = pd.Series(True, index=df.index)
    for key, value in filters.items():
        if value is None:
            continue
        if key == "remark":
            mask &= df["remark"].fillna("").str.contains(str(value), case=False, regex=False)
            continue
        if key == "scored":
            has = df["stars"].notna()
            mask &= has if value else ~has
            continue
        if key == "tags":
            wanted = {value} if isinstance(value, str) else set(value)
            mask &= df["tags"].map(lambda ts, w=wanted: bool(w & set(ts if ts is not None else [])))
            continue
        col = FILTER_ALIASES.get(key, key)
        if col not in df.columns:
            raise InvalidInput(
                f"cannot filter takes on {key!r}; columns: {', '.join(map(str, df.columns))}"
            )
        series = df[col]
        if col == "clip_id" and _names_clips(value):
            series = df["clip_name"]
        if col == "text" and _all_ints(value):
            series = df["text_id"]
        if isinstance(value, tuple):
            if len(value) != 2:
                raise InvalidInput(f"a range filter is (low, high), got {value!r} for {key}")
            lo, hi = value
            num = pd.to_numeric(series, errors="coerce")
            if lo is not None:
                mask &= num >= lo
            if hi is not None:
                mask &= num <= hi
        elif isinstance(value, (list, set, frozenset)):
            mask &= series.map(_hashable).isin([_hashable(v) for v in value])
        else:
            mask &= series.map(_hashable) == _hashable(value)
    out = df[mask.fillna(False).astype(bool)]
    out.attrs = dict(df.attrs)
    return out


def _names_clips(value: Any) -> bool:
    values = value if isinstance(value, (list, set, frozenset)) else [value]
    return bool(values) and all(isinstance(v, str) for v in values)


def _all_ints(value: Any) -> bool:
    values = value if isinstance(value, (list, set, frozenset)) else [value]
    return bool(values) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                for v in values)


def arrange(df: pd.DataFrame, *, group_by: Sequence[str] | str | None, sort: str,
            descending: bool, varied: Sequence[str]) -> pd.DataFrame:
    """Nest rows by ``group_by`` (groups in plan order) and sort inside the last group.

    Example:
        >>> d = pd.DataFrame({"id": ["a", "b", "c"], "clip_id": [2, 1, 2], "ord": [0, 1, 2],
        ...                   "duration_s": [3.0, 1.0, 2.0]})
        >>> arrange(d, group_by=["clip"], sort="duration", descending=False, varied=[]).id.tolist()
        ['c', 'a', 'b']
    """
    attrs = dict(df.attrs)
    if isinstance(group_by, str):
        group_by = [group_by]
    group_by = list(group_by or [])
    unknown = [g for g in group_by if g not in GROUP_KEYS]
    if unknown or len(set(group_by)) != len(group_by):
        raise InvalidInput(f"group_by takes distinct keys among {', '.join(GROUP_KEYS)}; "
                           f"got {group_by}")
    work = df.copy()
    helper: list[str] = []
    for level, g in enumerate(group_by):
        col = GROUP_KEYS[g]
        first = work.groupby(work[col].map(_hashable), sort=False, dropna=False)["ord"]
        rank = first.transform("min")
        name = f"__g{level}"
        work[name] = rank.to_numpy()
        helper.append(name)
    sort_cols = _sort_columns(work, sort, varied)
    keys: list[str] = []
    ascending: list[bool] = []
    for h in helper:
        keys.append(h)
        ascending.append(True)
    for c in sort_cols:
        keys.append(c)
        ascending.append(not descending)
    keys.append("ord")
    ascending.append(True)
    keys.append("id")
    ascending.append(True)
    work = work.sort_values(keys, ascending=ascending, na_position="last", kind="stable")
    work = work.drop(columns=helper + [c for c in work.columns if c.startswith("__s")])
    work = work.reset_index(drop=True)
    work.attrs = attrs
    work.attrs["group_by"] = [GROUP_KEYS[g] for g in group_by]
    work.attrs["sort"] = sort
    return work


def _sort_columns(work: pd.DataFrame, sort: str, varied: Sequence[str]) -> list[str]:
    key = _SORT_ALIASES.get(sort, FILTER_ALIASES.get(sort, sort))
    if key == "param":
        cols = []
        for i, d in enumerate(varied):
            name = f"__s{i}"
            work[name] = work[d].map(_sortable)
            cols.append(name)
        return cols
    if key not in work.columns:
        metrics = work.attrs.get("metrics", [])
        options = ["duration", "score", "param", "plan", *metrics, "or any column"]
        raise InvalidInput(f"cannot sort takes by {sort!r}; use {', '.join(options)}")
    if work[key].dtype == object:
        work["__s0"] = work[key].map(_sortable)
        return ["__s0"]
    return [key]


def _sortable(v: Any) -> Any:
    """A sort key: numbers as they are, text in natural order (``e5`` before ``e10``)."""
    if isinstance(v, (tuple, list, np.ndarray)):
        return tuple(_natural(str(x)) for x in v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return _natural(v)
    return v


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(x) if x.isdigit() else x.lower() for x in re.split(r"(\d+)", text))


def _has(series: pd.Series, kind: type | tuple[type, ...]) -> bool:
    return series.dtype == object and any(isinstance(v, kind) for v in series)


def write_table(df: pd.DataFrame, dest: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write a DataFrame as CSV (UTF-8 with BOM, so Excel reads Chinese) or Parquet.

    List columns (tags, aux ids) become ``;``-joined text in CSV and real lists in Parquet.
    Parquet is written by DuckDB, so no pyarrow is needed. The file appears atomically.

    Example:
        >>> import tempfile, os
        >>> p = write_table(pd.DataFrame({"a": [1], "tags": [["电音", "复读"]]}),
        ...                 os.path.join(tempfile.mkdtemp(), "x.csv"))
        >>> p.read_text(encoding="utf-8-sig").splitlines()[1]
        '1,电音;复读'
    """
    import tempfile

    dest = Path(dest)
    if dest.is_dir():
        raise InvalidInput(f"{dest} is a folder; give the file to write, e.g. {dest / 'export.csv'}")
    fmt = (format or dest.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(f"export format must be csv or parquet, not {fmt!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=f".{fmt}", dir=dest.parent)
    os.close(fd)
    try:
        if fmt == "csv":
            flat = df.copy()
            for c in flat.columns:
                if _has(flat[c], (list, tuple, np.ndarray)):
                    flat[c] = flat[c].map(
                        lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray))
                        else v)
            flat.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            import duckdb

            table = df.copy()
            for c in table.columns:
                if _has(table[c], tuple):
                    table[c] = table[c].map(lambda v: list(v) if isinstance(v, tuple) else v)
            con = duckdb.connect(":memory:")  # a scratch database, never the workspace file
            try:
                con.register("export_table", table)
                target = tmp.replace("'", "''")
                con.execute(f"COPY export_table TO '{target}' (FORMAT parquet)")
            finally:
                con.close()
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest



__all__ = [
    "FILTER_ALIASES",
    "GROUP_KEYS",
    "PARAM_DIMS",
    "add_duration_stats",
    "add_metrics",
    "add_suspicion",
    "apply_filters",
    "arrange",
    "expand_params",
    "model_labels",
    "params_labels",
    "parse_params",
    "varied_dims",
    "write_table",
]
