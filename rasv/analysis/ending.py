"""Cut-off endings: the take stops while the voice is still sounding.

A finished utterance decays into silence; a cut-off one ends mid-sound. The measurement is
the level of the last 30 ms relative to the take's typical speech level
(``end_level_db``): a natural ending sits 20 dB or more under speech, a cut-off one within
a few dB of it. ``tail_s`` in the detail is the silence after the last speech segment.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> x = np.concatenate([make_voice(1.0, 16000), np.zeros(3200, dtype="float32")])
    >>> ending(x, 16000)["end_level_db"] < -30
    True
    >>> tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)
    >>> ending(tone.astype("float32"), 16000)["end_level_db"] > -3
    True
"""

from __future__ import annotations

import numpy as np

from rasv.analysis.measure import Measurement, as_signal
from rasv.analysis.take_signal import RATE, TakeSignal

#: Length of the ending that is measured, in seconds.
END_S = 0.03


class Ending:
    """Level of the final 30 ms relative to speech (``end_level_db``)."""

    name = "ending"
    backend = "dsp"
    version = "1"
    metrics = ("end_level_db",)

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        if not sig.segments:
            return [Measurement("end_level_db", None)]
        y = sig.samples[: int(round(sig.duration_s * RATE))]
        last = y[-max(int(END_S * RATE), 1):].astype(np.float64)
        level = 10 * np.log10(np.mean(last * last) + 1e-12) + 3.0
        tail = max(sig.duration_s - sig.segments[-1][1], 0.0)
        return [Measurement("end_level_db", round(level - sig.speech_level_db, 2),
                            {"tail_s": round(tail, 3)})]


def ending(samples, sample_rate: int | None = None) -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Ending metrics of an array (or a :class:`TakeSignal`) as a dict.

    Example:
        >>> import numpy as np
        >>> ending(np.zeros(1600, dtype="float32"), 16000)["end_level_db"] is None
        True
    """
    return {m.name: m.value for m in Ending().measure(as_signal(samples, sample_rate))}


__all__ = ["Ending", "ending"]
