"""Takes: the synthesised results of tasks, listed for review.

``ws.takes.df(task)`` is the review table. It answers the questions RefAudioSelectorV2's
evaluation screen answers, plus a few it could not: takes nested in any order of clip, text
and parameter; sorted by duration (the default: for one text, a take much longer than its
neighbours usually repeats or pauses, a much shorter one swallowed words), score, any metric
or parameter; filtered by values and ranges. Each row carries the parameters that differ
inside the task as a compact label (``k=5 p=0.8``), the duration per spoken unit
(:func:`rasv.langs.count_units`) and its z-score among the takes of the same text, and the
take's latest score.

Filters are keyword arguments named after columns (aliases in :data:`FILTER_ALIASES`):

* a scalar keeps equal values: ``top_k=5``, ``status="done"``;
* a list or set keeps any of its values: ``top_k=[5, 10]``, ``clip_category=["happy"]``;
* a tuple ``(low, high)`` is an inclusive range, ``None`` for an open end:
  ``duration_s=(2, 6)``, ``stars=(4, None)``, ``dnsmos_ovrl=(3.0, None)``;
* ``remark="breath"`` keeps scores whose remark contains the text (case-insensitive);
* ``scored=True`` / ``False`` keeps takes with / without a star score.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> try:
    ...     ws.takes.get("nope")
    ... except rasv.TakeNotFound as e:
    ...     print(e)
    take nope does not exist in this workspace
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasv.engine import Audio
from rasv.errors import AudioError, InvalidInput, TakeNotFound, TaskNotFound
from rasv.langs import count_units
from rasv.params import Params

if TYPE_CHECKING:
    from rasv.audio.spectrogram import Envelope, Spectrogram
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
                 "suspicion": "listen_rank"}

_TAKE_COLS = (
    "id, status, engine_kind, clip_id, clip_sha256, gpt_id, sovits_id, aux_ids, text_id, text,"
    " text_lang, prompt_text, prompt_lang, params, seed, audio_path, duration_s, sample_rate,"
    " engine, error, attempts, synth_s, created_at, finished_at"
)


@dataclass(frozen=True)
class Take:
    """One synthesised (or pending, or failed) result: a clip, a text and full parameters.

    ``id`` is a hash of everything that changes the audio, so the same id always names the
    same audio. ``audio_path`` is workspace-relative (``audio/takes/<id>.wav``).

    Example:
        >>> t = Take(id="ab", status="done", engine_kind="fake", clip_id=1, text="你好",
        ...          text_lang="zh", params=Params(top_k=5, seed=3))
        >>> t.params.top_k, t.seed
        (5, 3)
    """

    id: str
    status: str
    engine_kind: str
    clip_id: int | None
    text: str
    text_lang: str
    params: Params
    clip_sha256: str | None = None
    gpt_id: int | None = None
    sovits_id: int | None = None
    aux_ids: tuple[int, ...] = ()
    text_id: int | None = None
    prompt_text: str = ""
    prompt_lang: str = ""
    audio_path: str | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    engine: str | None = None
    error: str | None = None
    attempts: int = 0
    synth_s: float | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def seed(self) -> int | None:
        """The seed the take was made with."""
        return self.params.seed


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


def _take_from_row(row: Sequence[Any]) -> Take:
    d = dict(zip([c.strip() for c in _TAKE_COLS.split(",")], row, strict=True))
    d["params"] = parse_params(d.pop("params"), d.pop("seed"))
    d["aux_ids"] = tuple(json.loads(d["aux_ids"] or "[]"))
    d["attempts"] = d["attempts"] or 0
    d["prompt_text"] = d["prompt_text"] or ""
    d["prompt_lang"] = d["prompt_lang"] or ""
    return Take(**d)


def task_id_of(task: Any) -> int:
    """The id of a task given as a record with ``.id`` or as an int.

    Example:
        >>> task_id_of(3)
        3
    """
    tid = getattr(task, "id", task)
    if isinstance(tid, bool) or not isinstance(tid, (int, np.integer)):
        raise InvalidInput(f"a task is a Task or a task id, not {task!r}")
    return int(tid)


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


class Takes:
    """``ws.takes``: list, load and draw takes."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- single takes ------------------------------------------------------------------------

    def get(self, take_id: str) -> Take:
        """One take by id.

        Raises:
            TakeNotFound: no take has this id.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.takes.exists("x")
            False
        """
        rows = self._ws.store.rows(f"SELECT {_TAKE_COLS} FROM takes WHERE id = ?", [str(take_id)])
        if not rows:
            raise TakeNotFound(take_id)
        return _take_from_row(rows[0])

    def exists(self, take_id: str) -> bool:
        """True when a take with this id exists (in any state).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> t = ws.tasks.create(r, "x", ["你好。"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> take = ws.takes.df(t).id[0]
            >>> ws.takes.exists(take), ws.takes.exists("0" * 32)
            (True, False)
        """
        return bool(self._ws.store.scalar("SELECT count(*) FROM takes WHERE id = ?",
                                          [str(take_id)]))

    def abspath(self, take_id: str) -> Path:
        """The absolute path of a done take's audio file.

        Raises:
            AudioError: the take has no audio yet (pending, failed) or its file is missing.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> t = ws.tasks.create(r, "x", ["你好。"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> take = ws.takes.df(t).id[0]
            >>> ws.takes.abspath(take).relative_to(ws.root).as_posix() == f"audio/takes/{take}.wav"
            True
        """
        take = self.get(take_id)
        if take.status != "done" or not take.audio_path:
            raise AudioError(f"take {take_id} has no audio (status {take.status})")
        path = self._ws.abspath(take.audio_path)
        assert path is not None  # audio_path is set
        if not path.exists():
            raise AudioError(f"the audio file of take {take_id} is missing: {path}")
        return path

    def audio(self, take_id: str) -> Audio:
        """Load a take's audio as :class:`~rasv.Audio` (float32 mono, its own rate).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> t = ws.tasks.create(r, "x", ["你好。"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> take = ws.takes.df(t).id[0]
            >>> a = ws.takes.audio(take)
            >>> a.samples.dtype, a.sample_rate
            (dtype('float32'), 32000)
        """
        from rasv.audio import files as audio_io

        x, sr = audio_io.read(self.abspath(take_id))
        return Audio(x, sr)

    # -- visuals -----------------------------------------------------------------------------

    def _visuals(self, take_id: str, **opts: Any) -> tuple[Spectrogram, Envelope]:
        from rasv.audio import files as audio_io
        from rasv.audio.spectrogram import VISUALS_DIR, VisualCache

        cache = VisualCache(self._ws.root / VISUALS_DIR)
        # The take is looked up only on a cache miss: a take id names fixed audio, so a
        # cached file is valid without asking the database (a panel draws many at once).
        return cache.get(str(take_id), lambda: audio_io.read(self.abspath(take_id)), **opts)

    def spectrogram(self, take_id: str, **opts: Any) -> Spectrogram:
        """The take's mel spectrogram at display resolution, cached per take.

        ``opts`` are the display settings of :func:`rasv.audio.spectrogram.compute_spectrogram`
        (``n_mels``, ``max_frames``, ``top_db``).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> t = ws.tasks.create(r, "x", ["你好。"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> take = ws.takes.df(t).id[0]
            >>> spec = ws.takes.spectrogram(take, n_mels=64)
            >>> spec.db.shape[0], spec.sample_rate   # mel bands, the take's own rate
            (64, 32000)
        """
        return self._visuals(take_id, **opts)[0]

    def waveform(self, take_id: str, **opts: Any) -> Envelope:
        """The take's waveform envelope (min/max per column), cached with the spectrogram.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> t = ws.tasks.create(r, "x", ["你好。"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> take = ws.takes.df(t).id[0]
            >>> env = ws.takes.waveform(take)
            >>> bool((env.lo <= env.hi).all())
            True
        """
        return self._visuals(take_id, **opts)[1]

    def figure(self, take_id: str, show: str = "both", *, title: str | None = None,
               **opts: Any) -> Any:
        """A Plotly figure of the take's waveform, spectrogram or both.

        ``show`` is ``"spectrogram"``, ``"waveform"`` or ``"both"`` (waveform above the
        spectrogram on one time axis).

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> t = ws.tasks.create(r, "x", ["你好。"], clips=[c], engine="fake")
            >>> _ = ws.tasks.run(t, FakeEngine())
            >>> take = ws.takes.df(t).id[0]
            >>> fig = ws.takes.figure(take, show="spectrogram", title="你好。")
            >>> type(fig).__name__, fig.layout.title.text
            ('Figure', '你好。')
        """
        from rasv.audio.spectrogram import show as draw

        return draw(*self._visuals(take_id, **opts), show, title=title)

    # -- review table ------------------------------------------------------------------------

    def df(
        self,
        task: Any = None,
        *,
        role: Any = None,
        group_by: Sequence[str] | str | None = None,
        sort: str = "duration",
        descending: bool = False,
        **filters: Any,
    ) -> pd.DataFrame:
        """The takes of a task (or of every task of a role) as a review table.

        Args:
            task: a task record or id. Leave it out and give ``role`` to list the takes of
                every task of that role (the long-text tab's picker), or neither for the
                takes of every task (long-text chunks, which belong to no task, are left out).
            group_by: any order of ``"clip"``, ``"text"``, ``"param"`` (or a subset). Rows
                come out nested in that order, groups in plan order, and sorted by ``sort``
                inside the innermost group. ``df.attrs["group_by"]`` names the grouping
                columns for ``df.groupby(..., sort=False)``.
            sort: ``"duration"`` (default), ``"score"``, ``"param"`` (the varied
                parameters, in label order), ``"plan"`` (task order), ``"suspicion"`` (the
                listen-first order of ``ws.analysis``: likely bad takes first), any metric
                name, or any column (``top_k``, ``dur_z`` …).
            descending: reverse the sort (groups keep their order); missing values last.
            **filters: see the module docstring.

        Columns: id, status, error, audio_path (workspace-relative), duration_s, sample_rate,
        clip_id, clip_name, clip_category, prompt_text, text, text_lang, text_id, gpt_id,
        gpt, sovits_id, sovits, aux_ids, aux, top_k, top_p, temperature, text_split_method,
        speed_factor, sample_steps, super_sampling, repetition_penalty, batch_size,
        fragment_interval, seed, params_label, units, dur_per_unit, dur_z, stars, tags,
        remark, rater, scored_at, n_score_events, ord, combo, engine, then one column per
        metric, then for a task ``suspicion, listen_rank, flags, reason, promise`` (see
        :meth:`rasv.analysis.Analysis.suspicion`; NaN until ``ws.analyze(task)`` ran).
        ``df.attrs["varied"]`` lists the varied dimensions.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.takes.df().empty
            True
        """
        base = self._base(task, role)
        base.attrs["varied"] = varied = varied_dims(base)
        base["params_label"] = params_labels(base, varied)
        _add_duration_stats(base)
        base = _add_metrics(self._ws, base)
        if task is not None:
            base = _add_suspicion(self._ws, base, task)
        out = apply_filters(base, filters)
        out = arrange(out, group_by=group_by, sort=sort, descending=descending, varied=varied)
        return out

    def _base(self, task: Any, role: Any) -> pd.DataFrame:
        if task is not None:
            tid = task_id_of(task)
            if not self._ws.store.scalar("SELECT count(*) FROM tasks WHERE id = ?", [tid]):
                raise TaskNotFound(tid)
            scope, params = "WHERE task_id = $task", {"task": tid}
        elif role is not None:
            rid = self._ws.roles.resolve_id(role)
            scope = "WHERE task_id IN (SELECT id FROM tasks WHERE role_id = $role)"
            params = {"role": rid}
        else:
            scope, params = "", {}
        sql = f"""
            WITH tt AS (
                SELECT take_id, min(ord) AS ord, min(combo) AS combo, min(task_id) AS task_id
                FROM task_takes {scope} GROUP BY take_id
            ),
            ev AS (
                SELECT take_id, count(*) AS n_score_events FROM scores
                WHERE NOT long_text GROUP BY take_id
            ),
            latest AS (
                SELECT take_id, stars, tags, remark, rater, created_at AS scored_at FROM scores
                WHERE NOT long_text
                QUALIFY row_number() OVER (PARTITION BY take_id ORDER BY id DESC) = 1
            )
            SELECT t.id, t.status, t.error, t.audio_path, t.duration_s, t.sample_rate,
                   t.clip_id, c.name AS clip_name, c.category AS clip_category,
                   t.prompt_text, t.text, t.text_lang, t.text_id,
                   t.gpt_id, t.sovits_id, t.aux_ids, t.params,
                   t.top_k, t.top_p, t.temperature, t.text_split_method, t.speed_factor,
                   t.sample_steps, t.super_sampling, t.repetition_penalty, t.seed,
                   l.stars, coalesce(l.tags, []) AS tags, coalesce(l.remark, '') AS remark,
                   coalesce(l.rater, '') AS rater, l.scored_at,
                   coalesce(ev.n_score_events, 0) AS n_score_events,
                   tt.ord, tt.combo, tt.task_id, t.engine, t.engine_kind
            FROM tt JOIN takes t ON t.id = tt.take_id
            LEFT JOIN clips c ON c.id = t.clip_id
            LEFT JOIN latest l ON l.take_id = t.id
            LEFT JOIN ev ON ev.take_id = t.id
            ORDER BY tt.ord, t.id
        """
        df = self._ws.store.df(sql, params)
        return _expand_params(self._ws, df)

    def varied(self, task: Any) -> list[str]:
        """The dimensions (besides clip and text) whose values differ inside a task.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.takes.varied(None)
            []
        """
        return varied_dims(self._base(task, None))

    # -- export ------------------------------------------------------------------------------

    def export(self, task: Any, dest: str | os.PathLike, *, format: str | None = None,
               **df_kwargs: Any) -> Path:
        """Write the review table of a task to CSV or Parquet (by ``format`` or extension).

        Example:
            >>> import rasv, tempfile, os
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> p = ws.takes.export(None, os.path.join(ws.root, "t.csv"))
            >>> p.exists()
            True
        """
        df = self.df(task, **df_kwargs)
        return write_table(df, dest, format=format)


# -- table building (pure functions over DataFrames) -----------------------------------------


def _expand_params(ws: Workspace, df: pd.DataFrame) -> pd.DataFrame:
    """Fill the parameter columns from the stored JSON, and the model and aux labels."""
    df = df.copy()
    n = len(df)
    parsed = [parse_params(p, s if not pd.isna(s) else None)
              for p, s in zip(df["params"], df["seed"], strict=True)] if n else []
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
        values = {_hashable(v) for v in df[d]}
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


def _add_duration_stats(df: pd.DataFrame) -> None:
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


def _add_metrics(ws: Workspace, df: pd.DataFrame) -> pd.DataFrame:
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


def _add_suspicion(ws: Workspace, df: pd.DataFrame, task: Any) -> pd.DataFrame:
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
    "Take",
    "Takes",
    "apply_filters",
    "arrange",
    "model_labels",
    "params_labels",
    "parse_params",
    "task_id_of",
    "varied_dims",
    "write_table",
]
