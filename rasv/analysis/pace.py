"""Pace: seconds of speech per spoken unit, and how far a take strays from its text group.

A take that says its text in much more time than its siblings (same text, other clips or
settings) probably repeats or stalls (复读); in much less time, it probably swallows words
(吞字). Units are counted by :func:`rasv.langs.count_units` (one per CJK character or kana,
one per Latin word), so a text's pace is comparable across takes of that text.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> pace(make_voice(2.0, 16000), 16000, text="今天天气很好", vad="energy")["sec_per_unit"] > 0.2
    True
    >>> robust_z([1.0, 1.1, 0.9, 1.0, 2.0]).round(1).tolist()
    [0.0, 0.7, -0.7, 0.0, 6.7]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rasv.analysis.measure import Measurement, SpeechDetector, as_signal
from rasv.analysis.take_signal import TakeSignal
from rasv.langs import count_units

#: The spread of a group is never taken as less than this share of its median, so takes
#: that are nearly identical (a deterministic engine) do not give huge z-scores.
MIN_RELATIVE_SPREAD = 0.05


def robust_z(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Median/MAD z-scores (NaN in, NaN out; fewer than three finite values give NaN).

    Example:
        >>> robust_z([1.0, 2.0]).tolist()
        [nan, nan]
    """
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    out = np.full(v.shape, np.nan)
    if ok.sum() < 3:
        return out
    med = float(np.median(v[ok]))
    mad = 1.4826 * float(np.median(np.abs(v[ok] - med)))
    scale = max(mad, MIN_RELATIVE_SPREAD * abs(med), 1e-9)
    out[ok] = (v[ok] - med) / scale
    return out


def group_z(df: pd.DataFrame, value: str, by: str | list[str]) -> pd.Series:
    """Robust z-score of ``df[value]`` within groups of ``by`` (e.g. takes of one text).

    Example:
        >>> import pandas as pd
        >>> d = pd.DataFrame({"text": ["a"] * 4 + ["b"] * 3, "v": [1, 1, 1.1, 3, 2, 2, 2]})
        >>> group_z(d, "v", "text").round(1).tolist()
        [-0.7, -0.7, 0.7, 26.3, 0.0, 0.0, 0.0]
    """
    if df.empty:
        return pd.Series([], dtype=float, index=df.index)
    return df.groupby(by, sort=False, dropna=False)[value].transform(
        lambda s: pd.Series(robust_z(s.to_numpy(dtype=float)), index=s.index)
    )


class Pace(SpeechDetector):
    """``sec_per_unit``: seconds of speech per spoken unit of the take's text (None without
    text). The detail holds the unit count and the speech seconds."""

    name = "pace"
    version = "1"
    metrics = ("sec_per_unit",)

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        sig = sig.for_vad(self.vad)
        units = count_units(sig.text or "")
        if units == 0 or not sig.segments:
            return [Measurement("sec_per_unit", None, {"units": units})]
        speech = sig.speech_s
        return [Measurement("sec_per_unit", round(speech / units, 4),
                            {"units": units, "speech_s": round(speech, 3)})]


def pace(samples, sample_rate: int | None = None, *, text: str, vad: str = "auto") -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Pace of an array (or a :class:`TakeSignal`) saying ``text``, as a dict.

    Example:
        >>> import numpy as np
        >>> pace(np.zeros(1600, dtype="float32"), 16000, text="hi")["sec_per_unit"] is None
        True
    """
    sig = as_signal(samples, sample_rate, text=text, vad=vad)
    if sig.text != text:
        sig.text = text
    return {m.name: m.value for m in Pace(vad=sig.vad).measure(sig)}


__all__ = ["MIN_RELATIVE_SPREAD", "Pace", "group_z", "pace", "robust_z"]
