"""Text normalisation (seed-tts-eval rules) and the edit-distance breakdown, offline on strings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasv.analysis.errorrate import align, error_rate, normalize, strip_punctuation


def test_chinese_is_scored_per_character_without_punctuation():
    assert normalize("今天，天气“很好”！", "zh") == list("今天天气很好")
    assert normalize("今天 天气", "all_zh") == list("今天天气")


def test_traditional_chinese_converted_when_a_converter_is_given():
    t2s = {"體": "体", "說": "说"}
    conv = lambda s: "".join(t2s.get(c, c) for c in s)  # noqa: E731
    assert normalize("身體說", "zh", to_simplified=conv) == list("身体说")


def test_english_is_lowercased_and_scored_per_word_keeping_apostrophes():
    assert normalize("It's a  Dog, isn't it?", "en") == ["it's", "a", "dog", "isn't", "it"]


def test_japanese_is_scored_per_character_and_full_width_folded():
    assert normalize("きょうは、ＡＢＣ。", "ja") == ["き", "ょ", "う", "は", "a", "b", "c"]


def test_strip_punctuation_covers_cjk_marks():
    assert strip_punctuation("《你好》——【世界】…「です」") == "你好世界です"


def test_breakdown_of_a_repetition_and_a_swallowed_word():
    rep = error_rate("我们一起去公园", "我们一起一起去公园", "zh")
    assert (rep.insertions, rep.deletions, rep.substitutions) == (2, 0, 0)
    assert rep.insertion_rate == pytest.approx(2 / 7)
    swallowed = error_rate("please bring the blue chair", "please the chair", "en")
    assert (swallowed.insertions, swallowed.deletions, swallowed.substitutions) == (0, 2, 0)
    assert swallowed.rate == pytest.approx(0.4)
    assert [o[1] for o in swallowed.ops] == ["bring", "blue"]


def test_substitution_and_empty_reference():
    e = error_rate("the cat", "the hat", "en")
    assert e.ops == [("sub", "cat", "hat")] and e.rate == 0.5
    assert error_rate("", "", "en").rate == 0.0
    assert error_rate("。", "hello", "zh").rate == 1.0


def test_mixed_chinese_english_scored_per_character():
    e = error_rate("我爱Python", "我爱python", "zh")
    assert e.rate == 0.0 and e.ref_len == 8


@settings(deadline=None)  # a loaded machine can stall one example past any deadline
@given(st.lists(st.sampled_from("abcd"), max_size=12), st.lists(st.sampled_from("abcd"), max_size=12))
def test_alignment_accounts_for_every_unit(ref, hyp):
    steps = align(ref, hyp)
    assert [s[1] for s in steps if s[0] != "ins"] == ref
    assert [s[2] for s in steps if s[0] != "del"] == hyp
    edits = sum(s[0] != "ok" for s in steps)
    assert edits == _levenshtein(ref, hyp)


def _levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]
