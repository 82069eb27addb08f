"""Character and word error rates between the text a take should say and what ASR heard.

Normalisation follows seed-tts-eval's ``run_wer.py`` (the standard objective TTS
benchmark): punctuation is removed (apostrophes kept), Chinese is converted to simplified
characters and scored per character (CER), English is lower-cased and scored per word (WER).
rasv extends the same rules to Japanese, Cantonese and Korean (per character) and applies
Unicode NFKC first, so full-width Latin letters and digits match their ASCII forms.

The alignment is a plain Levenshtein alignment with a backtrace, split into substitutions,
deletions and insertions: in TTS, insertions mostly mean repetition (复读) and deletions
swallowed words (吞字).

Example:
    >>> e = error_rate("今天天气很好。", "今天天天气很好", "zh")
    >>> e.unit, e.insertions, e.deletions, round(e.rate, 3)
    ('char', 1, 0, 0.167)
    >>> error_rate("Hello, world!", "hello word", "en").substitutions
    1
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: Languages scored per character; every other language is scored per word.
CHAR_LANGS = frozenset({"zh", "ja", "yue", "ko"})


def _to_simplified_default() -> Callable[[str], str] | None:
    try:
        import zhconv  # optional, in the [asr] extra
    except ImportError:
        return None
    return lambda s: zhconv.convert(s, "zh-cn")


def _base(lang: str) -> str:
    lang = (lang or "").lower()
    if lang.startswith("all_"):
        lang = lang[4:]
    if lang == "auto_yue":
        return "yue"
    return lang


def strip_punctuation(text: str) -> str:
    """Remove punctuation and symbols (Unicode P* and S*), keeping apostrophes.

    Example:
        >>> strip_punctuation("“你好”，world! It's")
        "你好world It's"
    """
    return "".join(
        ch for ch in text
        if ch == "'" or not unicodedata.category(ch).startswith(("P", "S"))
    )


def normalize(text: str, lang: str, *,
              to_simplified: Callable[[str], str] | None = None) -> list[str]:
    """Normalise ``text`` and split it into scoring units (characters or words).

    Args:
        text: a reference or an ASR hypothesis.
        lang: its language code (``zh``, ``en``, ``ja``, ``all_zh`` …).
        to_simplified: traditional→simplified converter for Chinese; by default ``zhconv``
            when it is installed (``pip install rasv[asr]``), else none.

    Example:
        >>> normalize("Hello,  World!", "en")
        ['hello', 'world']
        >>> normalize("你好，ＡＢ 世界", "zh")
        ['你', '好', 'a', 'b', '世', '界']
        >>> normalize("時間", "zh", to_simplified=lambda s: s.replace("時", "时").replace("間", "间"))
        ['时', '间']
    """
    base = _base(lang)
    text = unicodedata.normalize("NFKC", text)
    text = strip_punctuation(text)
    if base in ("zh", "yue"):
        conv = to_simplified if to_simplified is not None else _to_simplified_default()
        if conv is not None:
            text = conv(text)
    text = " ".join(text.split()).lower()
    if base in CHAR_LANGS:
        return [ch for ch in text if not ch.isspace()]
    return text.split()


@dataclass(frozen=True)
class ErrorRate:
    """An aligned comparison of a reference with a hypothesis.

    ``rate`` = (substitutions + deletions + insertions) / reference length; the ``*_rate``
    properties divide each count by the reference length, as seed-tts-eval reports them.
    ``ops`` lists the edits as ``(kind, reference_unit, hypothesis_unit)`` with kind
    ``sub``, ``del`` or ``ins``.

    Example:
        >>> e = error_rate("a b c d", "a x c", "en")
        >>> e.substitutions, e.deletions, e.ops
        (1, 1, [('sub', 'b', 'x'), ('del', 'd', '')])
    """

    unit: str
    ref_len: int
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ops: list[tuple[str, str, str]] = field(default_factory=list)
    reference: str = ""
    hypothesis: str = ""

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.ref_len

    @property
    def substitution_rate(self) -> float:
        return self.substitutions / self.ref_len if self.ref_len else 0.0

    @property
    def deletion_rate(self) -> float:
        return self.deletions / self.ref_len if self.ref_len else 0.0

    @property
    def insertion_rate(self) -> float:
        return self.insertions / self.ref_len if self.ref_len else float(self.insertions > 0)


def align(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str, str, str]]:
    """Minimum-edit alignment of two unit sequences, every step listed.

    Steps are ``("ok", r, h)``, ``("sub", r, h)``, ``("del", r, "")`` or ``("ins", "", h)``.
    Ties prefer a match or substitution, then a deletion, so the result is deterministic.

    Example:
        >>> align(list("abc"), list("axbc"))
        [('ok', 'a', 'a'), ('ins', '', 'x'), ('ok', 'b', 'b'), ('ok', 'c', 'c')]
    """
    n, m = len(ref), len(hyp)
    # dist[i][j] = edits to turn ref[:i] into hyp[:j]
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        ri = ref[i - 1]
        row, prev = dist[i], dist[i - 1]
        for j in range(1, m + 1):
            cost = 0 if ri == hyp[j - 1] else 1
            row[j] = min(prev[j - 1] + cost, prev[j] + 1, row[j - 1] + 1)
    steps: list[tuple[str, str, str]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            cost = 0 if ref[i - 1] == hyp[j - 1] else 1
            if dist[i][j] == dist[i - 1][j - 1] + cost:
                steps.append(("ok" if cost == 0 else "sub", ref[i - 1], hyp[j - 1]))
                i, j = i - 1, j - 1
                continue
        if i > 0 and dist[i][j] == dist[i - 1][j] + 1:
            steps.append(("del", ref[i - 1], ""))
            i -= 1
        else:
            steps.append(("ins", "", hyp[j - 1]))
            j -= 1
    steps.reverse()
    return steps


def error_rate(reference: str, hypothesis: str, lang: str, *,
               to_simplified: Callable[[str], str] | None = None) -> ErrorRate:
    """Normalise both texts for ``lang`` and count the edits between them.

    Example:
        >>> round(error_rate("the cat sat", "the the cat sat", "en").insertion_rate, 3)
        0.333
    """
    ref = normalize(reference, lang, to_simplified=to_simplified)
    hyp = normalize(hypothesis, lang, to_simplified=to_simplified)
    steps = align(ref, hyp)
    counts = {"ok": 0, "sub": 0, "del": 0, "ins": 0}
    for kind, _, _ in steps:
        counts[kind] += 1
    sep = "" if _base(lang) in CHAR_LANGS else " "
    return ErrorRate(
        unit="char" if _base(lang) in CHAR_LANGS else "word",
        ref_len=len(ref),
        hits=counts["ok"],
        substitutions=counts["sub"],
        deletions=counts["del"],
        insertions=counts["ins"],
        ops=[s for s in steps if s[0] != "ok"],
        reference=sep.join(ref),
        hypothesis=sep.join(hyp),
    )


__all__ = ["CHAR_LANGS", "ErrorRate", "align", "error_rate", "normalize", "strip_punctuation"]
