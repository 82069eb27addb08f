"""Blind review: listen without knowing which clip or setting made a take.

Two sessions, both plain Python over a takes DataFrame (``ws.takes.df``), so a panel can
drive them with buttons and keys and tests can drive them without one:

* :class:`BlindSession`: a shuffled pass over the takes. The text is shown (the listener
  must know what should be said); the clip, the parameters and the seed stay hidden until
  :meth:`BlindSession.reveal`. Scores go through a callback (``ws.scores.set``).
* :class:`PairSession`: A/B pairs of takes of the same text that differ in one chosen
  dimension (clip, a parameter, or the whole parameter label), sides shuffled. Each vote
  goes through a callback (``ws.scores.vote``); :func:`rasv.scores.ranking.bradley_terry` turns
  the votes into an order.

The order depends only on the takes and the seed: the same seed gives the same pass, so a
session can be resumed or repeated by another listener.

Example:
    >>> import pandas as pd
    >>> takes = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x", "x", "y"],
    ...                       "audio_path": ["a.wav", "b.wav", "c.wav"],
    ...                       "clip_name": ["1.wav", "2.wav", "1.wav"]})
    >>> s = BlindSession(takes, seed=1)
    >>> len(s), s.current.details
    (3, {})
    >>> sorted(s.reveal())[:2]
    ['clip_name', 'id']
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rasv.errors import InvalidInput

#: Columns a blind listener may see before revealing.
VISIBLE_COLUMNS = ("text", "text_lang", "audio_path", "duration_s", "status")

ScoreCallback = Callable[..., Any]
VoteCallback = Callable[[str, str, str], Any]


def _rng(seed: int, salt: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{int(seed)}|{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class BlindItem:
    """What a blind listener sees of one take; ``details`` stay empty until revealed.

    Example:
        >>> BlindItem(0, 3, "ab", "你好", "zh", "audio/takes/ab.wav").label
        '1/3'
    """

    position: int
    total: int
    take_id: str
    text: str
    text_lang: str
    audio_path: str | None
    duration_s: float | None = None
    revealed: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    stars: int | None = None

    @property
    def label(self) -> str:
        """``position/total``, 1-based, for a progress line."""
        return f"{self.position + 1}/{self.total}"


class BlindSession:
    """A shuffled, parameter-hidden pass over takes.

    Args:
        takes: rows with at least ``id``, ``text`` and ``audio_path`` (``ws.takes.df``).
        seed: the shuffle seed.
        group_text: keep the takes of one text together (texts in shuffled order, takes
            shuffled inside each), so the listener compares like with like.
        on_score: called as ``on_score(take_id, stars=…, tags=…, remark=…)``.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"id": list("abcd"), "text": list("xxyy"),
        ...                    "audio_path": list("1234")})
        >>> [BlindSession(df, seed=3).order == BlindSession(df.iloc[::-1], seed=3).order]
        [True]
    """

    def __init__(self, takes: pd.DataFrame, seed: int = 0, *, group_text: bool = True,
                 on_score: ScoreCallback | None = None) -> None:
        missing = {"id", "text", "audio_path"} - set(takes.columns)
        if missing:
            raise InvalidInput(f"blind review needs the columns {', '.join(sorted(missing))}")
        self.seed = int(seed)
        self._rows = {str(r["id"]): dict(r) for _, r in takes.iterrows()}
        ids = sorted(self._rows)  # independent of the caller's row order
        rng = _rng(self.seed, "blind")
        if group_text:
            texts = sorted({self._rows[i]["text"] for i in ids})
            text_order = [texts[k] for k in rng.permutation(len(texts))]
            order: list[str] = []
            for t in text_order:
                members = [i for i in ids if self._rows[i]["text"] == t]
                order += [members[k] for k in rng.permutation(len(members))]
        else:
            order = [ids[k] for k in rng.permutation(len(ids))]
        self.order: list[str] = order
        self.position = 0
        self.on_score = on_score
        self._revealed: set[str] = set()
        self.scores: dict[str, int | None] = {}

    def __len__(self) -> int:
        return len(self.order)

    def _item(self, k: int) -> BlindItem:
        tid = self.order[k]
        row = self._rows[tid]
        revealed = tid in self._revealed
        details = {c: v for c, v in row.items() if c not in VISIBLE_COLUMNS} if revealed else {}
        dur = row.get("duration_s")
        return BlindItem(
            position=k, total=len(self.order), take_id=tid, text=str(row.get("text", "")),
            text_lang=str(row.get("text_lang", "") or ""), audio_path=row.get("audio_path"),
            duration_s=None if dur is None or pd.isna(dur) else float(dur),
            revealed=revealed, details=details, stars=self.scores.get(tid),
        )

    @property
    def current(self) -> BlindItem:
        """The take under the cursor."""
        if not self.order:
            raise InvalidInput("this blind session has no takes (check the filters)")
        return self._item(self.position)

    @property
    def has_next(self) -> bool:
        return self.position < len(self.order) - 1

    @property
    def has_previous(self) -> bool:
        return self.position > 0

    def next(self) -> BlindItem:
        """Move to the next take (stays on the last one) and return it."""
        if self.has_next:
            self.position += 1
        return self.current

    def previous(self) -> BlindItem:
        """Move to the previous take (stays on the first one) and return it."""
        if self.has_previous:
            self.position -= 1
        return self.current

    def goto(self, position: int) -> BlindItem:
        """Jump to a 0-based position."""
        if not 0 <= position < len(self.order):
            raise InvalidInput(f"position must be in 0..{len(self.order) - 1}, got {position}")
        self.position = position
        return self.current

    def reveal(self) -> dict[str, Any]:
        """Show the hidden details (clip, parameters, seed …) of the current take.

        Once revealed a take stays revealed when the listener comes back to it.
        """
        self._revealed.add(self.current.take_id)
        return self.current.details

    def score(self, stars: int | None, tags: Sequence[str] | None = None,
              remark: str | None = None) -> BlindItem:
        """Score the current take through ``on_score``; returns the current item."""
        tid = self.current.take_id
        if self.on_score is not None:
            self.on_score(tid, stars=stars, tags=tags, remark=remark)
        self.scores[tid] = stars
        return self.current

    @property
    def n_scored(self) -> int:
        return sum(1 for v in self.scores.values() if v is not None)

    def summary(self) -> pd.DataFrame:
        """Every take in session order with the stars given here and all hidden columns.

        Meant for after the pass: it reveals everything.
        """
        rows = []
        for k, tid in enumerate(self.order):
            row = dict(self._rows[tid])
            row["position"] = k
            row["session_stars"] = self.scores.get(tid)
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class PairItem:
    """One A/B pair as the listener sees it: two takes of one text, identities hidden.

    Example:
        >>> PairItem(0, 1, "你好", "a", "b", "a.wav", "b.wav").label
        '1/1'
    """

    position: int
    total: int
    text: str
    take_a: str
    take_b: str
    audio_a: str | None
    audio_b: str | None
    vote: str | None = None
    revealed: bool = False
    details_a: dict[str, Any] = field(default_factory=dict)
    details_b: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.position + 1}/{self.total}"


class PairSession:
    """A/B comparisons of takes of one text that differ in ``by``.

    Pairs are formed inside each text: for every two distinct values of ``by``, one take of
    each (takes with the same seed are paired first, so sampling noise is shared), sides
    shuffled. With ``n`` the pass is a seeded sample of ``n`` such pairs.

    Args:
        takes: rows with ``id``, ``text``, ``audio_path`` and the ``by`` column.
        by: the column whose values are compared (``clip_id``, ``params_label``, ``top_k`` …).
        seed: shuffle seed.
        n: at most this many pairs.
        on_vote: called as ``on_vote(take_a, take_b, winner)`` with winner a take id or "tie".

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"id": list("abc"), "text": ["x"] * 3, "audio_path": list("abc"),
        ...                    "top_k": [5, 10, 15], "seed": [1, 1, 1]})
        >>> len(PairSession(df, by="top_k"))
        3
    """

    def __init__(self, takes: pd.DataFrame, by: str, seed: int = 0, *, n: int | None = None,
                 on_vote: VoteCallback | None = None) -> None:
        need = {"id", "text", "audio_path", by}
        missing = need - set(takes.columns)
        if missing:
            raise InvalidInput(f"A/B review needs the columns {', '.join(sorted(missing))}")
        self.by = by
        self.seed = int(seed)
        self.on_vote = on_vote
        self._rows = {str(r["id"]): dict(r) for _, r in takes.iterrows()}
        rng = _rng(self.seed, f"pairs|{by}")
        pairs: list[tuple[str, str]] = []
        ids = sorted(self._rows)
        for text in sorted({self._rows[i]["text"] for i in ids}):
            members = [i for i in ids if self._rows[i]["text"] == text]
            by_value: dict[Any, list[str]] = {}
            for i in members:
                by_value.setdefault(_key(self._rows[i][by]), []).append(i)
            values = sorted(by_value, key=str)
            for va, vb in itertools.combinations(values, 2):
                a, b = _matched(by_value[va], by_value[vb], self._rows, rng)
                pairs.append((a, b) if rng.random() < 0.5 else (b, a))
        order = [pairs[k] for k in rng.permutation(len(pairs))]
        if n is not None:
            order = order[: max(int(n), 0)]
        self.pairs: list[tuple[str, str]] = order
        self.position = 0
        self.votes: dict[int, str] = {}
        self._revealed: set[int] = set()

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def current(self) -> PairItem:
        if not self.pairs:
            raise InvalidInput(f"no A/B pairs: no text has takes with two different {self.by}")
        k = self.position
        a, b = self.pairs[k]
        revealed = k in self._revealed

        def hidden(tid: str) -> dict[str, Any]:
            row = self._rows[tid]
            return {c: v for c, v in row.items() if c not in VISIBLE_COLUMNS} if revealed else {}

        return PairItem(k, len(self.pairs), str(self._rows[a]["text"]), a, b,
                        self._rows[a].get("audio_path"), self._rows[b].get("audio_path"),
                        self.votes.get(k), revealed, hidden(a), hidden(b))

    def vote(self, choice: str) -> PairItem:
        """Record ``"a"``, ``"b"`` or ``"tie"`` for the current pair and move on."""
        if choice not in ("a", "b", "tie"):
            raise InvalidInput(f"a vote is 'a', 'b' or 'tie', not {choice!r}")
        item = self.current
        winner = {"a": item.take_a, "b": item.take_b, "tie": "tie"}[choice]
        if self.on_vote is not None:
            self.on_vote(item.take_a, item.take_b, winner)
        self.votes[self.position] = choice
        if self.position < len(self.pairs) - 1:
            self.position += 1
        return self.current

    def previous(self) -> PairItem:
        if self.position > 0:
            self.position -= 1
        return self.current

    def next(self) -> PairItem:
        if self.position < len(self.pairs) - 1:
            self.position += 1
        return self.current

    def reveal(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The hidden details of both sides of the current pair."""
        self._revealed.add(self.position)
        item = self.current
        return item.details_a, item.details_b

    def comparisons(self) -> list[tuple[Any, Any, Any]]:
        """The votes of this session as ``(value_a, value_b, winner_value | "tie")``."""
        out = []
        for k, choice in sorted(self.votes.items()):
            a, b = self.pairs[k]
            va, vb = _key(self._rows[a][self.by]), _key(self._rows[b][self.by])
            out.append((va, vb, {"a": va, "b": vb, "tie": "tie"}[choice]))
        return out


def _key(v: Any) -> Any:
    if isinstance(v, (list, np.ndarray)):
        return tuple(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _matched(left: list[str], right: list[str], rows: dict[str, dict[str, Any]],
             rng: np.random.Generator) -> tuple[str, str]:
    """One take from each side, with equal seeds when possible."""
    seeds_right: dict[int, str] = {}
    for r in right:
        s = rows[r].get("seed")
        if s is not None and not pd.isna(s):
            seeds_right.setdefault(int(s), r)
    for a in left:
        s = rows[a].get("seed")
        if s is not None and not pd.isna(s) and int(s) in seeds_right:
            return a, seeds_right[int(s)]
    return left[int(rng.integers(len(left)))], right[int(rng.integers(len(right)))]


__all__ = ["VISIBLE_COLUMNS", "BlindItem", "BlindSession", "PairItem", "PairSession"]
