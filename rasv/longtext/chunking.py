"""Cut a long text into the chunks that a long-text test renders one request at a time.

Two families of rules:

* ``"ras"``: RefAudioSelectorV2's reader rule. Split at newlines, then after any of
  ``,.;?!、，。？！；：…"``; merge the pieces greedily until a chunk has at least 50
  characters; glue a last chunk of 5 characters or fewer to the one before it. A piece that
  is only punctuation (a closing quote) joins the piece before it.
* ``"cut0"`` … ``"cut5"``: GPT-SoVITS's own ``text_split_method`` rules
  (``research/gsv-bridge.md`` §1.4), so a long text can be rendered the way ``api_v2``
  would segment it: newlines always split, fragments shorter than 5 characters are merged
  into a neighbour, and punctuation-only fragments are dropped.

Every chunk is a stripped, contiguous substring of the input, so chunks keep the user's
spacing, quotes and line breaks exactly.

Example:
    >>> chunk("第一句，很短。第二句也很短！", method="ras")
    ['第一句，很短。第二句也很短！']
    >>> chunk("One. Two. Three.", method="cut4")
    ['One. Two.', 'Three.']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from rasv.errors import InvalidInput

#: Characters after which RefAudioSelectorV2's reader splits (its default delimiter).
RAS_PUNCT = ',.;?!、，。？！；：…"'
#: Sentence marks of GPT-SoVITS's cut1/cut2 sentence splitter.
_SENTENCE_PUNCT = "，。？！,.?!~:：—…"
#: Marks after which GPT-SoVITS's cut5 splits.
_CUT5_PUNCT = ",.;?!、，。？！：…"

#: Every method :func:`chunk` accepts.
METHODS: tuple[str, ...] = ("ras", "cut0", "cut1", "cut2", "cut3", "cut4", "cut5")

Span = tuple[int, int]


def is_speakable(text: str) -> bool:
    """True when the text holds a letter, digit or CJK character (not only punctuation).

    Example:
        >>> is_speakable("……！"), is_speakable("好。"), is_speakable("42")
        (False, True, True)
    """
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def chunk(text: str, method: str = "ras", *, min_chars: int = 50, tail_max: int = 5) -> list[str]:
    """Cut ``text`` into chunks by ``method`` (see the module docstring).

    Args:
        text: the long text.
        method: ``"ras"`` or one of GPT-SoVITS's ``"cut0"`` … ``"cut5"``.
        min_chars: for ``"ras"`` (and ``"cut2"``), the length a chunk grows to.
        tail_max: for ``"ras"``, a last chunk this short or shorter is glued to the previous.

    Raises:
        InvalidInput: unknown method, or a text with nothing to speak.

    Example:
        >>> chunk("a, b, c", method="cut5")
        ['a, b, c']
        >>> len(chunk("甲乙丙丁戊己庚，" * 10, method="ras"))
        2
    """
    if method not in METHODS:
        raise InvalidInput(f"unknown chunking method {method!r}; use one of {', '.join(METHODS)}")
    if not is_speakable(text or ""):
        raise InvalidInput("the text has nothing to speak (it is empty or only punctuation)")
    spans = _ras(text, min_chars, tail_max) if method == "ras" else _gsv(text, method, min_chars)
    return [text[a:b].strip() for a, b in spans]


# -- RefAudioSelectorV2 ---------------------------------------------------------------------


def _split_after(text: str, start: int, end: int, marks: str,
                 keep: Callable[[str, int], bool] | None = None) -> list[Span]:
    """Spans of ``text[start:end]`` cut right after every mark (``keep`` may veto a cut)."""
    out: list[Span] = []
    a = start
    for i in range(start, end):
        if text[i] in marks and (keep is None or not keep(text, i)):
            out.append((a, i + 1))
            a = i + 1
    if a < end:
        out.append((a, end))
    return out


def _lines(text: str) -> list[Span]:
    """Spans of the lines of ``text`` (any newline convention), line breaks excluded."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\r\n]+", text)]


