"""The interface catalogue: complete in both languages, locale-aware default."""

from __future__ import annotations

import pytest

from rasv.errors import InvalidInput
from widgets.i18n import LANGS, MESSAGES, Translator, default_lang, normalize_ui_lang, placeholders


def test_every_message_has_both_languages_with_the_same_fields():
    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGS), key
        assert all(texts[lang].strip() for lang in LANGS), key
        assert placeholders(texts["zh"]) == placeholders(texts["en"]), key


def test_translator_formats_and_rejects_unknown_keys():
    t = Translator("en")
    assert t("import.report", added=2, overwritten=0, skipped=1) == "added 2, overwritten 0, skipped 1"
    with pytest.raises(KeyError):
        t("no.such.key")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "RASV_LANG": "zh"}, "zh"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ],
)
def test_default_language_follows_the_locale(monkeypatch, env, expected):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE", "RASV_LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr("locale.getlocale", lambda: (None, None))
    assert default_lang() == expected


def test_unknown_interface_language_is_a_clear_error():
    with pytest.raises(InvalidInput, match="speaks zh or en"):
        normalize_ui_lang("fr")


def test_no_key_is_written_twice():
    # A dict literal keeps the last of two equal keys without a word; catch it here.
    import ast
    import collections
    from pathlib import Path

    import widgets.i18n

    tree = ast.parse(Path(widgets.i18n.__file__).read_text(encoding="utf-8"))
    keys = [k.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
            and getattr(node.target, "id", "") == "_CATALOGUE" for k in node.value.keys]
    assert keys and [k for k, n in collections.Counter(keys).items() if n > 1] == []


def test_every_analysis_reason_has_zh_and_en_matching_the_library():
    import re

    from rasv.analysis.suspicion import flags_for

    row = {"clipped_fraction": 0.004, "hf_bursts": 2, "hum_db": 30.0, "pause_noise_db": -35.0,
           "pause_flatness": 0.5, "dnsmos_bak": 1.5, "dnsmos_sig": 2.0, "repetition": 0.995,
           "pace_z": 4.0, "sec_per_unit": 0.5, "max_pause_s": 2.0, "lead_silence_s": 2.5,
           "trail_silence_s": 3.5, "end_level_db": -3.0, "asr_error_rate": 0.5,
           "asr_insertions": 1.0, "asr_deletions": 2.0, "asr_substitutions": 1.0,
           "sim_ref": 0.5, "sim_centroid": 0.5}
    details = {"clipped_fraction": {"places": [1.0]}, "hf_bursts": {"events": [[1.2], [2.8]]},
               "max_pause_s": {"pauses": [[1.0, 3.0]]}, "asr_deletions": {"deleted": ["公", "园"]},
               "asr_error_rate": {"hypothesis": "我们去"}}
    context = {"dnsmos_bak": 3.5, "dnsmos_sig": 3.5, "sim_ref": 0.9, "sim_centroid": 0.9,
               "text_takes": 5}
    flags = flags_for(row, details, context)
    assert len({f.message for f in flags}) >= 14
    zh, en = Translator("zh"), Translator("en")
    for f in flags:
        key = f"analysis.reason.{f.message}"
        assert en(key, **f.params) == f.reason.split(": ", 1)[1]
        said = zh(key, **f.params)
        assert re.search(r"[\u4e00-\u9fff]", said.replace("我们去", "").replace("公 园", ""))
