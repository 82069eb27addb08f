"""A simulated listening session: synthetic roles with hidden clip quality, and a listener.

What ``tests/rasv/scores/test_predict.py`` and ``bench/bench_predict.py`` measure the
"listen less" model on (``docs/predict.md``).

Each role has clips with a hidden quality, model pairs and ``top_k`` values that shift it, texts
that are harder or easier, takes that carry injected defects (repetition, swallowed words,
electric noise, long pauses, cut-off endings) which the analysis metrics catch imperfectly,
and a listener whose stars scatter around the truth. :func:`run_session` plays the "ask"
loop against it; :func:`duration_needs` counts what duration-sorted listening (RAS's order)
needs to settle on the best clip.

Example:
    >>> role = simulate_role(0)
    >>> bool(role.takes.stars.isna().all()), role.best_clip in set(role.takes.clip_id)
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rasv.scores.predict import Priors, ask_order, build_design, fit_stars, rank_values

#: The smallest quality gap between the best clip and the next (in stars): a listener who
#: cannot hear a difference this size does not care which of the two wins (the indifference
#: zone of ranking-and-selection).
INDIFFERENCE = 0.5
#: Defects, their share among defective takes, and what they do to the metrics.
DEFECTS = ("repetition", "swallowed", "electric_noise", "long_pause", "cut_off")
TEXTS = ("你好。", "今天的天气真不错，我们出去走走吧。", "这件事情说来话长，要从很多年以前讲起。",
         "谢谢你一直以来的帮助。", "请把窗户关上，外面风很大，小心着凉。", "明天见。")


@dataclass(frozen=True)
class SimRole:
    """A simulated role: its take table (no stars yet), its listener's stars, the truth.

    Example:
        >>> r = simulate_role(0)
        >>> r.quality[r.best_clip] == max(r.quality.values())
        True
    """

    takes: pd.DataFrame
    listener: np.ndarray  # stars the listener gives each take when asked
    quality: dict[int, float]  # hidden clip quality (stars of a clean take, on average)
    best_clip: int


def simulate_role(seed: int, *, listener_sd: float = 0.5, n_clips: int | None = None,
                  n_texts: int | None = None, top_ks: tuple[int, ...] = (5, 15, 30)) -> SimRole:
    """A synthetic role with a few hundred takes (see the module docstring).

    Example:
        >>> r = simulate_role(3)
        >>> len(r.takes) == len(r.listener), int(r.listener.min()) >= 0
        (True, True)
    """
    rng = np.random.default_rng(seed)
    n_clips = int(rng.integers(8, 15)) if n_clips is None else n_clips
    n_texts = int(rng.integers(3, 6)) if n_texts is None else n_texts
    pairs = [(1, 2), (3, 4)]
    ks = list(top_ks)
    q = rng.normal(0.0, 0.7, n_clips)
    top = np.argsort(-q)
    gap = q[top[0]] - q[top[1]]
    if gap < INDIFFERENCE:
        q[top[0]] += INDIFFERENCE - gap
    clip_ids = list(range(11, 11 + n_clips))
    pair_eff = rng.normal(0.0, 0.3, len(pairs))
    k_eff = rng.normal(0.0, 0.25, len(ks))
    texts = [TEXTS[i % len(TEXTS)] + "啊" * (i // len(TEXTS)) for i in range(n_texts)]
    text_eff = rng.normal(0.0, 0.2, n_texts)
    text_units = np.array([len(t) for t in texts], dtype=float)
    clip_len = rng.uniform(3.5, 9.5, n_clips)  # reference length changes take pace a little
    rows = []
    for c in range(n_clips):
        for p, (g, s) in enumerate(pairs):
            for ki, k in enumerate(ks):
                for ti, text in enumerate(texts):
                    rows.append((c, p, ki, ti, g, s, k, text))
    n = len(rows)
    c_i = np.array([r[0] for r in rows])
    p_i = np.array([r[1] for r in rows])
    k_i = np.array([r[2] for r in rows])
    t_i = np.array([r[3] for r in rows])
    clean = 3.0 + q[c_i] + pair_eff[p_i] + k_eff[k_i] + text_eff[t_i]
    # Worse references and sampling make more defects.
    p_defect = 0.06 + 0.14 / (1.0 + np.exp(2.0 * (q[c_i] + k_eff[k_i])))
    defective = rng.random(n) < p_defect
    kind = np.where(defective, rng.integers(0, len(DEFECTS), n), -1)
    penalty = np.where(defective, rng.normal(2.3, 0.6, n), 0.0)
    listener = np.clip(np.round(clean - penalty + rng.normal(0.0, listener_sd, n)), 0, 5)

    caught = rng.random(n) < 0.75  # a detector sees the defect
    is_kind = {d: (kind == k) for k, d in enumerate(DEFECTS)}
    pace = (0.22 + 0.01 * clip_len[c_i] + 0.03 * (k_i - 1)) * rng.lognormal(0.0, 0.08, n)
    pace = np.where(is_kind["repetition"], pace * rng.uniform(1.4, 2.0, n), pace)
    pace = np.where(is_kind["swallowed"], pace * rng.uniform(0.5, 0.7, n), pace)
    duration = pace * text_units[t_i] + 0.3
    sig = 3.3 + 0.25 * (q[c_i] + pair_eff[p_i]) + rng.normal(0.0, 0.25, n)
    sig = np.where(is_kind["electric_noise"] & caught, sig - rng.uniform(0.5, 1.2, n), sig)
    bak = 3.8 + rng.normal(0.0, 0.2, n)
    ovrl = 0.6 * sig + 0.3 * bak + rng.normal(0.0, 0.15, n) - 0.9
    hf = np.where(is_kind["electric_noise"] & caught, rng.integers(1, 4, n), 0)
    hf = np.where(rng.random(n) < 0.02, 1, hf)  # false alarms
    rep = rng.uniform(0.4, 0.85, n)
    rep = np.where(is_kind["repetition"] & caught, rng.uniform(0.93, 0.99, n), rep)
    pause = rng.uniform(0.1, 0.6, n)
    pause = np.where(is_kind["long_pause"] & caught, rng.uniform(1.0, 2.5, n), pause)
    end = rng.normal(-32.0, 5.0, n)
    end = np.where(is_kind["cut_off"] & caught, rng.uniform(-10.0, -2.0, n), end)
    sim = 0.78 + 0.04 * q[c_i] + rng.normal(0.0, 0.03, n)

    takes = pd.DataFrame({
        "id": [f"t{seed:02d}_{i:04d}" for i in range(n)],
        "status": "done",
        "duration_s": duration.round(3),
        "clip_id": [clip_ids[c] for c in c_i],
        "clip_name": [f"clip{clip_ids[c]}" for c in c_i],
        "text": [texts[t] for t in t_i],
        "gpt_id": [pairs[p][0] for p in p_i],
        "sovits_id": [pairs[p][1] for p in p_i],
        "top_k": [ks[k] for k in k_i],
        "ord": np.arange(n),
        "stars": pd.array([pd.NA] * n, dtype="Float64"),
        "dnsmos_sig": sig, "dnsmos_bak": bak, "dnsmos_ovrl": ovrl, "hf_bursts": hf.astype(float),
        "repetition": rep, "max_pause_s": pause, "end_level_db": end,
        "sec_per_unit": pace, "sim_ref": sim,
    })
    # Some takes are not analysed yet: the model must cope with missing metrics.
    missing = rng.random(n) < 0.08
    metric_cols = ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "hf_bursts", "repetition",
                   "max_pause_s", "end_level_db", "sec_per_unit", "sim_ref"]
    takes.loc[missing, metric_cols] = np.nan
    takes["dur_z"] = takes.groupby("text")["duration_s"].transform(
        lambda d: (d - d.mean()) / d.std(ddof=0))
    takes = _add_suspicion(takes)
    takes.attrs["varied"] = ["gpt", "sovits", "top_k"]
    takes.attrs["metrics"] = metric_cols
    quality = {clip_ids[c]: float(3.0 + q[c] + pair_eff.mean() + k_eff.mean() + text_eff.mean())
               for c in range(n_clips)}
    best = clip_ids[int(np.argmax(q))]
    return SimRole(takes, listener.astype(float), quality, best)


def _add_suspicion(takes: pd.DataFrame) -> pd.DataFrame:
    """rasv's own listen-first scoring over the simulated metrics."""
    from rasv.analysis import score_takes

    analysed = takes[takes["dnsmos_ovrl"].notna()]
    wide = analysed[["id", "text", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "hf_bursts",
                     "repetition", "max_pause_s", "end_level_db", "sec_per_unit",
                     "sim_ref"]].rename(columns={"id": "take_id"})
    s = score_takes(wide)[["take_id", "suspicion", "promise", "pace_z"]]
    out = takes.merge(s, how="left", left_on="id", right_on="take_id").drop(columns="take_id")
    out.attrs = dict(takes.attrs)
    return out


