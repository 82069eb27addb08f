"""The Review tab's "Best so far" box: what it says about the leading clip, and which take of
it becomes a product (``ws.scores.recommend``); and the predicted stars' drivers said in the
panel's language.

Example:
    >>> from rasv.testing import example
    >>> from widgets.i18n import Translator
    >>> ex = example(clips=2, texts=["你好。", "再见。"])
    >>> _ = ex.ws.scores.set(ex.take, 5)
    >>> text, can_keep = best_text(ex.ws.scores.recommend(ex.task), Translator("en"))
    >>> "takes heard" in text, can_keep
    (True, True)
"""

from __future__ import annotations

import html
import itertools
from pathlib import PurePath
from typing import Any

import pandas as pd

from rasv.scores import parse_drivers
from widgets.i18n import MESSAGES, Translator


def best_text(rec: pd.DataFrame, t: Translator) -> tuple[str, bool]:
    """The box's HTML for a ``recommend`` table, and whether its leader may be kept.

    Example:
        >>> best_text(pd.DataFrame({"dimension": []}), Translator("en"))[1]
        False
    """
    title = f"<b>{html.escape(t('review.best.title'))}</b> "
    clips = rec[rec["dimension"] == "clip"]
    if not rec.attrs.get("heard") or clips.empty:
        return title + html.escape(t("review.best.none")), False
    lead = clips.iloc[0]
    heard, takes = int(rec.attrs["heard"]), int(rec.attrs["takes"])
    if not int(lead["n_heard"]):
        # Ranked on the prior and the metrics alone: nothing heard to keep yet.
        return title + html.escape(unheard_text(rec, t)), False
    line = t("review.best.line", clip=lead["label"], stars=float(lead["quality"]),
             low=float(lead["low"]), high=float(lead["high"]), p=float(lead["p_best"]),
             heard=heard, takes=takes)
    sure = t("review.best.confident" if rec.attrs.get("confident") else
             "review.best.too_close" if heard >= takes else
             "review.best.unsure")  # nothing left to hear: listening more cannot settle it
    # With one clip there is no runner-up to clear: no verdict to give.
    verdict = f" · <i>{html.escape(sure)}</i>" if len(clips) > 1 else ""
    return title + html.escape(line) + verdict, True


def unheard_text(rec: pd.DataFrame, t: Translator) -> str:
    """What to say when the leading clip has none of its takes heard."""
    lead = rec[rec["dimension"] == "clip"].iloc[0]
    return t("review.best.unheard", clip=lead["label"], heard=int(rec.attrs["heard"]),
             takes=int(rec.attrs["takes"]))


def best_take(ws: Any, task_id: int, clip_id: Any) -> str | None:
    """The heard take of a clip to keep: the highest stars, then the highest prediction
    (an unheard take is never kept)."""
    takes = ws.scores.predict(task_id).merge(
        ws.takes.df(task_id, sort="plan", status="done")[["id", "clip_id", "stars"]],
        left_on="take_id", right_on="id")
    takes = takes[(takes["clip_id"] == clip_id) & takes["stars"].notna()]
    if takes.empty:
        return None
    return str(takes.sort_values(["stars", "stars_pred"], ascending=False,
                                 na_position="last", kind="stable")["take_id"].iloc[0])


def product_name(label: str, taken: set[str]) -> str:
    """A product name for a clip: its file name without the extension, then ``-2``, ``-3`` …
    when a product already has that name.

    Example:
        >>> product_name("zh_f_weather.wav", {"zh_f_weather"})
        'zh_f_weather-2'
    """
    stem = PurePath(label).stem
    if stem not in taken:
        return stem
    return next(f"{stem}-{n}" for n in itertools.count(2) if f"{stem}-{n}" not in taken)


def drivers_text(drivers: Any, t: Translator) -> str:
    """A prediction's ``drivers`` (``ws.scores.predict``) in the panel's language.

    Example:
        >>> drivers_text("clip 温柔.wav -0.5, speed_factor=1.1 -0.2, dur_z -0.1", Translator("zh"))
        '参考音频 温柔.wav -0.5，speed_factor=1.1 -0.2，时长偏离 -0.1'
    """
    parts = []
    for d in parse_drivers(drivers if isinstance(drivers, str) else ""):
        if d.kind == "clip":
            label = t("review.driver.clip", name=d.name)
        elif d.kind == "identity":
            dim = f"review.driver.dim.{d.name}"
            label = f"{t(dim) if dim in MESSAGES else d.name}={d.value}"
        else:  # a metric the panel has no words for keeps its column name
            key = f"review.driver.metric.{d.name}" if d.kind == "metric" else \
                f"review.driver.{d.kind}"
            label = t(key) if key in MESSAGES else d.name
        parts.append(f"{label} {d.stars:+.1f}")
    return ("，" if t.lang == "zh" else ", ").join(parts) or "—"


__all__ = ["best_take", "best_text", "drivers_text", "product_name", "unheard_text"]
