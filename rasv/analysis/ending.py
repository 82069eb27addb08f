"""Cut-off endings: the take stops while the voice is still sounding.

A finished utterance decays into silence; a cut-off one ends mid-sound. The measurement is
the level of the last 30 ms relative to the take's typical speech level
(``end_level_db``): a natural ending sits 20 dB or more under speech, a cut-off one within
a few dB of it. An ending that sits on a loud noise floor (hum, hiss) is not speech, so the
value is capped at 25 dB under the ending's distance to the take's noise floor (its
10th-percentile frame level). ``tail_s`` in the detail is the silence after the last speech
segment.

Example:
    >>> import numpy as np
    >>> from rasv.testing import make_voice
    >>> x = np.concatenate([make_voice(1.0, 16000), np.zeros(3200, dtype="float32")])
    >>> ending(x, 16000, vad="energy")["end_level_db"] < -30
    True
    >>> tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)
    >>> cut = np.concatenate([np.zeros(8000), tone]).astype("float32")  # stops mid-tone
    >>> ending(cut, 16000, vad="energy")["end_level_db"] > -3
    True
"""

from __future__ import annotations

import numpy as np

from rasv.analysis.measure import Measurement, SpeechDetector, as_signal
from rasv.analysis.take_signal import RATE, TakeSignal

#: Length of the ending that is measured, in seconds.
END_S = 0.03
#: How far over the take's noise floor a cut-off ending must be to count as speech.
FLOOR_MARGIN_DB = 25.0


class Ending(SpeechDetector):
    """Level of the final 30 ms relative to speech (``end_level_db``)."""

    name = "ending"
    version = "1"
    metrics = ("end_level_db",)
    method = "dsp"

    def measure(self, sig: TakeSignal) -> list[Measurement]:
        sig = sig.for_vad(self.vad)
        if not sig.segments:
            return [Measurement("end_level_db", None)]
        y = sig.samples[: int(round(sig.duration_s * RATE))]
        last = y[-max(int(END_S * RATE), 1):].astype(np.float64)
        level = 10 * np.log10(np.mean(last * last) + 1e-12) + 3.0
        floor = float(np.percentile(sig.level_db, 10))
        tail = max(sig.duration_s - sig.segments[-1][1], 0.0)
        # An ending that merely sits on a loud noise floor (hum, hiss) is not a cut-off:
        # report at most FLOOR_MARGIN_DB under the distance to the floor.
        value = min(level - sig.speech_level_db, level - floor - FLOOR_MARGIN_DB)
        return [Measurement("end_level_db", round(value, 2),
                            {"tail_s": round(tail, 3), "over_floor_db": round(level - floor, 2)})]


def ending(samples, sample_rate: int | None = None, *, vad: str = "auto") -> dict[str, float | None]:  # type: ignore[no-untyped-def]
    """Ending metrics of an array (or a :class:`TakeSignal`) as a dict.

    The examples use tones, which only the energy VAD takes for speech.

    Example:
        >>> import numpy as np
        >>> ending(np.zeros(1600, dtype="float32"), 16000)["end_level_db"] is None
        True
    """
    sig = as_signal(samples, sample_rate, vad=vad)
    return {m.name: m.value for m in Ending(vad=sig.vad).measure(sig)}


__all__ = ["Ending", "ending"]
