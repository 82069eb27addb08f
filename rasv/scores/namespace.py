"""Scores: 0–5 stars, tags and a remark on takes, their history, and what they add up to.

Every change is a new row of ``scores`` (nothing is overwritten), and each row is a full
snapshot: :meth:`Scores.set` carries forward whatever it is not told to change, so the
latest row of a take is its current score. Roll-ups use that latest row:

* per clip (:meth:`Scores.by_clip`): the best and mean stars of the clip's takes, like
  RefAudioSelectorV2's reference score, plus the count;
* per value of each varied dimension of a task (:meth:`Scores.by_param`): mean, count
  and a 95 % interval, so the user sees which top_k, which checkpoint or which clip wins
  rather than one lucky take;
* per pairwise A/B votes (:meth:`Scores.rank`), ranked with Bradley–Terry.

Example:
    >>> normalize_tag("电音"), normalize_tag("Electric noise"), normalize_tag(" 奇怪 ")
    ('electric_noise', 'electric_noise', '奇怪')
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasv.errors import InvalidInput, TakeNotFound
from rasv.scores.predict import Priors, fit_stars, recommend_table
from rasv.scores.ranking import TIE, bradley_terry
from rasv.scores.rollups import (
    MAX_STARS,
    SCORE_COLUMNS,
    Score,
    check_stars,
    clip_rollup_sql,
    latest_scores_sql,
    mean_interval,
    score_from_row,
)
from rasv.scores.tags import TAGS, normalize_tag, tag_label, tags_df
from rasv.takes.namespace import GROUP_KEYS, task_id_of, write_table
from rasv.takes.table import expand_params, params_labels, varied_dims
from rasv.tasks.resolve import find_task_id

if TYPE_CHECKING:
    from rasv.scores.blind import BlindSession, PairSession
    from rasv.workspace import Workspace

def setting_groups(ws: Workspace, task: Any, *, texts: bool = True) -> pd.DataFrame:
    """A task's takes collapsed to one row per setting, with the latest stars of its takes.

    A setting is everything but the seed: clip, text (unless ``texts=False``), models, aux
    set and parameters. Rows
    come in plan order with the review table's columns for those (``clip_name``, ``gpt``,
    ``top_k`` … ``params_label``) plus ``n_takes`` and ``stars`` (a list);
    ``df.attrs["varied"]`` as in :meth:`rasv.takes.Takes.df`.

    Example:
        >>> from rasv.testing import example
        >>> ex = example(clips=2)
        >>> g = setting_groups(ex.ws, ex.task)
        >>> int(g.n_takes.sum()) == len(ex.ws.takes.df(ex.task))
        True
    """
    tid = find_task_id(ws, task)
    keys = ["clip_id", "text", "text_lang"][: 3 if texts else 1]
    keys += ["gpt_id", "sovits_id", "aux_ids", "params"]
    cols = ", ".join(f"t.{k}" for k in keys)
    # SQL groups by the stored params (which carry the seed), Python merges the seeds:
    # cheaper than JSON functions over every row, and far fewer rows to carry over.
    rows = ws.store.df(
        f"""
        WITH tt AS (SELECT take_id, min(ord) AS ord FROM task_takes WHERE task_id = $task
                    GROUP BY take_id),
             latest AS ({latest_scores_sql()})
        SELECT {cols}, any_value(c.name) AS clip_name, count(*) AS n_takes,
               coalesce(list(l.stars) FILTER (WHERE l.stars IS NOT NULL), []) AS stars,
               min(tt.ord) AS ord
        FROM tt JOIN takes t ON t.id = tt.take_id
        LEFT JOIN clips c ON c.id = t.clip_id
        LEFT JOIN latest l ON l.take_id = t.id
        GROUP BY {cols}
        ORDER BY ord
        """,
        {"task": tid},
    )
    seedless: dict[Any, Any] = {}
    for raw in set(rows["params"].tolist()):
        data = json.loads(raw) if raw else {}
        data.pop("seed", None)
        seedless[raw] = json.dumps(data, sort_keys=True)
    groups: dict[tuple[Any, ...], list[Any]] = {}  # key -> [clip_name, n_takes, stars]; plan order
    columns = [rows[k].tolist() for k in keys] + [rows["clip_name"].tolist(),
                                                   rows["n_takes"].tolist(),
                                                   rows["stars"].tolist()]
    for *key, name, n, stars in zip(*columns, strict=True):
        key[-1] = seedless[key[-1]]
        g = groups.setdefault(tuple(key), [name, 0, []])
        g[1] += int(n)
        g[2].extend(float(v) for v in stars)
    df = pd.DataFrame([(*k, *v) for k, v in groups.items()],
                      columns=[*keys, "clip_name", "n_takes", "stars"], dtype=object)
    df["seed"] = None  # a setting spans seeds (the stored params lost theirs above)
    df = expand_params(ws, df)
    df.attrs["varied"] = varied = varied_dims(df)
    df["params_label"] = params_labels(df, varied)
    return df


class Scores:
    """``ws.scores``: score takes, read history, roll up, blind sessions, A/B votes."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- writing -----------------------------------------------------------------------------

    def set(self, take_id: str, stars: int | None = None, tags: Iterable[str] | None = None,
            remark: str | None = None, rater: str = "") -> Score:
        """Record a score event for a take; fields left as None keep their current value.

        Args:
            take_id: the take.
            stars: 0–5 (0 means "bad", not "unrated"); None keeps the current stars.
            tags: replace the tags (keys or zh/en labels, see :data:`TAGS`); None keeps them.
            remark: replace the remark; None keeps it.
            rater: who scored (kept with the event; blank for a single user).

        Raises:
            TakeNotFound: no such take.
            InvalidInput: stars outside 0–5, stars on a take that is not made yet, an empty
                or overlong tag.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().scores.set, "missing", 4)
            'TakeNotFound: take missing does not exist in this workspace'
        """
        return self._write(str(take_id), stars, tags, remark, rater)

    def set_long_text(self, run_id: int, anchor_take_id: str, stars: int | None = None,
                      tags: Iterable[str] | None = None, remark: str | None = None,
                      rater: str = "") -> Score:
        """Record a score event for a long-text run, kept on one of its takes (the anchor).

        Users call :meth:`rasv.longtext.LongText.score`, which picks the anchor; the rules
        (0–5 stars, tags, history, fields left as None kept) are those of :meth:`set`.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().scores.set_long_text, 1, "missing", 4)
            'TakeNotFound: take missing does not exist in this workspace'
        """
        return self._write(str(anchor_take_id), stars, tags, remark, rater, long_text=True,
                           longtext_id=int(run_id))

    def long_text_score(self, run_id: int) -> Score | None:
        """The current score of a long-text run, or None (see :meth:`rasv.longtext.LongText.score_of`).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.scores.long_text_score(1) is None
            True
        """
        rows = self._ws.store.rows(
            f"SELECT {SCORE_COLUMNS} FROM scores WHERE long_text AND longtext_id = ?"
            " ORDER BY id DESC LIMIT 1", [int(run_id)])
        return score_from_row(rows[0]) if rows else None

    def clear(self, take_id: str, rater: str = "") -> Score:
        """Record an empty score (no stars, tags or remark): the take is unrated again.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2); ws, (a, b) = ex.ws, ex.takes
            >>> _ = ws.scores.set(a, stars=4, tags=["电音"])
            >>> ws.scores.clear(a).stars, len(ws.scores.history(a))   # history keeps both
            (None, 2)
        """
        with self._ws.store.transaction() as cur:
            self._check_take(cur, str(take_id))
            return self._insert(cur, str(take_id), None, (), "", rater)

    def _write(self, take_id: str, stars: Any, tags: Iterable[str] | None, remark: str | None,
                rater: str, *, long_text: bool = False, longtext_id: int | None = None) -> Score:
        stars = check_stars(stars)
        new_tags = None if tags is None else _clean_tags(tags)
        with self._ws.store.transaction() as cur:
            status = self._check_take(cur, take_id)
            if stars is not None and not long_text and status != "done":
                # Stars on a take nobody could hear would skew every roll-up.
                raise InvalidInput(
                    f"take {take_id} is {status}: there is no audio to score yet "
                    "(a remark can still be saved)")
            if long_text:
                prev_rows = cur.execute(
                    f"SELECT {SCORE_COLUMNS} FROM scores WHERE long_text AND longtext_id = ? "
                    "ORDER BY id DESC LIMIT 1", [longtext_id]).fetchall()
            else:
                prev_rows = cur.execute(
                    f"SELECT {SCORE_COLUMNS} FROM scores WHERE NOT long_text AND take_id = ? "
                    "ORDER BY id DESC LIMIT 1", [take_id]).fetchall()
            prev = score_from_row(prev_rows[0]) if prev_rows else None
            if prev is not None:
                stars = prev.stars if stars is None else stars
                new_tags = prev.tags if new_tags is None else new_tags
                remark = prev.remark if remark is None else remark
            return self._insert(cur, take_id, stars, new_tags or (), remark or "", rater,
                                long_text=long_text, longtext_id=longtext_id)

    @staticmethod
    def _check_take(cur: Any, take_id: str) -> str:
        rows = cur.execute("SELECT status FROM takes WHERE id = ?", [take_id]).fetchall()
        if not rows:
            raise TakeNotFound(take_id)
        return str(rows[0][0])

    @staticmethod
    def _insert(cur: Any, take_id: str, stars: int | None, tags: Sequence[str], remark: str,
                rater: str, *, long_text: bool = False, longtext_id: int | None = None) -> Score:
        row = cur.execute(
            "INSERT INTO scores(take_id, stars, tags, remark, long_text, longtext_id, rater) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {SCORE_COLUMNS}",
            [take_id, stars, list(tags), str(remark).strip(), long_text, longtext_id,
             str(rater or "")],
        ).fetchall()
        return score_from_row(row[0])

    # -- reading -----------------------------------------------------------------------------

    def get(self, take_id: str) -> Score | None:
        """The current score of a take (its latest event), or None if never scored.

        Example:
            >>> import rasv, tempfile
            >>> rasv.open(tempfile.mkdtemp()).scores.get("x") is None
            True
        """
        rows = self._ws.store.rows(
            f"SELECT {SCORE_COLUMNS} FROM scores WHERE NOT long_text AND take_id = ? "
            "ORDER BY id DESC LIMIT 1", [str(take_id)])
        return score_from_row(rows[0]) if rows else None

    def history(self, take_id: str) -> pd.DataFrame:
        """Every score event of a take, oldest first (long-text scores included).

        Example:
            >>> import rasv, tempfile
            >>> list(rasv.open(tempfile.mkdtemp()).scores.history("x").columns)[:3]
            ['id', 'take_id', 'stars']
        """
        return self._ws.store.df(
            f"SELECT {SCORE_COLUMNS} FROM scores WHERE take_id = ? ORDER BY id", [str(take_id)])

    def df(self, *, task: Any = None, role: Any = None, history: bool = False) -> pd.DataFrame:
        """Scores with their take's clip, text and task: the latest per take, or every event.

        Columns: id, take_id, stars, tags, remark, rater, long_text, longtext_id, created_at,
        clip_id, clip_name, role_id, text, task_ids.

        Example:
            >>> import rasv, tempfile
            >>> rasv.open(tempfile.mkdtemp()).scores.df().empty
            True
        """
        source = "SELECT * FROM scores" if history else (
            f"SELECT * FROM ({latest_scores_sql()}) UNION ALL "
            f"SELECT * FROM ({latest_scores_sql(long_text=True)})"
        )
        where, params = ["TRUE"], {}
        if task is not None:
            where.append("list_contains(tk.task_ids, $task)")
            params["task"] = task_id_of(task)
        if role is not None:
            where.append("c.role_id = $role")
            params["role"] = self._ws.roles.resolve_id(role)
        return self._ws.store.df(
            f"""
            WITH s AS ({source}),
            tk AS (SELECT take_id, list(DISTINCT task_id ORDER BY task_id) AS task_ids
                   FROM task_takes GROUP BY take_id)
            SELECT s.id, s.take_id, s.stars, s.tags, s.remark, s.rater, s.long_text,
                   s.longtext_id, s.created_at, t.clip_id, c.name AS clip_name, c.role_id,
                   t.text, coalesce(tk.task_ids, []) AS task_ids
            FROM s JOIN takes t ON t.id = s.take_id
            LEFT JOIN clips c ON c.id = t.clip_id
            LEFT JOIN tk ON tk.take_id = s.take_id
            WHERE {' AND '.join(where)}
            ORDER BY s.id
            """,
            params,
        )

    def export(self, dest: str | os.PathLike, *, task: Any = None, role: Any = None,
               history: bool = False, format: str | None = None) -> Path:
        """Write scores to CSV or Parquet (see :meth:`df` for the columns).

        Example:
            >>> import rasv, tempfile, os
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.scores.export(os.path.join(ws.root, "s.parquet")).suffix
            '.parquet'
        """
        return write_table(self.df(task=task, role=role, history=history), dest, format=format)

    # -- roll-ups ----------------------------------------------------------------------------

    def by_clip(self, role: Any) -> pd.DataFrame:
        """Per clip of a role: stars_max, stars_mean, n_scores (latest score per take).

        Columns: clip_id, clip_name, stars_max, stars_mean, n_scores, n_takes, longtext_stars_max.
        Clips without takes are listed with n_takes 0.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> list(ws.scores.by_clip(r).columns)[:4]
            ['clip_id', 'clip_name', 'stars_max', 'stars_mean']
        """
        rid = self._ws.roles.resolve_id(role)
        return self._ws.store.df(
            f"""
            SELECT c.id AS clip_id, c.name AS clip_name, r.stars_max, r.stars_mean,
                   coalesce(r.n_scores, 0) AS n_scores, coalesce(r.n_takes, 0) AS n_takes,
                   r.longtext_stars_max
            FROM clips c LEFT JOIN ({clip_rollup_sql()}) r ON r.clip_id = c.id
            WHERE c.role_id = ?
            ORDER BY r.stars_max DESC NULLS LAST, r.stars_mean DESC NULLS LAST, c.id
            """,
            [rid],
        )

    def by_param(self, task: Any, *, confidence: float = 0.95,
                 dims: Sequence[str] | None = None) -> pd.DataFrame:
        """Stars per value of each varied dimension of a task, to see which value wins.

        Dimensions: ``clip`` (when several clips), every varied parameter (``top_k``,
        ``gpt``, ``aux`` …), and ``combo`` (the whole parameter label) when two or more
        parameters vary together. Each row: dimension, value (clip and model ids, parameter
        values), label (clip names, model labels), n_takes, n_scored, mean, sd, ci_low,
        ci_high (Student-t, ``confidence``, clipped to 0–5), best (highest mean in its dimension).

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().scores.by_param, 99)
            'TaskNotFound: task 99 does not exist in this workspace'
        """
        # One row per setting (clip, text, models, parameters) instead of per take: a grid
        # repeats each setting over seeds and texts, and the review table's per-take work
        # (parameter parsing, metrics, sorting) was 40x the cost of reading the rows.
        takes = setting_groups(self._ws, task, texts=dims is not None and "text" in dims)
        varied = list(takes.attrs.get("varied", []))
        if dims is None:
            dims = []
            if takes["clip_id"].nunique() > 1:
                dims.append("clip")
            dims += varied
            if len(varied) >= 2:
                dims.append("combo")
        n_takes = takes["n_takes"].tolist()
        stars_of = takes["stars"].tolist()
        rows = []
        for dim in dims:
            col = _by_column(dim, takes, varied)
            labels = _labels(takes, col)
            groups: dict[Any, tuple[list[int], list[float]]] = {}
            for key, n, stars in zip(takes[col].map(_plain), n_takes, stars_of, strict=True):
                count, values = groups.setdefault(key, ([0], []))  # plan order
                count[0] += int(n)
                values.extend(float(v) for v in stars)
            for value, (count, stars) in groups.items():
                m, lo, hi = mean_interval(stars, confidence)
                rows.append({
                    "dimension": dim, "value": value, "label": labels.get(value, str(value)),
                    "n_takes": count[0], "n_scored": len(stars), "mean": m,
                    "sd": float(np.std(stars, ddof=1)) if len(stars) > 1 else math.nan,
                    "ci_low": lo, "ci_high": hi,
                })
        out = pd.DataFrame(rows, columns=["dimension", "value", "label", "n_takes", "n_scored",
                                          "mean", "sd", "ci_low", "ci_high"])
        # One column holds clip ids, speeds and cut methods: keep each value's own type, or
        # pandas turns clip 12 into 12.0 as soon as a float parameter shares the column.
        out["value"] = pd.Series([r["value"] for r in rows], dtype=object)
        if out.empty:
            out["best"] = pd.Series(dtype=bool)
            return out
        best = out.groupby("dimension", sort=False)["mean"].transform("max")
        out["best"] = out["mean"].notna() & (out["mean"] == best)
        return out

    # -- task conclusion ---------------------------------------------------------------------

    def conclude(self, task: Any, text: str) -> str:
        """Save a task's conclusion (free text, e.g. "k=15 wins; clip 12 is the keeper").

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().scores.conclude, 5, "x")
            'TaskNotFound: task 5 does not exist in this workspace'
        """
        # The task owns its conclusion; editing it changes the task in place (no new version).
        return self._ws.tasks.edit(task_id_of(task), conclusion=str(text).strip()).conclusion

    def conclusion(self, task: Any) -> str:
        """A task's saved conclusion ('' when none).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2); ws, t, (a, b) = ex.ws, ex.task, ex.takes
            >>> ws.scores.conclusion(t)
            ''
            >>> _ = ws.scores.conclude(t, "clip 1 wins"); ws.scores.conclusion(t)
            'clip 1 wins'
        """
        return self._ws.tasks.get(task_id_of(task)).conclusion or ""

    # -- blind review and A/B votes ----------------------------------------------------------

    def blind(self, task: Any, seed: int = 0, *, rater: str = "", group_text: bool = True,
              **filters: Any) -> BlindSession:
        """A blind, shuffled pass over a task's done takes; scores are saved as you go.

        ``filters`` are those of :meth:`rasv.takes.namespace.Takes.df`.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().scores.blind, 3)
            'TaskNotFound: task 3 does not exist in this workspace'
        """
        from rasv.scores.blind import BlindSession

        filters.setdefault("status", "done")
        takes = self._ws.takes.df(task, sort="plan", **filters)

        def save(take_id: str, stars: int | None = None, tags: Any = None,
                 remark: str | None = None) -> Score:
            return self.set(take_id, stars, tags, remark, rater=rater)

        return BlindSession(takes, seed, group_text=group_text, on_score=save)

    def pairs(self, task: Any, by: str = "clip", seed: int = 0, *, n: int | None = None,
              rater: str = "", **filters: Any) -> PairSession:
        """A/B pairs of a task's takes that differ in ``by``; votes are saved as you go.

        ``by``: ``"clip"``, ``"param"`` (the whole parameter label) or a varied dimension
        (``top_k``, ``gpt`` …).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2); ws, t, (a, b) = ex.ws, ex.task, ex.takes
            >>> s = ws.scores.pairs(t, by="clip")
            >>> len(s), s.current.revealed
            (1, False)
            >>> _ = s.vote("a"); len(ws.scores.votes(t))
            1
        """
        from rasv.scores.blind import PairSession

        tid = task_id_of(task)
        filters.setdefault("status", "done")
        takes = self._ws.takes.df(tid, sort="plan", **filters)
        col = _by_column(by, takes)

        def save(a: str, b: str, winner: str) -> None:
            self.vote(a, b, winner, task=tid, rater=rater)

        return PairSession(takes, col, seed, n=n, on_vote=save)

    def vote(self, take_a: str, take_b: str, winner: str, *, task: Any = None,
             rater: str = "") -> int:
        """Record one A/B vote; ``winner`` is ``take_a``, ``take_b`` or ``"tie"``.

        Returns the vote id.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2); ws, t, (a, b) = ex.ws, ex.task, ex.takes
            >>> ws.scores.vote(a, b, b, task=t), ws.scores.vote(a, b, "tie", task=t)
            (1, 2)
        """
        take_a, take_b, winner = str(take_a), str(take_b), str(winner)
        if take_a == take_b:
            raise InvalidInput("an A/B vote needs two different takes")
        if winner not in (take_a, take_b, TIE):
            raise InvalidInput(f"winner must be {take_a}, {take_b} or 'tie', not {winner!r}")
        tid = None if task is None else task_id_of(task)
        with self._ws.store.transaction() as cur:
            for t in (take_a, take_b):
                self._check_take(cur, t)
            row = cur.execute(
                "INSERT INTO votes(task_id, take_a, take_b, winner, rater) VALUES (?, ?, ?, ?, ?)"
                " RETURNING id", [tid, take_a, take_b, winner, str(rater or "")]).fetchall()
        return int(row[0][0])

    def votes(self, task: Any = None) -> pd.DataFrame:
        """The recorded A/B votes, of one task or of all.

        Columns: id, task_id, take_a, take_b, winner, rater, created_at.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2); ws, t, (a, b) = ex.ws, ex.task, ex.takes
            >>> _ = ws.scores.vote(a, b, a, task=t, rater="me")
            >>> ws.scores.votes(t)[["winner", "rater"]].values.tolist() == [[a, "me"]]
            True
        """
        if task is None:
            return self._ws.store.df("SELECT * FROM votes ORDER BY id")
        return self._ws.store.df("SELECT * FROM votes WHERE task_id = ? ORDER BY id",
                                 [task_id_of(task)])

    def rank(self, task: Any, by: str = "clip", *, prior: float = 0.5,
             rater: str | None = None) -> pd.DataFrame:
        """Rank the values of ``by`` from the task's A/B votes (Bradley–Terry, MM fit).

        A vote between two takes counts for their ``by`` values (votes between takes with
        the same value are ignored). Returns :func:`rasv.scores.ranking.bradley_terry`'s table with
        ``item`` holding the values (clip ids for ``"clip"``), plus ``label``.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2); ws, t, (a, b) = ex.ws, ex.task, ex.takes
            >>> for _ in range(3):
            ...     _ = ws.scores.vote(a, b, b, task=t)
            >>> ranked = ws.scores.rank(t, by="clip")
            >>> ranked.item.tolist(), ranked.wins.tolist()   # clip 2 first
            ([2, 1], [3.0, 0.0])
        """
        tid = task_id_of(task)
        takes = self._ws.takes.df(tid, sort="plan")
        col = _by_column(by, takes)
        value = dict(zip(takes["id"], takes[col].map(_plain), strict=True))
        votes = self.votes(tid)
        if rater is not None:
            votes = votes[votes.rater == rater]
        comparisons = []
        for v in votes.itertuples():
            if v.take_a not in value or v.take_b not in value:
                continue
            a, b = value[v.take_a], value[v.take_b]
            w = TIE if v.winner == TIE else value[v.winner]
            comparisons.append((a, b, w))
        items = list(dict.fromkeys(value[t] for t in takes["id"]))
        df = bradley_terry(comparisons, items, prior=prior)
        labels = _labels(takes, col)
        df.insert(1, "label", [labels.get(i, str(i)) for i in df["item"]])
        return df

    # -- listen less: predicted stars and the best clip so far -------------------------------

    def _review_table(self, task: Any, role: Any) -> pd.DataFrame:
        """The finished takes of a task (a Task, its id or name) or of a role."""
        from rasv.records import Role

        if isinstance(task, Role):
            task, role = None, task
        if task is None and role is None:
            raise InvalidInput("give a task (a Task, its id or name) or role=")
        if task is not None:
            return self._ws.takes.df(task, sort="plan", status="done")
        return self._ws.takes.df(role=role, sort="plan", status="done")

    def predict(self, task: Any = None, *, role: Any = None,
                priors: Priors | None = None) -> pd.DataFrame:
        """Predicted stars of a task's (or role's) finished takes, with intervals and drivers.

        See docs/predict.md.

        The model learns from the scored takes: the analysis metrics, the parameters, and the
        clip and model pair, shrunk toward the mean; it is refitted on every call, and the same
        scores always give the same answer. Columns: take_id, stars_pred, low, high (where the
        stars you would give fall, 4 times in 5), sd, scored, drivers.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2, texts=["你好。", "再见。"])
            >>> _ = ex.ws.scores.set(ex.take, 5)
            >>> p = ex.ws.scores.predict(ex.task)
            >>> len(p), int(p.scored.sum()), bool((p.low <= p.stars_pred).all())
            (4, 1, True)
        """
        return fit_stars(self._review_table(task, role), priors or Priors()).predict()

    def recommend(self, task: Any = None, *, role: Any = None,
                  priors: Priors | None = None) -> pd.DataFrame:
        """Clips, model pairs and parameter values ranked by predicted quality (the best so far).

        For a task (or role): comparison intervals and the chance of being the best.

        Columns: dimension (``clip``, ``models``, a varied parameter), value, label, quality
        (expected stars of an average take), low, high, p_best, n_heard, n_takes, rank,
        confident. ``attrs``: ``best`` (the leading clip id), ``confident`` (its interval
        clears the runner-up's, or its ``p_best`` or ``p_near`` ≥ 0.95), ``p_near`` (its
        chance of being the best or within 0.4 stars of it), ``heard`` and ``takes``.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(clips=2, texts=["你好。", "再见。"])
            >>> _ = ex.ws.scores.set(ex.take, 5)
            >>> r = ex.ws.scores.recommend(ex.task)
            >>> r.attrs["best"] == ex.ws.takes.get(ex.take).clip_id, r.attrs["heard"]
            (True, 1)
            >>> r.attrs["confident"]   # one score is not enough to be sure
            False
        """
        return recommend_table(fit_stars(self._review_table(task, role), priors or Priors()))


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return ",".join(map(str, v))
    if isinstance(v, np.generic):
        return v.item()
    return v


