"""Predicted stars for unheard takes, the takes worth hearing next, and the best clip so far.

The model is a Bayesian linear mixed model fitted in closed form (one Cholesky factorisation),
so a refit after each score is cheap and the same scores always give the same answer:

    stars = intercept + Σ b_j · (feature_j − clip mean)   (how the take differs from its clip)
          + a · clip metrics + Σ c_j · clip mean of feature_j   (what the clip's takes measure)
          + u_clip + u_models + u_param=value … + u_text    (identities, shrunk toward 0)
          + noise

Every coefficient has a Gaussian prior in star units (:class:`Priors`): identities are random
effects, so a clip with no score sits where its metrics put it and a clip scored well twice
lifts its other takes. The noise level is estimated from the scores (with a weak prior), and each prediction
comes with an interval for the stars a listener would give (the model's uncertainty plus the
listener's own scatter).

Example:
    >>> import pandas as pd
    >>> takes = pd.DataFrame({"id": list("abcd"), "clip_id": [1, 1, 2, 2],
    ...                       "stars": [5, None, 1, None]})
    >>> fit = fit_stars(takes)
    >>> p = fit.predict().set_index("take_id")
    >>> bool(p.stars_pred["b"] > p.stars_pred["d"])
    True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.special import ndtr, ndtri, stdtrit

from rasv.scores.ranking import p_best

MAX_STARS = 5

_F = TypeVar("_F", bound=Callable[..., Any])


@functools.cache
def _blas_limiter() -> Callable[[], Any] | None:
    try:
        from threadpoolctl import ThreadpoolController  # comes with scikit-learn
    except ImportError:  # pragma: no cover - scikit-learn is a core dependency
        return None
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1, user_api="blas")


def one_blas_thread(fn: _F) -> _F:
    """Run ``fn`` with a single BLAS thread.

    The matrices here are small (a few hundred columns): threads gain nothing, and on a busy
    machine (a shared runner, a GPU box busy synthesising) they wait on each other, which made
    a refit 10–50 times slower.

    Example:
        >>> one_blas_thread(lambda: 3)()
        3
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limit = _blas_limiter()
        if limit is None:
            return fn(*args, **kwargs)
        with limit():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

#: Metric-like columns of the review table used as features when present (the analysis
#: metrics are added from ``df.attrs["metrics"]`` or by name).
BASE_FEATURES: tuple[str, ...] = ("dur_z", "suspicion", "promise", "pace_z")
#: Columns whose distance from 0 matters both ways (too long and too short are both bad).
TWO_SIDED: tuple[str, ...] = ("dur_z", "pace_z")
#: Features averaged per clip (the clip's typical take), when present.
CLIP_CONTEXT: tuple[str, ...] = ("dnsmos_ovrl", "dnsmos_sig", "sim_ref", "sim_centroid",
                                 "suspicion", "promise")
#: Columns of the review table that are never features.
_NOT_FEATURES = frozenset({
    "stars", "ord", "combo", "seed", "units", "duration_s", "dur_per_unit", "listen_rank",
    "n_score_events", "sample_rate", "text_id", "clip_id", "gpt_id", "sovits_id", "task_id",
    "synth_s", "attempts",
})


@dataclass(frozen=True)
class Priors:
    """Prior spreads in stars, and the interval level.

    ``clip``, ``models``, ``param``, ``text``: how far one clip, model pair, parameter value
    or text may plausibly move a take's stars (random-effect standard deviations; for clips
    learnt from the scores, with a prior worth ``clip_weight`` clips). ``clip_beyond``
    replaces ``clip`` when the clips' takes were analysed: what a clip adds beyond what its
    metrics say.
    ``coef``: the effect of one standard deviation of a metric within a clip.
    ``metrics_mean``/``metrics_sd``: the effect of one standard deviation (across clips) of a
    clip's "higher is better" metrics together (DNSMOS, similarity, promise, less
    suspicion); ``context``: that of each one's clip mean on its own.
    ``noise``/``noise_weight``: the prior guess of a listener's scatter and how many scores
    it is worth. ``level``: the probability the predicted interval aims to cover;
    ``rank_level`` that of the comparison intervals; ``confident_p`` the chance that the
    leader is the best, or within ``indifference`` stars of it, that makes it confident.

    Example:
        >>> Priors().level
        0.8
    """

    intercept: float = 3.0
    intercept_sd: float = 1.5
    clip: float = 0.8
    clip_beyond: float = 0.3
    models: float = 0.5
    param: float = 0.4
    text: float = 0.4
    coef: float = 0.5
    noise: float = 1.0
    noise_weight: float = 4.0
    tail: float = 4.0
    suspicion: float = -2.0
    clip_weight: float = 1.0
    level: float = 0.8
    rank_level: float = 0.6
    confident_p: float = 0.95
    indifference: float = 0.4
    metrics_mean: float = 0.5
    metrics_sd: float = 0.7
    context: float = 0.2


