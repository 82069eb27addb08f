"""Automatic take analysis: per-take detectors, a suspicion score and a listen-first order.

``ws.analysis`` (an :class:`Analysis`) runs detectors over a task's finished takes, caches the
values in the ``metrics`` table with each detector's backend and version, and orders the
takes so the ones most likely to be bad come first, with the reasons in words
(:meth:`Analysis.suspicion`). The detectors also work on plain arrays:

- :mod:`~rasv.analysis.silence`: lead-in, tail, inner pauses;
- :mod:`~rasv.analysis.clipping`: flat tops;
- :mod:`~rasv.analysis.noise`: mains hum, broadband bursts, noise between words;
- :mod:`~rasv.analysis.ending`: cut-off endings;
- :mod:`~rasv.analysis.repetition`: self-similar stretches (复读);
- :mod:`~rasv.analysis.pace`: seconds per character and its z-score among siblings;
- :mod:`~rasv.analysis.dnsmos`: DNSMOS SIG/BAK/OVRL/P.808 from speechmos's ONNX files;
- :mod:`~rasv.analysis.asr` and :mod:`~rasv.analysis.errorrate`: CER/WER split into
  substitutions, deletions and insertions, with a recogniser already on disk.

Example:
    >>> import numpy as np
    >>> from rasv.analysis import measure
    >>> from rasv.testing import make_voice
    >>> m = measure(make_voice(2.0, 16000), 16000, metrics=["clipping", "silence"])
    >>> m["clipped_fraction"], m["long_pauses"]
    (0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rasv.analysis.measure import Detector, Measurement
from rasv.analysis.namespace import (
    DEFAULT_DETECTORS,
    Analysis,
    AnalysisReport,
    AnalysisRun,
)
from rasv.analysis.suspicion import TAGS, Flag, Rules, Tag, score_takes
from rasv.analysis.take_signal import TakeSignal


def measure(samples: np.ndarray, sample_rate: int, *, text: str = "", lang: str = "",
            metrics: Sequence[str] | None = None, asr: Any = None,
            vad: str = "auto") -> dict[str, float | None]:
    """Run detectors on one array, without a workspace; return metric → value.

    Example:
        >>> import numpy as np
        >>> measure(np.zeros(8000, dtype="float32"), 8000, metrics=["ending"])
        {'end_level_db': None}
    """
    return Analysis(None).measure(samples, sample_rate, text=text, lang=lang, metrics=metrics,
                                  asr=asr, vad=vad)


__all__ = [
    "DEFAULT_DETECTORS",
    "TAGS",
    "Analysis",
    "AnalysisReport",
    "AnalysisRun",
    "Detector",
    "Flag",
    "Measurement",
    "Rules",
    "Tag",
    "TakeSignal",
    "measure",
    "score_takes",
]
