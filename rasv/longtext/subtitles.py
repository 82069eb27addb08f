"""SubRip (``.srt``) subtitles for long-text renders, timed from the real chunk durations.

Cue times are cumulative sums of the chunk durations, rounded to milliseconds only when
written, so cue ``n`` ends exactly where cue ``n + 1`` starts (less the gap) and the last cue
ends where the joined audio ends: rounding each chunk on its own would drift.

Example:
    >>> cues = cues_from_durations(["你好。", "再见。"], [1.5, 0.75])
    >>> print(to_srt(cues), end="")
    1
    00:00:00,000 --> 00:00:01,500
    你好。
    <BLANKLINE>
    2
    00:00:01,500 --> 00:00:02,250
    再见。
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rasv.errors import InvalidInput


@dataclass(frozen=True)
class Cue:
    """One subtitle: its text and its start and end in seconds.

    Example:
        >>> Cue(0.0, 1.25, "hi").end_ms
        1250
    """

    start_s: float
    end_s: float
    text: str

    @property
    def start_ms(self) -> int:
        return int(round(self.start_s * 1000))

    @property
    def end_ms(self) -> int:
        return int(round(self.end_s * 1000))


def timestamp(ms: int) -> str:
    """Format milliseconds as an SRT timestamp ``HH:MM:SS,mmm``.

    Example:
        >>> timestamp(3_723_004)
        '01:02:03,004'
    """
    if ms < 0:
        raise InvalidInput(f"a subtitle time cannot be negative ({ms} ms)")
    h, rest = divmod(int(ms), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{milli:03d}"


def cues_from_durations(texts: Sequence[str], durations_s: Sequence[float],
                        gap_s: float = 0.0) -> list[Cue]:
    """Cues for chunks played back to back with ``gap_s`` of silence between them.

    Example:
        >>> [(c.start_s, c.end_s) for c in cues_from_durations(["a", "b"], [1.0, 2.0], 0.5)]
        [(0.0, 1.0), (1.5, 3.5)]
    """
    if len(texts) != len(durations_s):
        raise InvalidInput(f"{len(texts)} texts but {len(durations_s)} durations")
    if gap_s < 0:
        raise InvalidInput(f"the gap between chunks cannot be negative ({gap_s})")
    cues: list[Cue] = []
    t = 0.0
    for i, (text, d) in enumerate(zip(texts, durations_s, strict=True)):
        if d < 0:
            raise InvalidInput(f"chunk {i} has a negative duration ({d})")
        cues.append(Cue(t, t + d, text))
        t += d + (gap_s if i < len(texts) - 1 else 0.0)
    return cues


def to_srt(cues: Sequence[Cue]) -> str:
    """Render cues as SRT text (1-based numbering, blank line between cues).

    Blank lines inside a cue's text would end the cue early in every player, so runs of
    line breaks are collapsed to one.

    Example:
        >>> to_srt([Cue(0, 1, "a\\n\\nb")]).splitlines()[2:4]
        ['a', 'b']
    """
    blocks = []
    for i, c in enumerate(cues, 1):
        body = re.sub(r"\s*[\r\n]+\s*", "\n", c.text.strip()) or " "
        blocks.append(f"{i}\n{timestamp(c.start_ms)} --> {timestamp(c.end_ms)}\n{body}\n")
    return "\n".join(blocks)


_TIME = re.compile(r"(\d+):(\d\d):(\d\d),(\d{3})\s*-->\s*(\d+):(\d\d):(\d\d),(\d{3})")


def parse_srt(text: str) -> list[Cue]:
    """Read SRT text back into cues (used by tests and to re-import subtitles).

    Example:
        >>> parse_srt("1\\n00:00:01,000 --> 00:00:02,500\\nhi\\n")[0].end_s
        2.5
    """
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = block.splitlines()
        for j, line in enumerate(lines):
            m = _TIME.match(line.strip())
            if m:
                g = [int(x) for x in m.groups()]
                start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
                end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
                cues.append(Cue(start, end, "\n".join(lines[j + 1:])))
                break
    return cues


__all__ = ["Cue", "cues_from_durations", "parse_srt", "timestamp", "to_srt"]
