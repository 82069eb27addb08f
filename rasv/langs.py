"""Language codes: normalise what ``.list`` files and users write to what GPT-SoVITS's API takes.

GPT-SoVITS's ``api_v2`` checks languages case-sensitively over POST, so rasv stores and sends
only the lowercase API codes (``research/gsv-bridge.md`` §4.2).

Example:
    >>> normalize_lang("JP"), normalize_lang("ZH"), normalize_lang("中英混合")
    ('ja', 'zh', 'zh')
    >>> guess_lang("こんにちは"), guess_lang("你好"), guess_lang("hello")
    ('ja', 'zh', 'en')
"""

from __future__ import annotations

import re

from rasv.errors import InvalidInput

#: Every code that GPT-SoVITS v2 and later accept in ``text_lang`` / ``prompt_lang``.
API_LANGS: tuple[str, ...] = (
    "auto",
    "auto_yue",
    "en",
    "zh",
    "ja",
    "yue",
    "ko",
    "all_zh",
    "all_ja",
    "all_yue",
    "all_ko",
)
#: The subset a v1 model accepts.
V1_LANGS: tuple[str, ...] = ("auto", "en", "zh", "ja", "all_zh", "all_ja")

_ALIASES: dict[str, str] = {
    "zh": "zh",
    "cn": "zh",
    "zh-cn": "zh",
    "zh_cn": "zh",
    "chinese": "zh",
    "ja": "ja",
    "jp": "ja",
    "jpn": "ja",
    "japanese": "ja",
    "en": "en",
    "eng": "en",
    "english": "en",
    "ko": "ko",
    "kr": "ko",
    "korean": "ko",
    "yue": "yue",
    "cantonese": "yue",
    "all_zh": "all_zh",
    "all_ja": "all_ja",
    "all_jp": "all_ja",
    "all_ko": "all_ko",
    "all_yue": "all_yue",
    "auto": "auto",
    "auto_yue": "auto_yue",
    # The GPT-SoVITS webui's Chinese labels.
    "中文": "all_zh",
    "英文": "en",
    "日文": "all_ja",
    "粤语": "all_yue",
    "韩文": "all_ko",
    "中英混合": "zh",
    "日英混合": "ja",
    "粤英混合": "yue",
    "韩英混合": "ko",
    "多语种混合": "auto",
    "多语种混合(粤语)": "auto_yue",
}


def normalize_lang(code: str) -> str:
    """Return the lowercase GPT-SoVITS API code for a language code or label.

    Args:
        code: ``ZH``, ``zh``, ``JP``, ``JA``, ``EN``, ``KO``, ``YUE``, ``all_*``, ``auto``, or a
            webui label such as ``中文``.

    Raises:
        InvalidInput: if the code is not a language GPT-SoVITS knows.

    Example:
        >>> normalize_lang("All_ZH")
        'all_zh'
    """
    key = str(code).strip()
    found = _ALIASES.get(key) or _ALIASES.get(key.lower().replace("-", "_"))
    if found is None:
        raise InvalidInput(
            f"unknown language code {code!r}; use one of {', '.join(API_LANGS)} "
            "(ZH/JP/EN/KO/YUE from .list files are accepted too)"
        )
    return found


def base_lang(code: str) -> str:
    """The spoken language behind an API code: ``all_zh`` → ``zh``, ``auto`` → ``auto``.

    Example:
        >>> base_lang("all_ja"), base_lang("yue"), base_lang("auto_yue")
        ('ja', 'yue', 'yue')
    """
    code = normalize_lang(code)
    if code.startswith("all_"):
        return code[4:]
    if code == "auto_yue":
        return "yue"
    return code


_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def guess_lang(text: str) -> str:
    """Guess the API language code of a sentence from its script.

    Kana means Japanese, Hangul Korean, Han characters Chinese (``zh``, which GPT-SoVITS
    reads as Chinese mixed with English), anything else English.

    Example:
        >>> guess_lang("今日はいい天気ですね"), guess_lang("我爱 Python")
        ('ja', 'zh')
    """
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    return "en"


def count_units(text: str) -> int:
    """Count spoken units: one per CJK character or kana/hangul syllable, one per Latin word.

    Used for duration-per-character statistics, so a Chinese sentence and an English one are
    measured on comparable scales.

    Example:
        >>> count_units("你好，world!"), count_units("Hello there")
        (3, 2)
    """
    cjk = len(re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]", text))
    words = len(re.findall(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?", text))
    return cjk + words


__all__ = ["API_LANGS", "V1_LANGS", "base_lang", "count_units", "guess_lang", "normalize_lang"]