@dataclass(frozen=True)
class Design:
    """The feature matrix of a take table: columns, their groups and prior spreads.

    Example:
        >>> d = build_design(pd.DataFrame({"clip_id": [1, 2]}))
        >>> d.X.shape, d.blocks
        ((2, 3), {'clip': {1: 1, 2: 2}})
    """

    X: np.ndarray
    names: list[str]
    source: list[str]  # which driver a column belongs to ("clip", "top_k", "dnsmos_ovrl" …)
    prior_mean: np.ndarray
    prior_sd: np.ndarray
    blocks: dict[str, dict[Any, int]]  # identity dimension → value → column
    keys: dict[str, np.ndarray]  # identity dimension → each take's value


def _numeric(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def feature_columns(takes: pd.DataFrame) -> list[str]:
    """The numeric metric columns of a take table that the model reads.

    Example:
        >>> feature_columns(pd.DataFrame({"dnsmos_ovrl": [3.1], "text": ["x"], "dur_z": [0.2]}))
        ['dur_z', 'dnsmos_ovrl']
    """
    names = [c for c in BASE_FEATURES if c in takes.columns]
    metrics = list(takes.attrs.get("metrics", [])) or [
        c for c in takes.columns if c not in _NOT_FEATURES and c not in names
        and takes[c].dtype.kind == "f"]
    for c in metrics:
        if c in takes.columns and c not in names and c not in _NOT_FEATURES:
            names.append(c)
    return names


def identity_columns(takes: pd.DataFrame) -> dict[str, pd.Series]:
    """The identities the model shrinks: clip, model pair, each varied parameter, text.

    Example:
        >>> list(identity_columns(pd.DataFrame({"clip_id": [1, 2], "top_k": [5, 15]})))
        ['clip', 'top_k']
    """
    out: dict[str, pd.Series] = {}
    if "clip_id" in takes:
        out["clip"] = takes["clip_id"].astype(object)
    if "gpt_id" in takes or "sovits_id" in takes:
        # Model labels where the table has them (``exp e8 s96``), else ids.
        g = takes[next((c for c in ("gpt", "gpt_id") if c in takes), "sovits_id")]
        s = takes[next((c for c in ("sovits", "sovits_id") if c in takes), "gpt_id")]
        pair = [f"{_key(a)} + {_key(b)}" for a, b in zip(g, s, strict=True)]
        if len(set(pair)) > 1:
            out["models"] = pd.Series(pair, index=takes.index, dtype=object)
    varied = takes.attrs.get("varied")
    if varied is None:
        varied = [c for c in ("top_k", "top_p", "temperature", "speed_factor", "sample_steps",
                              "repetition_penalty", "text_split_method", "aux")
                  if c in takes and takes[c].map(_key).nunique() > 1]
    for d in varied:
        if d in ("gpt", "sovits") or d not in takes:
            continue
        col = takes[d]
        out[d] = col.astype(object) if col.dtype.kind in "iub" else col.map(_key)
    if "text" in takes and takes["text"].nunique() > 1:
        out["text"] = takes["text"].astype(object)
    return out


def _key(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return ",".join(map(str, v))
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _clip_mean(v: np.ndarray, ok: np.ndarray, codes: np.ndarray) -> np.ndarray:
    sums = np.bincount(codes, weights=np.where(ok, v, 0.0))
    counts = np.bincount(codes, weights=ok.astype(float))
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


def build_design(takes: pd.DataFrame, priors: Priors = Priors()) -> Design:
    """The design matrix of a take table (every take, scored or not).

    Metrics are standardised over the table; a missing value becomes the mean plus a
    "missing" indicator, so a take not analysed yet is predicted from its identities alone.

    Example:
        >>> d = build_design(pd.DataFrame({"clip_id": [1, 2, 2], "dnsmos_ovrl": [3.0, 2.0, None]}))
        >>> d.names[:2], d.names[-3:]
        (['intercept', 'dnsmos_ovrl'], ['dnsmos_ovrl missing', 'clip=1', 'clip=2'])
    """
    n = len(takes)
    cols: list[np.ndarray] = [np.ones(n)]
    names, source = ["intercept"], ["intercept"]
    mean, sd = [priors.intercept], [priors.intercept_sd]
    clip = takes["clip_id"].to_numpy() if "clip_id" in takes else None
    clip_codes = (pd.factorize(pd.Series(clip, dtype=object), use_na_sentinel=False)[0]
                  if clip is not None else None)
    missing: dict[bytes, list[str]] = {}
    masks: dict[bytes, np.ndarray] = {}
    better: list[np.ndarray] = []  # clip means of the metrics, turned higher-is-better

    def add(v: np.ndarray, name: str, src: str) -> None:
        cols.append(v)
        names.append(name)
        source.append(src)
        mean.append(0.0)
        sd.append(priors.coef)

    for c in feature_columns(takes):
        x = _numeric(takes[c])
        ok = ~np.isnan(x)
        if ok.sum() < 2 or np.nanstd(x) == 0:
            continue
        z = np.where(ok, (x - np.nanmean(x)) / np.nanstd(x), 0.0)
        z = np.clip(z, -4.0, 4.0)  # one wild metric value must not swing a prediction
        v = np.where(ok, x - np.nanmean(x), 0.0) if c == "suspicion" else z
        if clip_codes is not None:
            # Within the clip: how a take differs from its clip's other takes; the clip's average
            # is a clip feature (below). One coefficient mixing both would, with few scores,
            # blur every comparison between clips with its uncertainty.
            v = np.where(ok, v - _clip_mean(v, ok, clip_codes)[clip_codes], 0.0)
        add(v, c, c)
        if c == "suspicion":
            # Suspicion is already a probability that the take is broken (rasv's
            # listen-first rules): it enters as it is, with the prior that a sure defect
            # costs about two stars.
            mean[-1], sd[-1] = priors.suspicion, abs(priors.suspicion) / 2
        if c in TWO_SIDED:
            a = np.abs(z)
            add(a - a[ok].mean(), f"|{c}|", c)
        if not ok.all():
            key = (~ok).tobytes()
            missing.setdefault(key, []).append(c)
            masks[key] = (~ok).astype(float)
        if clip_codes is not None and c in CLIP_CONTEXT:
            # The clip's typical take, standardised across clips: what a clip's takes measure
            # on average says more about the clip than any one take does.
            per_clip = _clip_mean(z, ok, clip_codes)
            if per_clip.size > 1 and per_clip.std() > 0:
                zc = (per_clip - per_clip.mean()) / per_clip.std()
                better.append(-zc if c == "suspicion" else zc)
                add(zc[clip_codes], f"clip mean {c}", c)
                sd[-1] = priors.context
    if better and clip_codes is not None:
        # The clip metrics together, each turned so that higher is better: one coefficient
        # that a few scores spread over clips pin down, where six separate ones would each
        # stay near their prior. Its prior leans positive (these metrics are built so that
        # higher means a better take) without fixing how much they matter.
        ix = np.mean(better, axis=0)
        if ix.std() > 0:
            add(((ix - ix.mean()) / ix.std())[clip_codes], "clip metrics", "clip metrics")
            mean[-1], sd[-1] = priors.metrics_mean, priors.metrics_sd
    # Metrics computed together go missing together: one indicator per pattern.
    for key, metrics in missing.items():
        name = f"{metrics[0]} missing" if len(metrics) == 1 else "not analysed"
        add(masks[key], name, "not analysed" if len(metrics) > 1 else metrics[0])
    beyond = "clip metrics" in names  # the metrics already say much of what a clip is worth
    spread = {"clip": priors.clip_beyond if beyond else priors.clip, "models": priors.models,
              "text": priors.text}
    blocks: dict[str, dict[Any, int]] = {}
    ids = {dim: values.to_numpy() for dim, values in identity_columns(takes).items()}
    for dim, keys in ids.items():
        levels = list(dict.fromkeys(keys))
        index = {v: len(cols) + k for k, v in enumerate(levels)}
        blocks[dim] = index
        codes = np.array([index[v] - len(cols) for v in keys], dtype=int)
        onehot = np.zeros((n, len(levels)))
        onehot[np.arange(n), codes] = 1.0
        cols.extend(onehot.T)
        names.extend(f"{dim}={v}" for v in levels)
        source.extend([dim] * len(levels))
        mean.extend([0.0] * len(levels))
        sd.extend([spread.get(dim, priors.param)] * len(levels))
    X = np.column_stack(cols) if n else np.zeros((0, len(cols)))
    return Design(X, names, source, np.asarray(mean), np.asarray(sd), blocks, ids)


@dataclass(frozen=True)
class StarModel:
    """A fitted star model over one take table: coefficients, their covariance, noise.

    Example:
        >>> m = fit_stars(pd.DataFrame({"id": ["a", "b"], "clip_id": [1, 2], "stars": [4, None]}))
        >>> m.scored.tolist(), m.design.names
        ([True, False], ['intercept', 'clip=1', 'clip=2'])
    """

    takes: pd.DataFrame
    design: Design
    beta: np.ndarray
    chol: np.ndarray  # lower Cholesky factor of the posterior precision
    noise_sd: float
    scored: np.ndarray  # boolean mask of takes with stars
    priors: Priors = field(default_factory=Priors)

    # -- linear algebra helpers ---------------------------------------------------------------

    def whiten(self, M: np.ndarray) -> np.ndarray:
        """``L⁻¹ Mᵀ`` for rows ``M``: then ``cov(M β) = Wᵀ W``.

        Example:
            >>> m = fit_stars(pd.DataFrame({"id": ["a"], "clip_id": [1], "stars": [4]}))
            >>> m.whiten(m.design.X).shape
            (2, 1)
        """
        return solve_triangular(self.chol, M.T, lower=True, check_finite=False)

    def z(self, level: float | None = None) -> float:
        """The two-sided normal quantile of an interval level (the takes' by default).

        Example:
            >>> m = fit_stars(pd.DataFrame({"id": ["a"], "clip_id": [1], "stars": [4]}))
            >>> round(m.z(0.95), 2)
            1.96
        """
        return float(ndtri(0.5 + (self.priors.level if level is None else level) / 2))

    def t(self) -> float:
        """The two-sided Student-t quantile of the takes' interval level.

        A listener's stars have heavier tails than a normal: the odd take is far worse than
        predicted.

        Example:
            >>> m = fit_stars(pd.DataFrame({"id": ["a"], "clip_id": [1], "stars": [4]}))
            >>> m.t() > m.z()
            True
        """
        return float(stdtrit(self.priors.tail, 0.5 + self.priors.level / 2))

    # -- outputs ------------------------------------------------------------------------------

    @one_blas_thread
    def predict(self) -> pd.DataFrame:
        """Predicted stars of every take with a low/high interval and what drives it.

        Columns: take_id, stars_pred, low, high, sd, scored, drivers.

        Example:
            >>> t = pd.DataFrame({"id": ["a", "b"], "clip_id": [1, 1], "stars": [4, None]})
            >>> fit_stars(t).predict().columns.tolist()
            ['take_id', 'stars_pred', 'low', 'high', 'sd', 'scored', 'drivers']
        """
        X = self.design.X
        mu = X @ self.beta
        W = self.whiten(X)
        sd = np.sqrt(np.einsum("ij,ij->j", W, W) + self.noise_sd ** 2)
        z = self.t()
        return pd.DataFrame({
            "take_id": self.takes["id"].to_numpy() if "id" in self.takes else np.arange(len(mu)),
            "stars_pred": np.clip(mu, 0, MAX_STARS).round(2),
            "low": np.clip(mu - z * sd, 0, MAX_STARS).round(2),
            "high": np.clip(mu + z * sd, 0, MAX_STARS).round(2),
            "sd": sd.round(3),
            "scored": self.scored,
            "drivers": self.drivers(),
        })

    def contributions(self) -> tuple[list[str], np.ndarray]:
        """Each take's prediction split by source (clip, a metric, a parameter …), in stars.

        Example:
            >>> m = fit_stars(pd.DataFrame({"id": ["a", "b"], "clip_id": [1, 2], "stars": [5, 1]}))
            >>> sources, c = m.contributions()
            >>> sources, bool(c[0, 0] > 0 > c[1, 0])
            (['clip'], True)
        """
        d = self.design
        sources = [s for s in dict.fromkeys(d.source) if s != "intercept"]
        idx = {s: k for k, s in enumerate(sources)}
        S = np.zeros((len(d.source), len(sources)))
        for j, s in enumerate(d.source):
            if s in idx:
                S[j, idx[s]] = 1.0
        return sources, (d.X * self.beta) @ S

    def drivers(self, top: int = 3) -> list[str]:
        """The largest contributions of each take, as text (``clip A +0.6, suspicion -1.2``).

        Example:
            >>> m = fit_stars(pd.DataFrame({"id": ["a", "b"], "clip_id": [1, 2], "stars": [5, 1]}))
            >>> m.drivers()
            ['clip 1 +0.6', 'clip 2 -0.6']
        """
        sources, C = self.contributions()
        n = len(self.takes)
        if not sources or not n:
            return [""] * n
        labels = self._driver_labels(sources)  # sources × takes
        order = np.argsort(-np.abs(C), axis=1, kind="stable")[:, :top]
        rows = np.arange(n)
        out = np.full(n, "", dtype=object)
        for k in range(order.shape[1]):
            src = order[:, k]
            val = C[rows, src]
            text = labels[src, rows] + np.array([f" {v:+.1f}" for v in val], dtype=object)
            keep = np.abs(val) >= 0.05
            sep = np.where(out == "", "", ", ")
            out = np.where(keep, out + sep + text, out)
        return out.tolist()

    def _driver_labels(self, sources: Sequence[str]) -> np.ndarray:
        ids = self.design.keys
        n = len(self.takes)
        out = np.empty((len(sources), n), dtype=object)
        for i, s in enumerate(sources):
            if s in ids:
                keys = ids[s]
                if s == "clip" and "clip_name" in self.takes:
                    keys = self.takes["clip_name"].astype(str).to_numpy()
                prefix = "clip " if s == "clip" else f"{s}="
                uniq, inv = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
                short = [u if len(u) <= 12 else u[:11] + "…" for u in uniq]  # cut, visibly
                out[i] = np.array([prefix + u for u in short], dtype=object)[inv]  # per take
            else:
                out[i] = s
        return out

    def group_quality(self, dim: str) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """Values of ``dim``, the expected stars of an average take with each, and ``M``.

        ``quality = M β``: each row is an average take (mean metrics, average over the other
        identities) with that value, and for clips the clip's own typical take.

        Example:
            >>> m = fit_stars(pd.DataFrame({"id": ["a", "b"], "clip_id": [1, 2], "stars": [5, 1]}))
            >>> values, q, M = m.group_quality("clip")
            >>> values, bool(q[0] > q[1]), M.shape
            ([1, 2], True, (2, 3))
        """
        d = self.design
        values = list(d.blocks.get(dim, {}))
        cols = np.array([d.blocks[dim][v] for v in values], dtype=int)
        if not values:
            M = np.zeros((0, len(self.beta)))
            return values, M @ self.beta, M
        # An average take (mean metrics, average over the other identities) with this value.
        M = np.tile(d.X.mean(axis=0), (len(values), 1))
        M[:, cols] = 0.0
        M[np.arange(len(values)), cols] = 1.0
        ctx = [j for j, name in enumerate(d.names)
               if name.startswith("clip mean ") or name == "clip metrics"]
        if dim == "clip" and ctx:
            # ... but with the clip's own typical take, not the average one.
            codes = np.searchsorted(cols, np.argmax(d.X[:, cols], axis=1) + cols[0])
            counts = np.bincount(codes, minlength=len(values))
            for j in ctx:
                M[:, j] = np.bincount(codes, d.X[:, j], len(values)) / np.maximum(counts, 1)
        return values, M @ self.beta, M


@one_blas_thread
def fit_stars(takes: pd.DataFrame, priors: Priors = Priors(), *, stars: str = "stars",
              design: Design | None = None) -> StarModel:
    """Fit the star model on a take table's scored takes (``stars`` not null).

    Example:
        >>> t = pd.DataFrame({"id": ["a", "b", "c"], "clip_id": [1, 2, 2], "stars": [5, 2, None]})
        >>> round(float(fit_stars(t).predict().stars_pred[2]), 1) < 3.0
        True
    """
    takes = takes.reset_index(drop=True)
    d = design if design is not None else build_design(takes, priors)
    y_all = _numeric(takes[stars]) if stars in takes else np.full(len(takes), np.nan)
    scored = ~np.isnan(y_all)
    X, y = d.X[scored], y_all[scored]
    prec0 = 1.0 / d.prior_sd ** 2
    clip_cols = np.array(sorted(d.blocks.get("clip", {}).values()), dtype=int)
    noise = priors.noise
    weight = np.ones(len(y))
    nu = priors.tail

    def solve(noise: float, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xw = X * weight[:, None]
        A = X.T @ Xw / noise ** 2 + np.diag(prec0)
        cf = cho_factor(A, lower=True, check_finite=False)
        b = cho_solve(cf, Xw.T @ y / noise ** 2 + prec0 * d.prior_mean, check_finite=False)
        return b, np.tril(cf[0])

    beta, chol = solve(noise, weight)
    # Student-t stars, fitted by reweighting: a take far off its prediction (a defect the
    # metrics missed, a slip of the finger) counts less, so one broken take does not sink its
    # clip and the noise level stays that of ordinary takes. Noise, weights and coefficients
    # depend on each other; a few alternations settle (same scores, same answer).
    for _ in range(6 if scored.any() else 0):
        resid = y - X @ beta
        # Leave-one-out residuals: a take that pulled the fit toward itself hides scatter.
        W = solve_triangular(chol, (X * weight[:, None]).T, lower=True, check_finite=False)
        h = np.einsum("ij,ij->j", W, W) / noise ** 2 / np.maximum(weight, 1e-9)
        r2 = resid ** 2 / np.maximum(1.0 - h, 0.05)
        weight = (nu + 1.0) / (nu + r2 / noise ** 2)
        new = math.sqrt((priors.noise_weight * priors.noise ** 2 + float(np.sum(weight * r2)))
                        / (priors.noise_weight + scored.sum()))
        done = abs(new - noise) < 1e-3
        noise = new
        if clip_cols.size and priors.clip_weight > 0:
            # How much clips differ, learnt from the scores (empirical Bayes): when the
            # metrics already explain the clips, their own effects shrink harder.
            E = np.zeros((len(beta), clip_cols.size))
            E[clip_cols, np.arange(clip_cols.size)] = 1.0
            v = np.einsum("ij,ij->j", *(2 * [solve_triangular(chol, E, lower=True,
                                                               check_finite=False)]))
            tau2 = ((priors.clip_weight * d.prior_sd[clip_cols[0]] ** 2
                     + float(np.sum(beta[clip_cols] ** 2 + v)))
                    / (priors.clip_weight + clip_cols.size))
            done = done and abs(1.0 / tau2 - prec0[clip_cols[0]]) * tau2 < 1e-3
            prec0[clip_cols] = 1.0 / tau2
        beta, chol = solve(noise, weight)
        if done:
            break
    return StarModel(takes, d, beta, chol, noise, scored, priors)


# -- decisions: which clip is best, which take to hear next ----------------------------------


@one_blas_thread
def rank_values(model: StarModel, dim: str = "clip") -> pd.DataFrame:
    """Values of one dimension ranked by predicted quality (expected stars of an average take).

    Columns: dimension, value, label, quality, low, high, p_best, n_heard, n_takes, rank.
    ``df.attrs["p_near"]``: the chance the leader is the best or within
    ``priors.indifference`` stars of it; ``df.attrs["confident"]``: see :func:`confident`.

    Example:
        >>> t = pd.DataFrame({"id": range(12), "clip_id": [1, 2] * 6, "stars": [5, 1] * 6})
        >>> r = rank_values(fit_stars(t))
        >>> r.value.tolist(), r.attrs["confident"]
        ([1, 2], True)
    """
    cols = ["dimension", "value", "label", "quality", "low", "high", "p_best", "n_heard",
            "n_takes", "rank"]
    values, q, M = model.group_quality(dim)
    if not values:
        out = pd.DataFrame({c: [] for c in cols})
        out.attrs["confident"] = False
        return out
    W = model.whiten(M)
    cov = W.T @ W
    # Comparison intervals: the spread of each value against the average value. What every
    # value shares (the overall level of the stars) cannot change which one wins, so it is
    # left out; two intervals that do not overlap then mean a real difference.
    W_rel = model.whiten(M - M.mean(axis=0)) if len(values) > 1 else W
    sd = np.sqrt(np.einsum("ij,ij->j", W_rel, W_rel))
    z = model.z(model.priors.rank_level)
    keys = model.design.keys[dim]
    heard = np.array([int(model.scored[keys == v].sum()) for v in values])
    total = np.array([int((keys == v).sum()) for v in values])
    out = pd.DataFrame({
        "dimension": dim, "value": pd.Series(values, dtype=object), "label": _labels(model, dim, values),
        "quality": q, "low": q - z * sd, "high": q + z * sd, "p_best": p_best(q, cov),
        "n_heard": heard, "n_takes": total,
    })
    # The chance the leader is the best or within the indifference zone of it, from the
    # joint posterior (every challenger and the correlations between their estimates).
    near = p_best(q, cov, margin=model.priors.indifference)
    out = out.sort_values(["quality", "p_best"], ascending=False, kind="stable")
    out = out.reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    for c in ("quality", "low", "high"):
        out[c] = out[c].clip(0, MAX_STARS).round(2)
    out["p_best"] = out["p_best"].round(3)
    out.attrs["p_near"] = float(near[int(np.argmax(q))])
    out.attrs["confident"] = confident(out, model.priors)
    return out


def confident(ranking: pd.DataFrame, priors: Priors = Priors()) -> bool:
    """The leader of a ranking is confidently the best: its interval clears the runner-up's,
    or its chance of being the best is at least ``priors.confident_p``, or its chance of
    being the best or within ``priors.indifference`` stars of it (``attrs["p_near"]``) is.

    The intervals compare each value with the runner-up separately; ``p_best`` and
    ``p_near`` weigh every challenger at once and the correlations between their estimates
    (shared coefficients), which the intervals leave out, so any one is enough. ``p_near``
    is the indifference-zone rule of ranking and selection: a leader that no clip beats by
    more than a listener would notice is as good an answer as the best, and proving which
    of two near-equal clips wins would cost many more takes.

    Example:
        >>> r = pd.DataFrame({"low": [3.0, 2.5], "high": [3.6, 3.2], "p_best": [0.97, 0.03]})
        >>> confident(r), confident(r.assign(p_best=[0.6, 0.4]))
        (True, False)
        >>> r = pd.DataFrame({"low": [3.0, 2.9], "high": [3.6, 3.5], "p_best": [0.6, 0.4]})
        >>> r.attrs["p_near"] = 0.97
        >>> confident(r)
        True
    """
    if len(ranking) == 1:
        return True
    if not len(ranking):
        return False
    return bool(ranking["low"].iloc[0] > ranking["high"].iloc[1]
                or ranking["p_best"].iloc[0] >= priors.confident_p
                or ranking.attrs.get("p_near", 0.0) >= priors.confident_p)


def _labels(model: StarModel, dim: str, values: Sequence[Any]) -> list[str]:
    if dim == "clip" and "clip_name" in model.takes:
        names = dict(zip(model.takes["clip_id"], model.takes["clip_name"].astype(str),
                         strict=True))
        return [names.get(v, str(v)) for v in values]
    return [str(v) for v in values]


@one_blas_thread
def ask_values(model: StarModel, dim: str = "clip") -> np.ndarray:
    """How much hearing each take is expected to tell about which ``dim`` value is best.

    Scored takes get NaN.

    For the leader L and every challenger c, the gap ``q_L − q_c`` has a posterior mean m_c
    and spread s_c; ``w_c = 2 Φ(−|m_c| / s_c)`` is the chance its sign is wrong. Hearing take
    t explains a share ``ρ²(t, c)`` of that gap's variance (its squared correlation with the
    stars the listener will give). A take's value is ``Σ_c w_c ρ²(t, c)``: high for takes of
    the leader and of challengers that could still overtake it, near zero for takes of clips
    that are clearly out, and for takes whose stars would mostly be noise (a take the
    metrics say is broken says little about its clip).

    Example:
        >>> t = pd.DataFrame({"id": list("abcd"), "clip_id": [1, 1, 2, 3],
        ...                   "stars": [5, 4, None, None]})
        >>> v = ask_values(fit_stars(t)); bool(np.isnan(v[0])), bool(v[2] > 0)
        (True, True)
    """
    out = np.full(len(model.takes), np.nan)
    todo = np.flatnonzero(~model.scored)
    values, q, M = model.group_quality(dim)
    if len(values) < 2 or not todo.size:
        out[todo] = 0.0
        return out
    lead = int(np.argmax(q))
    others = np.array([k for k in range(len(values)) if k != lead])
    D = M[lead] - M[others]  # gaps leader − challenger, as rows over β
    Wd = model.whiten(D)
    var_d = np.einsum("ij,ij->j", Wd, Wd)
    m = q[lead] - q[others]
    w = 2.0 * ndtr(-np.abs(m) / np.sqrt(var_d))
    for chunk in np.array_split(todo, max(1, len(todo) // 1024)):
        Wt = model.whiten(model.design.X[chunk])
        var_y = np.einsum("ij,ij->j", Wt, Wt) + model.noise_sd ** 2
        rho2 = (Wd.T @ Wt) ** 2 / (var_d[:, None] * var_y[None, :])
        out[chunk] = w @ rho2
    return out


def ask_order(model: StarModel, dim: str = "clip") -> pd.DataFrame:
    """Unscored takes, most informative about the best ``dim`` value first.

    Columns: take_id, ask_value, ask_rank. Ties keep the table's order.

    Example:
        >>> t = pd.DataFrame({"id": list("abcd"), "clip_id": [1, 1, 2, 3],
        ...                   "stars": [5, 4, None, None]})
        >>> ask_order(fit_stars(t)).take_id.tolist()
        ['c', 'd']
    """
    v = ask_values(model, dim)
    idx = np.flatnonzero(~model.scored)
    vals = v[idx]
    order = idx[np.lexsort((idx, -np.round(vals, 9)))]
    ids = model.takes["id"].to_numpy() if "id" in model.takes else np.arange(len(v))
    return pd.DataFrame({"take_id": ids[order], "ask_value": v[order],
                         "ask_rank": np.arange(1, len(order) + 1)})


def recommend_table(model: StarModel, dims: Sequence[str] | None = None) -> pd.DataFrame:
    """Clips, model pairs and parameter values ranked by predicted quality, one block each.

    Columns: those of :func:`rank_values` plus ``confident`` (per dimension). ``attrs``:
    ``confident`` and ``best`` (the leading clip), ``p_near`` (its chance of being the best
    or within the indifference zone of it), ``heard`` and ``takes`` (scored / all).

    Example:
        >>> t = pd.DataFrame({"id": range(12), "clip_id": [1, 2] * 6, "top_k": [5] * 6 + [15] * 6,
        ...                   "stars": [5, 1] * 6})
        >>> r = recommend_table(fit_stars(t))
        >>> r.dimension.unique().tolist(), r.attrs["best"], r.attrs["confident"]
        (['clip', 'top_k'], 1, True)
    """
    dims = [d for d in (dims or model.design.blocks) if d != "text" and d in model.design.blocks]
    parts = []
    for dim in dims:
        r = rank_values(model, dim)
        r["confident"] = r.attrs["confident"]
        parts.append(r)
    cols = ["dimension", "value", "label", "quality", "low", "high", "p_best", "n_heard",
            "n_takes", "rank", "confident"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in cols})
    clips = out[out["dimension"] == "clip"]
    out.attrs["confident"] = bool(len(clips) and clips["confident"].iloc[0])
    out.attrs["best"] = clips["value"].iloc[0] if len(clips) else None
    out.attrs["p_near"] = next((p.attrs["p_near"] for p in parts
                                if p["dimension"].eq("clip").any()), None)
    out.attrs["heard"] = int(model.scored.sum())
    out.attrs["takes"] = len(model.takes)
    return out


@one_blas_thread
def with_predictions(takes: pd.DataFrame, priors: Priors = Priors()) -> pd.DataFrame:
    """A review table with the model's columns added (what ``sort="ask"`` sorts by).

    ``stars_pred``, ``stars_low``, ``stars_high``, ``drivers`` for every finished take and
    ``ask_rank`` (1 = hear next) for the unscored ones.

    Example:
        >>> t = pd.DataFrame({"id": list("abcd"), "status": "done", "clip_id": [1, 1, 2, 3],
        ...                   "stars": [5, 4, None, None]})
        >>> with_predictions(t).ask_rank.tolist()
        [nan, nan, 1.0, 2.0]
    """
    attrs = dict(takes.attrs)
    out = takes.copy()
    for c in ("stars_pred", "stars_low", "stars_high", "ask_rank"):
        out[c] = np.nan
    out["drivers"] = ""
    done = (out["status"] == "done").to_numpy() if "status" in out else np.ones(len(out), bool)
    if done.any():
        sub = takes[done].reset_index(drop=True)
        sub.attrs = attrs
        model = fit_stars(sub, priors)
        pred = model.predict()
        idx = np.flatnonzero(done)
        out.loc[out.index[idx], "stars_pred"] = pred["stars_pred"].to_numpy()
        out.loc[out.index[idx], "stars_low"] = pred["low"].to_numpy()
        out.loc[out.index[idx], "stars_high"] = pred["high"].to_numpy()
        out.loc[out.index[idx], "drivers"] = pred["drivers"].to_numpy()
        ask = ask_order(model)
        rank = dict(zip(ask["take_id"], ask["ask_rank"], strict=True))
        out["ask_rank"] = [rank.get(t, np.nan) for t in out["id"]]
    out.attrs = attrs
    return out


__all__ = [
    "Design",
    "one_blas_thread",
    "Priors",
    "StarModel",
    "ask_order",
    "ask_values",
    "build_design",
    "confident",
    "feature_columns",
    "fit_stars",
    "identity_columns",
    "p_best",
    "rank_values",
    "recommend_table",
    "with_predictions",
]
