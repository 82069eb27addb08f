"""Leading, trailing and inner silence of a take, from its speech segments.

A long lead-in or tail wastes the listener's time and, in a product, the user's; a long
inner pause (a stall between words) is one of the failures people tag by ear.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> v = make_voice(1.0, 16000)
    >>> x = np.concatenate([np.zeros(4800), v, np.zeros(24000), v, np.zeros(1600)])
    >>> m = {r.name: r.value for r in Silence(vad="energy").measure(as_signal(x, 16000))}
    >>> round(m["lead_silence_s"], 1), round(m["max_pause_s"], 1), m["long_pauses"]
    (0.3, 1.5, 1.0)
"""

from __future__ import annotations

from rasv.analysis.measure import Measurement, SpeechDetector, as_signal
from rasv.analysis.take_signal import TakeSignal

#: An inner pause at least this long counts as a long pause.
LONG_PAUSE_S = 0.8


class Silence(SpeechDetector):
    """Lead-in, tail and pauses between speech segments.

    Metrics: ``speech_s``, ``lead_silence_s``, ``trail_silence_s``, ``max_pause_s``,
    ``long_pauses`` (count of inner pauses of at least ``long_pause_s``). The detail of
    ``max_pause_s`` lists every inner pause as ``[start_s, end_s]``.
    """

    name = "silence"
    version = "1"
    metrics = ("speech_s", "lead_silence_s", "trail_silence_s", "max_pause_s", "long_pauses")

    def __init__(self, long_pause_s: float = LONG_PAUSE_S, *, vad: str = "auto") -> None:
        self.long_pause_s = long_pause_s
        super().__init__(vad=vad)

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        sig = sig.for_vad(self.vad)
        segs = sig.segments
        dur = sig.duration_s
        if not segs:
            return [Measurement("speech_s", 0.0), Measurement("lead_silence_s", dur),
                    Measurement("trail_silence_s", dur), Measurement("max_pause_s", None),
                    Measurement("long_pauses", None)]
        pauses = [(round(a[1], 3), round(b[0], 3)) for a, b in zip(segs, segs[1:], strict=False)]
        lengths = [b - a for a, b in pauses]
        longs = [p for p, n in zip(pauses, lengths, strict=True) if n >= self.long_pause_s]
        return [
            Measurement("speech_s", round(sig.speech_s, 3)),
            Measurement("lead_silence_s", round(segs[0][0], 3)),
            Measurement("trail_silence_s", round(max(dur - segs[-1][1], 0.0), 3)),
            Measurement("max_pause_s", round(max(lengths), 3) if lengths else 0.0,
                        {"pauses": [list(p) for p in pauses]}),
            Measurement("long_pauses", float(len(longs)), {"pauses": [list(p) for p in longs]}),
        ]


def silence(samples, sample_rate: int | None = None, *, vad: str = "auto", **options) -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Silence metrics of an array (or a :class:`TakeSignal`) as a dict.

    Example:
        >>> import numpy as np
        >>> silence(np.zeros(16000, dtype="float32"), 16000)["speech_s"]
        0.0
    """
    sig = as_signal(samples, sample_rate, vad=vad)
    return {m.name: m.value for m in Silence(vad=sig.vad, **options).measure(sig)}


__all__ = ["LONG_PAUSE_S", "Silence", "silence"]
