"""Scores (``ws.scores``): stars, tags and remarks on takes, blind review and A/B ranking.

Modules, leaves first: ``ranking`` (Bradley–Terry over A/B votes), ``blind`` (sessions that
hide what made a take), ``predict`` (the star model: predicted stars, the ask order, the best
clip so far; pure, over review tables) and ``drivers`` (its drivers text read back as parts) ←
``namespace`` (:class:`Scores`, the :class:`Score` record, roll-ups).

Example:
    >>> from rasv.scores import TAGS
    >>> TAGS["electric_noise"]
    ('电音', 'electric noise')
"""

from __future__ import annotations

from rasv.scores.blind import BlindSession, PairSession
from rasv.scores.drivers import Driver, parse_drivers
from rasv.scores.namespace import (
    TAGS,
    Score,
    Scores,
    check_stars,
    clip_rollup_sql,
    latest_scores_sql,
)
from rasv.scores.predict import Priors
from rasv.scores.ranking import bradley_terry

__all__ = [
    "BlindSession",
    "Driver",
    "PairSession",
    "Priors",
    "Score",
    "Scores",
    "TAGS",
    "bradley_terry",
    "check_stars",
    "clip_rollup_sql",
    "latest_scores_sql",
    "parse_drivers",
]
