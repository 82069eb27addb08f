"""The listen-first order: a suspicion score per take and flags that suggest review tags.

Each rule reads one take's metrics (and, where a raw number means little alone, how the take
compares with its siblings: takes of the same text, or all takes of the task) and may raise
a :class:`Flag`: a suggested tag from the review vocabulary, a severity in [0, 1] and the
reason in words ("电音/electric noise: 3 HF bursts at 1.2 s, 2.8 s…"). Flags suggest tags;
they never set scores. A take's suspicion is the chance that at least one flag is right if
each severity were an independent probability: ``1 - Π(1 - severity)``, so two moderate
signals outrank one.

Example:
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"take_id": ["a", "b"], "text": ["你好", "你好"],
    ...                      "clipped_fraction": [0.0, 0.004], "hf_bursts": [0.0, 0.0]})
    >>> out = score_takes(wide)
    >>> out.take_id.tolist(), out["flags"].tolist()
    (['b', 'a'], [['clipping'], []])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rasv.analysis.measure import spans
from rasv.analysis.pace import robust_z
from rasv.scores.tags import TAGS as VOCABULARY


@dataclass(frozen=True)
class Tag:
    """A review tag: its key (what a score stores), Chinese and English labels.

    Example:
        >>> TAGS["repetition"].label
        '复读/repetition'
    """

    key: str
    zh: str
    en: str

    @property
    def label(self) -> str:
        return f"{self.zh}/{self.en}"


#: The tags analysis may suggest, by key, with the labels of the one review vocabulary
#: (:mod:`rasv.scores.tags`), so a suggestion can be accepted as it is with ``ws.scores.set``.
SUGGESTED_TAGS = ("electric_noise", "repetition", "swallowed", "long_pause", "clipping",
                  "cut_off", "noise", "mispronounced", "timbre")
TAGS: dict[str, Tag] = {k: Tag(k, *VOCABULARY[k]) for k in SUGGESTED_TAGS}


@dataclass(frozen=True)
class Flag:
    """One suggested tag for one take.

    ``reason`` is the sentence for the library and CLI (tag label in both languages, the
    detail in English); ``message`` and ``params`` are the same detail as a key and its
    values, so an interface can say it in its own language (``widgets.i18n`` has
    ``analysis.reason.<message>`` in zh and en).

    Example:
        >>> f = Flag("clipping", "clipped_fraction", 0.5, "爆音/clipping: 0.20 % of samples clipped")
        >>> f.tag, f.severity
        ('clipping', 0.5)
    """

    tag: str
    metric: str
    severity: float
    reason: str
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def ramp(x: float | None, lo: float, hi: float) -> float:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between (None and NaN give 0).

    Example:
        >>> ramp(0.5, 0.0, 1.0), ramp(None, 0, 1), ramp(3, 1, 2)
        (0.5, 0.0, 1.0)
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 0.0
    if hi == lo:
        return float(x >= hi)
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def _get(row: Mapping[str, Any], name: str) -> float | None:
    v = row.get(name)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _flag(key: str, metric: str, severity: float, text: str, message: str = "",
          **params: Any) -> Flag | None:
    if severity <= 0.0:
        return None
    tag = TAGS[key]
    return Flag(tag.key, metric, round(severity, 3), f"{tag.label}: {text}", message, params)


# -- the rules -------------------------------------------------------------------------------
# Each rule takes the take's metrics (row), their details and the context of the take's group
# and returns flags. Thresholds were set on rasv's espeak evaluation set (tests and bench) and
# on what listeners notice; every one is a named argument of Rules so users can tune them.

Row = Mapping[str, Any]
Details = Mapping[str, Any]


@dataclass(frozen=True)
class Rules:
    """Thresholds of the flag rules (the start and the full-severity point of each ramp).

    Example:
        >>> Rules().long_pause_s
        (0.8, 1.6)
    """

    clipped_fraction: tuple[float, float] = (1e-4, 2e-3)
    plateau_fraction: tuple[float, float] = (0.01, 0.03)
    hum_db: tuple[float, float] = (12.0, 25.0)
    pause_noise_db: tuple[float, float] = (-55.0, -40.0)
    pause_flatness_min: float = 0.3
    repetition: tuple[float, float] = (0.9, 0.99)
    repetition_excess: tuple[float, float] = (0.03, 0.08)
    pace_z: tuple[float, float] = (3.0, 5.0)
    long_pause_s: tuple[float, float] = (0.8, 1.6)
    lead_silence_s: tuple[float, float] = (1.0, 2.0)
    trail_silence_s: tuple[float, float] = (1.5, 3.0)
    end_level_db: tuple[float, float] = (-15.0, -6.0)
    dnsmos_drop: tuple[float, float] = (0.4, 1.0)
    dnsmos_bak: tuple[float, float] = (3.0, 2.0)
    asr_rate: tuple[float, float] = (0.05, 0.3)
    similarity_drop: tuple[float, float] = (0.08, 0.2)


def _clipping(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    out: list[Flag | None] = []
    frac = _get(row, "clipped_fraction")
    if frac is not None:
        where = (det.get("clipped_fraction") or {}).get("places", [])
        at = f" at {spans(where)}" if where else ""
        out.append(_flag("clipping", "clipped_fraction", ramp(frac, *r.clipped_fraction),
                         f"{frac * 100:.2f} % of samples clipped{at}",
                         "clipped_at" if where else "clipped", pct=frac * 100,
                         where=spans(where)))
    plateau = _get(row, "plateau_fraction")
    if plateau is not None and not any(f is not None for f in out):
        out.append(_flag("clipping", "plateau_fraction", ramp(plateau, *r.plateau_fraction),
                         f"{plateau * 100:.1f} % of samples pressed against the loudest level",
                         "plateau", pct=plateau * 100))
    return out


def _noise(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    out: list[Flag | None] = []
    n = _get(row, "hf_bursts")
    if n:
        events = (det.get("hf_bursts") or {}).get("events", [])
        where = spans([e[0] for e in events])
        noun = "burst" if n == 1 else "bursts"
        out.append(_flag("electric_noise", "hf_bursts", min(1.0, 0.6 + 0.2 * (n - 1)),
                         f"{int(n)} broadband {noun} at {where}",
                         "burst" if n == 1 else "bursts", n=int(n), where=where))
    hum = _get(row, "hum_db")
    if hum is not None:
        hz = (det.get("hum_db") or {}).get("mains_hz", 50)
        out.append(_flag("electric_noise", "hum_db", ramp(hum, *r.hum_db),
                         f"{hz:g} Hz hum, {hum:.0f} dB over its surroundings",
                         "hum", hz=hz, db=hum))
    lvl, flat = _get(row, "pause_noise_db"), _get(row, "pause_flatness")
    if lvl is not None and flat is not None and flat >= r.pause_flatness_min:
        out.append(_flag("noise", "pause_noise_db", ramp(lvl, *r.pause_noise_db),
                         f"noise between words at {lvl:.0f} dBFS", "pause_noise", db=lvl))
    bak, med = _get(row, "dnsmos_bak"), _get(ctx, "dnsmos_bak")
    if bak is not None and med is not None and med - bak > r.dnsmos_drop[0]:
        sev = ramp(bak, r.dnsmos_bak[0], r.dnsmos_bak[1]) * ramp(med - bak, *r.dnsmos_drop)
        out.append(_flag("noise", "dnsmos_bak", sev,
                         f"DNSMOS background {bak:.2f} (task median {med:.2f})",
                         "dnsmos_bak", value=bak, median=med))
    return out


def _quality(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    # DNSMOS SIG rates the voice itself (distortion, a metallic or buzzing timbre), which is
    # what GPT-SoVITS users call 电音 when there is no burst to point at.
    sig, med = _get(row, "dnsmos_sig"), _get(ctx, "dnsmos_sig")
    if sig is None or med is None:
        return []
    return [_flag("electric_noise", "dnsmos_sig", 0.7 * ramp(med - sig, *r.dnsmos_drop),
                  f"DNSMOS signal quality {sig:.2f} (task median {med:.2f})",
                  "dnsmos_sig", value=sig, median=med)]


def _repetition(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    out: list[Flag | None] = []
    rep = _get(row, "repetition")
    if rep is not None:
        sev = ramp(rep, *r.repetition)
        # Texts that repeat themselves (谢谢谢谢) make every take of them self-similar: then
        # only a take clearly above its siblings counts.
        base = _get(ctx, "repetition_text_median")
        if base is not None and base >= r.repetition[0]:
            sev *= ramp(rep - base, *r.repetition_excess)
        d = det.get("repetition") or {}
        out.append(_flag("repetition", "repetition", sev,
                         f"{d.get('first_s', 0):.1f} s sounds again at {d.get('second_s', 0):.1f} s "
                         f"(similarity {rep:.2f})", "repetition", first=d.get("first_s", 0),
                         second=d.get("second_s", 0), similarity=rep))
    z, spu, n = _get(row, "pace_z"), _get(row, "sec_per_unit"), _get(ctx, "text_takes")
    if z is not None and spu is not None:
        among = f" among {int(n)} takes of this text" if n else ""
        if z > 0:
            out.append(_flag("repetition", "pace_z", ramp(z, *r.pace_z),
                             f"slow: {spu:.2f} s per character, z = {z:+.1f}{among}",
                             "slow_among" if n else "slow", spu=spu, z=z, n=int(n or 0)))
        else:
            out.append(_flag("swallowed", "pace_z", ramp(-z, *r.pace_z),
                             f"fast: {spu:.2f} s per character, z = {z:+.1f}{among}",
                             "fast_among" if n else "fast", spu=spu, z=z, n=int(n or 0)))
    return out


def _pauses(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    out: list[Flag | None] = []
    mp = _get(row, "max_pause_s")
    if mp is not None:
        pauses = (det.get("max_pause_s") or {}).get("pauses", [])
        longest = max(pauses, key=lambda p: p[1] - p[0]) if pauses else [0.0, 0.0]
        out.append(_flag("long_pause", "max_pause_s", ramp(mp, *r.long_pause_s),
                         f"{mp:.1f} s pause at {longest[0]:.1f} s", "long_pause", s=mp,
                         at=longest[0]))
    lead, trail = _get(row, "lead_silence_s"), _get(row, "trail_silence_s")
    if lead is not None:
        out.append(_flag("long_pause", "lead_silence_s", 0.6 * ramp(lead, *r.lead_silence_s),
                         f"{lead:.1f} s of silence before the speech", "lead_silence",
                         s=lead))
    if trail is not None:
        out.append(_flag("long_pause", "trail_silence_s", 0.6 * ramp(trail, *r.trail_silence_s),
                         f"{trail:.1f} s of silence after the speech", "trail_silence",
                         s=trail))
    return out


def _ending(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    lvl = _get(row, "end_level_db")
    if lvl is None:
        return []
    return [_flag("cut_off", "end_level_db", ramp(lvl, *r.end_level_db),
                  f"the last 30 ms are {abs(lvl):.0f} dB {'under' if lvl < 0 else 'over'} "
                  "the speech level, with no decay",
                  "end_under" if lvl < 0 else "end_over", db=abs(lvl))]


def _asr(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    rate = _get(row, "asr_error_rate")
    if rate is None:
        return []
    sev = ramp(rate, *r.asr_rate)
    ins, dele, sub = (_get(row, k) or 0.0 for k in ("asr_insertions", "asr_deletions",
                                                     "asr_substitutions"))
    heard = (det.get("asr_error_rate") or {}).get("hypothesis", "")
    out: list[Flag | None] = []
    parts = {"repetition": ins, "swallowed": dele, "mispronounced": sub}
    total = ins + dele + sub
    for key, share in parts.items():
        if total <= 0 or share <= 0:
            continue
        words = {"repetition": ("asr_insertions", "inserted", "extra"),
                 "swallowed": ("asr_deletions", "deleted", "missing"),
                 "mispronounced": ("asr_error_rate", None, "wrong")}[key]
        units = (det.get(words[0]) or {}).get(words[1], []) if words[1] else []
        what = f": {' '.join(units[:6])}" if units else ""
        out.append(_flag(key, words[0], sev * share / total * (1.0 if share == max(parts.values()) else 0.8),
                         f"ASR error rate {rate:.0%}, {share:.0%} {words[2]}{what} "
                         f"(heard \u201c{heard[:40]}\u201d)",
                         f"asr_{words[2]}" + ("_units" if units else ""), rate=rate,
                         share=share, units=" ".join(units[:6]), heard=heard[:40]))
    return out


def _speaker(row: Row, det: Details, ctx: Row, r: Rules) -> list[Flag | None]:
    out: list[Flag | None] = []
    for metric, what in (("sim_ref", "its reference clip"), ("sim_centroid", "the role")):
        # message key = metric: "sim_ref" / "sim_centroid"
        v, med = _get(row, metric), _get(ctx, metric)
        if v is None or med is None:
            continue
        out.append(_flag("timbre", metric, 0.8 * ramp(med - v, *r.similarity_drop),
                         f"speaker similarity to {what} {v:.2f} (task median {med:.2f})",
                         metric, value=v, median=med))
    return out


RULES: list[Callable[[Row, Details, Row, Rules], list[Flag | None]]] = [
    _clipping, _noise, _quality, _repetition, _pauses, _ending, _asr, _speaker,
]


def flags_for(row: Row, details: Details | None = None, context: Row | None = None,
              rules: Rules | None = None) -> list[Flag]:
    """Every flag one take raises, highest severity first.

    Args:
        row: metric name → value for the take (``pace_z`` included when known).
        details: metric name → the metric's detail dict.
        context: group facts: task medians of ``dnsmos_sig``, ``dnsmos_bak``, ``sim_ref``,
            ``sim_centroid``; ``repetition_text_median`` and ``text_takes`` for the take's text.
        rules: thresholds.

    Example:
        >>> [f.reason for f in flags_for({"max_pause_s": 1.2},
        ...                               {"max_pause_s": {"pauses": [[2.0, 3.2]]}})]
        ['停顿过长/long pause: 1.2 s pause at 2.0 s']
    """
    r = rules or Rules()
    det = details or {}
    ctx = context or {}
    found = [f for rule in RULES for f in rule(row, det, ctx, r) if f is not None]
    return sorted(found, key=lambda f: -f.severity)


def combine(severities: list[float]) -> float:
    """``1 - Π(1 - s)``: the suspicion of a take from its flags' severities.

    Example:
        >>> combine([0.5, 0.5]), combine([])
        (0.75, 0.0)
    """
    p = 1.0
    for s in severities:
        p *= 1.0 - min(max(s, 0.0), 1.0)
    return round(1.0 - p, 4)


def score_takes(wide: pd.DataFrame, details: Mapping[str, Mapping[str, Any]] | None = None,
                rules: Rules | None = None, group: str = "text") -> pd.DataFrame:
    """Suspicion and flags for every take of a wide metrics table, most suspicious first.

    Args:
        wide: one row per take: ``take_id``, ``text`` and one column per metric.
        details: ``take_id → {metric: detail dict}``.
        rules: thresholds.
        group: the column whose equal values make siblings (pace z-scores, repetition
            baselines): the text by default.

    Returns:
        DataFrame ``take_id, suspicion, rank, flags, reasons, reason, pace_z, promise``
        ordered by suspicion (ties: lower DNSMOS overall first, then the original order).
        ``flags`` holds the suggested tags (unique, most severe first), ``reasons`` one
        sentence per flag, ``reason`` those sentences joined for display, ``messages`` the
        same per flag as ``{"tag", "message", "params"}`` for a translated display (see
        :class:`Flag`). ``promise`` (0–1,
        NaN without DNSMOS or speaker metrics) ranks the unflagged takes the other way: the
        mean percentile of DNSMOS and speaker similarity within the task, times
        ``1 - suspicion``; sort by it to hear the likely best takes first.

    Example:
        >>> score_takes(pd.DataFrame({"take_id": [], "text": []})).columns.tolist()[:3]
        ['take_id', 'suspicion', 'rank']
    """
    cols = ["take_id", "suspicion", "rank", "flags", "reasons", "reason", "pace_z", "promise",
            "messages"]
    if wide.empty:
        return pd.DataFrame({c: [] for c in cols})
    w = wide.reset_index(drop=True).copy()
    text = (w[group] if group in w else pd.Series([""] * len(w))).fillna("")
    if "sec_per_unit" in w:
        w["pace_z"] = np.nan
        for _, idx in w.groupby(text, sort=False).groups.items():
            w.loc[idx, "pace_z"] = robust_z(w.loc[idx, "sec_per_unit"].to_numpy(dtype=float))
    medians = {m: float(np.nanmedian(w[m].to_numpy(dtype=float)))
               for m in ("dnsmos_sig", "dnsmos_ovrl", "dnsmos_bak", "sim_ref", "sim_centroid")
               if m in w and w[m].notna().sum() >= 3}
    text_n = text.map(text.value_counts())
    rep_med = (w.groupby(text, sort=False)["repetition"].transform("median")
               if "repetition" in w else None)
    det = details or {}
    rows = []
    for i, row in w.iterrows():
        ctx: dict[str, Any] = dict(medians)
        ctx["text_takes"] = int(text_n.iloc[i])
        if rep_med is not None and ctx["text_takes"] >= 3:
            ctx["repetition_text_median"] = rep_med.iloc[i]
        take = row["take_id"]
        d = det.get(take) or {}
        flags = flags_for(row.to_dict(), d, ctx, rules)
        tags = list(dict.fromkeys(f.tag for f in flags))
        rows.append({
            "take_id": take,
            "suspicion": combine([f.severity for f in flags]),
            "flags": tags,
            "reasons": [f.reason for f in flags],
            "messages": [{"tag": f.tag, "message": f.message, "params": f.params}
                         for f in flags],
            "reason": "; ".join(f.reason for f in flags),
            "pace_z": row.get("pace_z", np.nan),
            "_ovrl": row.get("dnsmos_ovrl", np.nan),
            "_i": i,
        })
    out = pd.DataFrame(rows)
    out["_ovrl"] = pd.to_numeric(out["_ovrl"], errors="coerce")
    out["promise"] = _promise(w, out["suspicion"].to_numpy())
    out = out.sort_values(["suspicion", "_ovrl", "_i"], ascending=[False, True, True],
                          na_position="last", kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out[cols].reset_index(drop=True)


#: Metrics where higher means a better take, averaged (as ranks within the task) into
#: ``promise``.
PROMISE_METRICS: tuple[str, ...] = ("dnsmos_ovrl", "dnsmos_sig", "sim_ref", "sim_centroid")


def _promise(w: pd.DataFrame, suspicion: np.ndarray) -> np.ndarray:
    """How good a take looks: mean percentile rank of the "higher is better" metrics within
    the task, times ``1 - suspicion``; NaN when none of those metrics is known."""
    ranks = [w[m].rank(pct=True).to_numpy(dtype=float) for m in PROMISE_METRICS
             if m in w and w[m].notna().any()]
    if not ranks:
        return np.full(len(w), np.nan)
    return np.round(np.nanmean(np.vstack(ranks), axis=0) * (1.0 - suspicion), 4)


__all__ = ["PROMISE_METRICS", "RULES", "TAGS", "Flag", "Rules", "Tag", "combine", "flags_for", "ramp",
           "score_takes"]