def _stripped_len(text: str, span: Span) -> int:
    return len(text[span[0]:span[1]].strip())


def _ras(text: str, min_chars: int, tail_max: int) -> list[Span]:
    pieces: list[Span] = []
    for a, b in _lines(text):
        for s in _split_after(text, a, b, RAS_PUNCT):
            if not _stripped_len(text, s):
                continue
            # A lone mark (a closing quote, an ellipsis) belongs to the piece before it, so
            # no chunk is punctuation alone: GPT-SoVITS refuses those.
            if pieces and (not is_speakable(text[s[0]:s[1]])
                           or not is_speakable(text[pieces[-1][0]:pieces[-1][1]])):
                pieces[-1] = (pieces[-1][0], s[1])
            else:
                pieces.append(s)
    chunks: list[Span] = []
    cur: Span | None = None
    for p in pieces:
        cur = p if cur is None else (cur[0], p[1])
        if _stripped_len(text, cur) >= min_chars:
            chunks.append(cur)
            cur = None
    if cur is not None:
        chunks.append(cur)
    if len(chunks) > 1 and _stripped_len(text, chunks[-1]) <= tail_max:
        last = chunks.pop()
        chunks[-1] = (chunks[-1][0], last[1])
    return chunks


# -- GPT-SoVITS cut0 … cut5 -----------------------------------------------------------------


def _digit_dot(text: str, i: int) -> bool:
    """A '.' between two digits (a decimal point), which cut4/cut5 never split at."""
    return (text[i] == "." and 0 < i < len(text) - 1
            and text[i - 1].isdigit() and text[i + 1].isdigit())


def _group(spans: list[Span], size: int) -> list[Span]:
    return [(spans[i][0], spans[min(i + size, len(spans)) - 1][1])
            for i in range(0, len(spans), size)]


def _cut2(text: str, sentences: list[Span], limit: int) -> list[Span]:
    out: list[Span] = []
    cur: Span | None = None
    for s in sentences:
        cur = s if cur is None else (cur[0], s[1])
        if cur[1] - cur[0] > limit:
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    # GPT-SoVITS merges a short last group into the one before it.
    if len(out) > 1 and out[-1][1] - out[-1][0] < limit:
        last = out.pop()
        out[-1] = (out[-1][0], last[1])
    return out


def _gsv_line(text: str, a: int, b: int, method: str, limit: int) -> list[Span]:
    if method == "cut0":
        return [(a, b)]
    if method in ("cut1", "cut2"):
        sentences = _split_after(text, a, b, _SENTENCE_PUNCT)
        return _group(sentences, 4) if method == "cut1" else _cut2(text, sentences, limit)
    if method == "cut3":
        return _split_after(text, a, b, "。")
    if method == "cut4":
        return _split_after(text, a, b, ".", keep=_digit_dot)
    return _split_after(text, a, b, _CUT5_PUNCT, keep=_digit_dot)


def _gsv(text: str, method: str, limit: int) -> list[Span]:
    frags: list[Span] = []
    for a, b in _lines(text):
        frags += _gsv_line(text, a, b, method, limit)
    # Punctuation-only fragments carry nothing to speak: GPT-SoVITS drops them; keeping
    # their characters on the fragment before keeps the chunks contiguous.
    merged: list[Span] = []
    for f in frags:
        if not is_speakable(text[f[0]:f[1]]) and merged:
            merged[-1] = (merged[-1][0], f[1])
        elif is_speakable(text[f[0]:f[1]]):
            merged.append(f)
    # Fragments shorter than 5 characters are merged forward; a short tail goes backward.
    out: list[Span] = []
    cur: Span | None = None
    for f in merged:
        cur = f if cur is None else (cur[0], f[1])
        if _stripped_len(text, cur) >= 5:
            out.append(cur)
            cur = None
    if cur is not None:
        if out:
            out[-1] = (out[-1][0], cur[1])
        else:
            out.append(cur)
    return out


__all__ = ["METHODS", "RAS_PUNCT", "chunk", "is_speakable"]
