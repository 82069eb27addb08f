"""The review tag vocabulary, written once: what a score's tags mean in Chinese and English.

Scores store keys (``electric_noise``); users and panels give keys, Chinese or English labels
or common aliases, and free tags are allowed too. Automatic analysis suggests a subset of these
keys (:data:`rasv.analysis.TAGS`), so a suggestion can be accepted as it is.

Example:
    >>> normalize_tag("电音"), normalize_tag("Electric noise"), normalize_tag(" 奇怪 ")
    ('electric_noise', 'electric_noise', '奇怪')
"""

from __future__ import annotations

import pandas as pd

from rasv.errors import InvalidInput

#: The tag vocabulary: key -> (Chinese label, English label). Free tags are allowed too.
TAGS: dict[str, tuple[str, str]] = {
    "electric_noise": ("电音", "electric noise"),
    "repetition": ("复读", "repetition"),
    "swallowed": ("吞字", "swallowed words"),
    "breathing": ("换气", "breathing"),
    "wrong_tone": ("语气不对", "wrong tone"),
    "long_pause": ("停顿过长", "long pause"),
    "mispronounced": ("读错", "mispronounced"),
    "prompt_leak": ("参考泄露", "prompt leak"),
    "noise": ("杂音", "background noise"),
    "clipping": ("爆音", "clipping"),
    "cut_off": ("截断", "cut-off ending"),
    "timbre": ("音色不像", "timbre off"),
    "too_fast": ("语速过快", "too fast"),
    "too_slow": ("语速过慢", "too slow"),
}
_ALIASES = {
    "电流音": "electric_noise", "electric": "electric_noise", "repeat": "repetition",
    "repeats": "repetition", "复读机": "repetition", "swallowed": "swallowed",
    "漏字": "swallowed", "breath": "breathing", "呼吸": "breathing", "喘气": "breathing",
    "tone": "wrong_tone", "pause": "long_pause", "停顿": "long_pause", "读错字": "mispronounced",
    "泄露": "prompt_leak", "噪音": "noise", "噪声": "noise", "clip": "clipping",
    "截断": "cut_off", "cutoff": "cut_off", "cut off": "cut_off",
}
_LOOKUP = {k: k for k in TAGS}
for _k, (_zh, _en) in TAGS.items():
    _LOOKUP[_zh] = _k
    _LOOKUP[_en.lower()] = _k
_LOOKUP.update(_ALIASES)

def normalize_tag(tag: str) -> str:
    """The vocabulary key of a tag given by key, Chinese or English label; free tags are
    returned stripped.

    Example:
        >>> normalize_tag("复读"), normalize_tag("swallowed words")
        ('repetition', 'swallowed')
    """
    text = " ".join(str(tag).split())
    if not text:
        raise InvalidInput("a tag cannot be empty")
    if len(text) > 40:
        raise InvalidInput(f"a tag is at most 40 characters, got {len(text)}")
    return _LOOKUP.get(text, _LOOKUP.get(text.lower(), text))


def tag_label(tag: str, lang: str = "zh") -> str:
    """The display label of a tag key in ``"zh"`` or ``"en"`` (free tags as they are).

    Example:
        >>> tag_label("electric_noise"), tag_label("electric_noise", "en")
        ('电音', 'electric noise')
    """
    if tag in TAGS:
        return TAGS[tag][0 if lang.startswith("zh") else 1]
    return tag


def tags_df() -> pd.DataFrame:
    """The tag vocabulary as a table (key, zh, en), for pickers.

    Example:
        >>> tags_df().iloc[0].tolist()
        ['electric_noise', '电音', 'electric noise']
    """
    return pd.DataFrame([(k, zh, en) for k, (zh, en) in TAGS.items()],
                        columns=["key", "zh", "en"])


__all__ = ["TAGS", "normalize_tag", "tag_label", "tags_df"]