#: Dimensions whose values are ids, and the column holding their display label.
_ID_LABELS = {"clip_id": "clip_name", "gpt_id": "gpt", "sovits_id": "sovits"}
_DIM_COLUMNS = {**GROUP_KEYS, "combo": "params_label", "gpt": "gpt_id", "sovits": "sovits_id"}


def _by_column(by: str, takes: pd.DataFrame, varied: Sequence[str] | None = None) -> str:
    """The column holding a dimension's values (ids for clips and models)."""
    col = _DIM_COLUMNS.get(by, by)
    if col not in takes.columns:
        varied = takes.attrs.get("varied", []) if varied is None else varied
        raise InvalidInput(f"{by!r} is not a dimension of this task; use clip, param or a "
                           f"varied dimension ({', '.join(varied) or 'none varies'})")
    return col


def _labels(takes: pd.DataFrame, col: str) -> dict[Any, str]:
    """Display labels of a dimension's values (clip names, model labels)."""
    label_col = _ID_LABELS.get(col)
    if label_col is None:
        return {}
    return {_plain(k): str(v) for k, v in zip(takes[col], takes[label_col], strict=True)
            if not pd.isna(k)}


def _clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        tags = [tags]
    return tuple(dict.fromkeys(normalize_tag(t) for t in tags))


__all__ = [
    "MAX_STARS",
    "SCORE_COLUMNS",
    "TAGS",
    "Score",
    "Scores",
    "check_stars",
    "clip_rollup_sql",
    "latest_scores_sql",
    "mean_interval",
    "setting_groups",
    "score_from_row",
    "normalize_tag",
    "tag_label",
    "tags_df",
]
