"""Long-text tests (``ws.longtext``): render a long text chunk by chunk with one configuration.

Modules, leaves first: ``chunking`` (cutting a text the way GPT-SoVITS users do) and
``subtitles`` (SRT from real chunk durations) ← ``namespace`` (:class:`LongText`).

Example:
    >>> from rasv.longtext import chunk
    >>> chunk("第一句。第二句。", "cut5")
    ['第一句。第二句。']
"""

from __future__ import annotations

from rasv.longtext.chunking import METHODS, chunk
from rasv.longtext.namespace import LongText, LongTextChunk, LongTextRun

__all__ = [
    "LongText",
    "LongTextChunk",
    "LongTextRun",
    "METHODS",
    "chunk",
]