def duration_needs(role: SimRole) -> int:
    """Takes heard in duration order (RAS's) until the best mean is the best clip for good.

    Shortest first; from that take on, the clip with the best mean of the heard stars is the
    truly best clip and stays so to the end (all takes when it never settles).

    Example:
        >>> r = simulate_role(1)
        >>> 0 < duration_needs(r) <= len(r.takes)
        True
    """
    order = np.lexsort((role.takes["ord"].to_numpy(), role.takes["duration_s"].to_numpy()))
    clips = role.takes["clip_id"].to_numpy()[order]
    stars = role.listener[order]
    ids = sorted(set(clips))
    pos = {c: k for k, c in enumerate(ids)}
    total = np.zeros(len(ids))
    count = np.zeros(len(ids))
    best = pos[role.best_clip]
    last_wrong = 0
    for i, (c, s) in enumerate(zip(clips, stars, strict=True), start=1):
        total[pos[c]] += s
        count[pos[c]] += 1
        mean = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
        # Ties: the clip heard more often leads, then the lower id (a stable display order).
        leader = int(np.lexsort((np.arange(len(ids)), -count, -mean))[0])
        if leader != best:
            last_wrong = i
    return min(last_wrong + 1, len(clips))


@dataclass(frozen=True)
class SessionResult:
    """What one ask-order session did.

    Example:
        >>> SessionResult(10, 100, 3, True, True, 0.9, 40).heard
        10
    """

    heard: int
    total: int
    recommended: int
    correct: bool
    confident: bool
    coverage: float  # share of unheard takes whose listener stars fall inside the interval
    duration_needs: int


