"""Score records and the SQL that rolls scores up: one row per event, the latest per take.

The :class:`Score` record, star validation, and the roll-up queries the clip catalogue and
long-text runs join (``clip_rollup_sql``, ``latest_scores_sql``), with the t-interval of a mean.

Example:
    >>> check_stars(4), mean_interval([4, 4, 4])[0]
    (4, 4.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from rasv.errors import InvalidInput
from rasv.scores.tags import tag_label

MAX_STARS = 5


def check_stars(stars: Any) -> int | None:
    """Validate a star count: a whole number 0–5, or None for "not rated".

    Example:
        >>> check_stars(4), check_stars(None), check_stars(3.0)
        (4, None, 3)
    """
    if stars is None:
        return None
    if isinstance(stars, bool) or not isinstance(stars, (int, float, np.integer, np.floating)):
        raise InvalidInput(f"stars must be a whole number from 0 to {MAX_STARS}, got {stars!r}")
    if float(stars) != int(stars) or not 0 <= int(stars) <= MAX_STARS:
        raise InvalidInput(f"stars must be a whole number from 0 to {MAX_STARS}, got {stars!r}")
    return int(stars)


@dataclass(frozen=True)
class Score:
    """The state of a take's score after one event.

    Example:
        >>> Score(1, "ab", 4, ("electric_noise",), "", "").labels()
        ['电音']
    """

    id: int
    take_id: str
    stars: int | None
    tags: tuple[str, ...]
    remark: str
    rater: str
    long_text: bool = False
    longtext_id: int | None = None
    created_at: datetime | None = None

    def labels(self, lang: str = "zh") -> list[str]:
        """The tags as display labels."""
        return [tag_label(t, lang) for t in self.tags]


SCORE_COLUMNS = "id, take_id, stars, tags, remark, rater, long_text, longtext_id, created_at"


def score_from_row(row: Sequence[Any]) -> Score:
    """A :class:`Score` from a row selected as :data:`SCORE_COLUMNS`.

    Example:
        >>> score_from_row((1, "t", 4, ["复读"], "", "me", False, None, None)).stars
        4
    """
    d = dict(zip([c.strip() for c in SCORE_COLUMNS.split(",")], row, strict=True))
    d["tags"] = tuple(d["tags"] or ())
    return Score(**d)


def latest_scores_sql(long_text: bool = False) -> str:
    """SQL for the latest score event of each take, or of each long-text run
    (``id, take_id, stars, tags, remark …``).

    Example:
        >>> "QUALIFY" in latest_scores_sql()
        True
    """
    # Long-text scores belong to a run (several runs may share a source take).
    flag, key = ("long_text", "longtext_id") if long_text else ("NOT long_text", "take_id")
    return (
        f"SELECT {SCORE_COLUMNS} FROM scores WHERE {flag} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY id DESC) = 1"
    )


def clip_rollup_sql() -> str:
    """SQL of the per-clip roll-up, for ``LEFT JOIN (…) s ON s.clip_id = c.id``.

    Columns: clip_id, stars_max, stars_mean, n_scores (takes whose latest score has
    stars), n_takes, longtext_stars_max (best long-text score). Latest score per take; long-text
    scores count only in ``longtext_stars_max``.

    Example:
        >>> clip_rollup_sql().lstrip().startswith("WITH")
        True
    """
    return f"""
        WITH latest AS ({latest_scores_sql()}),
        lt AS (
            SELECT t.clip_id, max(l.stars) AS longtext_stars_max
            FROM ({latest_scores_sql(long_text=True)}) l
            JOIN takes t ON t.id = l.take_id GROUP BY t.clip_id
        ),
        per AS (
            SELECT t.clip_id, max(l.stars) AS stars_max, avg(l.stars) AS stars_mean,
                   count(l.stars) AS n_scores, count(DISTINCT t.id) AS n_takes
            FROM takes t LEFT JOIN latest l ON l.take_id = t.id
            WHERE t.clip_id IS NOT NULL GROUP BY t.clip_id
        )
        SELECT per.clip_id, per.stars_max, per.stars_mean, per.n_scores, per.n_takes,
               lt.longtext_stars_max
        FROM per LEFT JOIN lt ON lt.clip_id = per.clip_id
    """


def mean_interval(values: Sequence[float], confidence: float = 0.95,
                  bounds: tuple[float, float] | None = (0.0, 5.0)) -> tuple[float, float, float]:
    """Mean and a Student-t confidence interval, kept within ``bounds``; NaN with one value.

    With two or three scores the t quantile is huge (12.7 for two), so the raw interval runs
    far off the 0–5 star scale; no mean of stars can lie outside it, so the interval is
    clipped to ``bounds`` (None: the raw interval).

    Example:
        >>> m, lo, hi = mean_interval([3, 4, 5], bounds=None)
        >>> m, round(lo, 3), round(hi, 3)
        (4.0, 1.516, 6.484)
        >>> mean_interval([3, 4, 5])[2]
        5.0
    """
    from scipy.special import stdtrit  # Student-t quantile; lighter than scipy.stats

    x = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = float(stdtrit(x.size - 1, 0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(x.size))
    lo, hi = m - half, m + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return m, lo, hi


__all__ = ["MAX_STARS", "SCORE_COLUMNS", "Score", "check_stars", "clip_rollup_sql",
           "latest_scores_sql", "mean_interval", "score_from_row"]
