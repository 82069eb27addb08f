"""The star model's ``drivers`` text read back as parts, so that a panel can say them in its
own language while the ``drivers`` column stays one plain string.

``StarModel.drivers`` writes each take's largest contributions as ``label ±x.y`` joined by
``", "``; a label is ``clip NAME`` (a clip, its name cut at 12 characters), ``DIM=VALUE`` (a
model pair, a varied parameter, a text), or a source's name (a metric, ``clip metrics``,
``not analysed``).

Example:
    >>> [d.kind for d in parse_drivers("clip 温柔.wav +0.6, top_k=5 -0.2, dur_z -0.1")]
    ['clip', 'identity', 'metric']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: One ``label ±x.y`` part, up to the next part's ", " or the end.
_PART = re.compile(r"(.+?) ([+-]\d+\.\d)(?:, |$)")
#: Sources that are neither an identity nor one metric.
_SUMMARIES = {"clip metrics": "clip_metrics", "not analysed": "not_analysed"}


@dataclass(frozen=True)
class Driver:
    """One part of a prediction: its kind (``clip``, ``identity``, ``metric``,
    ``clip_metrics``, ``not_analysed``), the name (a metric, an identity's dimension or the
    clip's name), the identity's value (else ""), and the stars it adds."""

    kind: str
    name: str
    value: str
    stars: float


def parse_drivers(text: str) -> list[Driver]:
    """The parts of one ``drivers`` string, largest first as written.

    Example:
        >>> parse_drivers("models=e8 + s96 +0.3, not analysed -0.2")
        [Driver(kind='identity', name='models', value='e8 + s96', stars=0.3), \
Driver(kind='not_analysed', name='not analysed', value='', stars=-0.2)]
        >>> parse_drivers("")
        []
    """
    out = []
    for label, stars in _PART.findall(text or ""):
        if label in _SUMMARIES:
            out.append(Driver(_SUMMARIES[label], label, "", float(stars)))
        elif label.startswith("clip "):
            out.append(Driver("clip", label[5:], "", float(stars)))
        elif "=" in label:
            dim, value = label.split("=", 1)
            out.append(Driver("identity", dim, value, float(stars)))
        else:
            out.append(Driver("metric", label, "", float(stars)))
    return out


__all__ = ["Driver", "parse_drivers"]