def run_session(role: SimRole, *, budget: float = 0.15, priors: Priors = Priors()) -> SessionResult:
    """Score takes in the "ask" order until confident or ``budget`` heard; check the truth.

    Example:
        >>> r = run_session(simulate_role(2))
        >>> r.heard <= math.ceil(0.15 * r.total)
        True
    """
    takes = role.takes.copy()
    stars = np.full(len(takes), np.nan)
    limit = math.ceil(budget * len(takes))
    index = {t: i for i, t in enumerate(takes["id"])}
    heard = 0
    design = build_design(takes, priors)  # the metrics do not change while listening
    while True:
        takes["stars"] = stars
        model = fit_stars(takes, priors, design=design)
        ranking = rank_values(model, "clip")
        if ranking.attrs["confident"] or heard >= limit:
            break
        nxt = ask_order(model, "clip").take_id.iloc[0]
        i = index[nxt]
        stars[i] = role.listener[i]
        heard += 1
    pred = model.predict()
    unheard = ~model.scored
    y = role.listener[unheard]
    inside = (pred["low"].to_numpy()[unheard] <= y) & (y <= pred["high"].to_numpy()[unheard])
    rec = int(ranking["value"].iloc[0])
    return SessionResult(heard, len(takes), rec, rec == role.best_clip,
                         bool(ranking.attrs["confident"]), float(inside.mean()),
                         duration_needs(role))


@dataclass(frozen=True)
class Figures:
    """The three figures of a simulation run (``docs/predict.md`` defines them).

    Example:
        >>> Figures(0.95, 0.3, 0.9, 30, 100, 0.8, ()).ratio <= 1 / 3
        True
    """

    accuracy: float  # share of seeds whose recommended clip is the truly best one
    ratio: float  # Σ takes heard / Σ takes duration-sorted listening needs
    coverage: float  # share of unheard takes whose stars fall inside the interval
    heard: int
    duration_needs: int
    confident: float  # share of sessions that stopped because recommend was confident
    sessions: tuple[SessionResult, ...]


def evaluate(seeds: range | list[int] = range(20), *, budget: float = 0.15,
             priors: Priors = Priors()) -> Figures:
    """Run :func:`run_session` on ``simulate_role(seed)`` for every seed and sum up.

    Example:
        >>> f = evaluate([4])
        >>> 0.0 <= f.coverage <= 1.0 and f.heard <= f.sessions[0].total
        True
    """
    runs = tuple(run_session(simulate_role(s), budget=budget, priors=priors) for s in seeds)
    heard = sum(r.heard for r in runs)
    needs = sum(r.duration_needs for r in runs)
    unheard = np.array([r.total - r.heard for r in runs], dtype=float)
    cover = np.array([r.coverage for r in runs])
    return Figures(
        accuracy=float(np.mean([r.correct for r in runs])),
        ratio=heard / needs,
        coverage=float((cover * unheard).sum() / unheard.sum()),
        heard=heard, duration_needs=needs,
        confident=float(np.mean([r.confident for r in runs])), sessions=runs,
    )


__all__ = ["DEFECTS", "INDIFFERENCE", "Figures", "SessionResult", "SimRole", "duration_needs",
           "evaluate", "run_session", "simulate_role"]
