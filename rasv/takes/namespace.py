"""Takes: the synthesised results of tasks, listed for review.

``ws.takes.df(task)`` is the review table. It answers the questions RefAudioSelectorV2's
evaluation screen answers, plus a few it could not: takes nested in any order of clip, text
and parameter; sorted by duration (the default: for one text, a take much longer than its
neighbours usually repeats or pauses, a much shorter one swallowed words), score, any metric
or parameter; filtered by values and ranges. Each row carries the parameters that differ
inside the task as a compact label (``k=5 p=0.8``), the duration per spoken unit
(:func:`rasv.langs.count_units`) and its z-score among the takes of the same text, and the
take's latest score.

Filters are keyword arguments named after columns; :mod:`rasv.takes.table` lists their forms
(``top_k=[5, 10]``, ``duration_s=(2, 6)``, ``remark="breath"``, ``scored=True`` …).

Example:
    >>> from rasv.testing import raises, workspace
    >>> raises(workspace().takes.get, "nope")
    'TakeNotFound: take nope does not exist in this workspace'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.engine import Audio
from rasv.errors import AudioError, InvalidInput, TakeNotFound
from rasv.params import Params
from rasv.takes.table import (
    FILTER_ALIASES,
    GROUP_KEYS,
    PARAM_DIMS,
    add_duration_stats,
    add_metrics,
    add_suspicion,
    apply_filters,
    arrange,
    expand_params,
    model_labels,
    params_labels,
    parse_params,
    varied_dims,
    write_table,
)
from rasv.tasks.resolve import find_task_id, task_id_of

if TYPE_CHECKING:
    from rasv.audio.spectrogram import Envelope, Spectrogram
    from rasv.workspace import Workspace

#: Shortest take-id prefix :meth:`Takes.resolve` accepts (tables print 12 characters).
MIN_TAKE_PREFIX = 6

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


def _take_from_row(row: Sequence[Any]) -> Take:
    d = dict(zip([c.strip() for c in _TAKE_COLS.split(",")], row, strict=True))
    d["params"] = parse_params(d.pop("params"), d.pop("seed"))
    d["aux_ids"] = tuple(json.loads(d["aux_ids"] or "[]"))
    d["attempts"] = d["attempts"] or 0
    d["prompt_text"] = d["prompt_text"] or ""
    d["prompt_lang"] = d["prompt_lang"] or ""
    return Take(**d)


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
        return _take_from_row(self._ws.store.one_or_raise(
            f"SELECT {_TAKE_COLS} FROM takes WHERE id = ?", [str(take_id)], TakeNotFound(take_id)))

    def resolve(self, ref: Take | str) -> Take:
        """The take a reference means: a Take, its id, or a unique prefix of the id.

        Case does not matter; a prefix needs :data:`MIN_TAKE_PREFIX` characters (tables
        print 12). Every namespace and the CLI resolve take references through this rule.

        Raises:
            TakeNotFound: no take has this id or prefix, or the prefix is too short.
            InvalidInput: ``ref`` is not a Take or text, or several takes share the prefix.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(run=False); ws, t = ex.ws, ex.task
            >>> take = ws.takes.df(t).id[0]
            >>> ws.takes.resolve(take[:12].upper()).id == take
            True
        """
        if isinstance(ref, Take):
            ref = ref.id
        if not isinstance(ref, str):
            raise InvalidInput(f"a take is a Take or a take id, not {ref!r}")
        text = ref.strip().lower()
        rows = self._ws.store.rows(f"SELECT {_TAKE_COLS} FROM takes WHERE id = ?", [text])
        if rows:
            return _take_from_row(rows[0])
        if len(text) < MIN_TAKE_PREFIX:
            raise TakeNotFound(ref, f"give the take id or at least {MIN_TAKE_PREFIX} of its "
                                    "first characters")
        hits = self._ws.store.rows(
            "SELECT id FROM takes WHERE starts_with(id, ?) ORDER BY id LIMIT 3", [text])
        if not hits:
            raise TakeNotFound(ref)
        if len(hits) > 1:
            raise InvalidInput(f"several takes start with {ref!r} "
                               f"({', '.join(h[0] for h in hits)} …); give more characters")
        return self.get(hits[0][0])

    def exists(self, take_id: str) -> bool:
        """True when a take with this id exists (in any state).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, take = ex.ws, ex.take
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
            >>> from rasv.testing import example
            >>> ex = example(); ws, take = ex.ws, ex.take
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
            >>> from rasv.testing import example
            >>> ex = example(); ws, take = ex.ws, ex.take
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
            >>> from rasv.testing import example
            >>> ex = example(); ws, take = ex.ws, ex.take
            >>> spec = ws.takes.spectrogram(take, n_mels=64)
            >>> spec.db.shape[0], spec.sample_rate   # mel bands, the take's own rate
            (64, 32000)
        """
        return self._visuals(take_id, **opts)[0]

    def waveform(self, take_id: str, **opts: Any) -> Envelope:
        """The take's waveform envelope (min/max per column), cached with the spectrogram.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, take = ex.ws, ex.take
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
            >>> from rasv.testing import example
            >>> ex = example(); ws, take = ex.ws, ex.take
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
                listen-first order of ``ws.analysis``: likely bad takes first), ``"ask"``
                (unscored takes whose score would most change which clip looks best first,
                scored ones last; adds ``stars_pred, stars_low, stars_high, drivers,
                ask_rank``: see ``ws.scores.predict``), any metric name, or any column
                (``top_k``, ``dur_z`` …).
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
        # One attach for the table's several queries (shared mode attaches per operation).
        with self._ws.store.session():
            base = self._base(task, role)
            base.attrs["varied"] = varied = varied_dims(base)
            base["params_label"] = params_labels(base, varied)
            add_duration_stats(base)
            base = add_metrics(self._ws, base)
            if task is not None:
                base = add_suspicion(self._ws, base, task)
            if sort == "ask":  # before the filters: the model learns from every scored take
                from rasv.scores.predict import with_predictions

                base = with_predictions(base)
        out = apply_filters(base, filters)
        out = arrange(out, group_by=group_by, sort=sort, descending=descending, varied=varied)
        return out

    def _base(self, task: Any, role: Any) -> pd.DataFrame:
        if task is not None:
            tid = find_task_id(self._ws, task)
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
        return expand_params(self._ws, df)

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




__all__ = [
    "FILTER_ALIASES",
    "GROUP_KEYS",
    "MIN_TAKE_PREFIX",
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
