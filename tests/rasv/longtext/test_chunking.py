"""Long-text chunking: RefAudioSelectorV2's reader rule and GPT-SoVITS's cut methods."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rasv
from rasv.longtext.chunking import METHODS, RAS_PUNCT, chunk, is_speakable


def squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s)


# -- RefAudioSelectorV2's rule ---------------------------------------------------------------


def test_ras_merges_pieces_until_fifty_characters():
    sentence = "这是一个用来测试的句子，"  # 12 characters, ends with a split mark
    text = sentence * 9  # 108 characters
    chunks = chunk(text, "ras")
    assert [len(c) for c in chunks] == [60, 48]
    assert all(c.endswith("，") for c in chunks)


def test_ras_splits_after_every_mark_of_its_delimiter_set_mixed_zh_en():
    text = ('他说："今天真好！"然后问：你呢？I said, "fine; thanks." 好的、明白了…'
            "Next sentence here. " * 3)
    pieces = chunk(text, "ras", min_chars=1)
    # With min_chars=1 every piece is its own chunk: each ends at a delimiter (or the end).
    for piece in pieces[:-1]:
        assert piece[-1] in RAS_PUNCT, piece
    assert squeeze("".join(pieces)) == squeeze(text)
    # Quotes are split marks too; a lone mark joins the piece before it.
    assert pieces[:3] == ['他说："', '今天真好！"', "然后问："]


def test_ras_glues_a_tail_of_five_characters_or_fewer():
    head = "一二三四五六七八九十，" * 5  # 55 characters, one chunk
    assert chunk(head + "好的好的。", "ras") == [head + "好的好的。"]  # 5-character tail glued
    six = chunk(head + "好的好的好。", "ras")
    assert six == [head, "好的好的好。"]  # 6 characters stay a chunk of their own


def test_ras_tail_rule_counts_stripped_characters_in_english_too():
    head = "This sentence is long enough to fill one chunk alone. "  # > 50 characters
    assert chunk(head + "Yes.", "ras") == [head.strip() + " Yes."]
    assert chunk(head + "Maybe.", "ras") == [head.strip(), "Maybe."]


def test_ras_splits_at_newlines_and_keeps_them_inside_merged_chunks():
    text = "第一行没有标点\n第二行也没有\r\n第三行"
    assert chunk(text, "ras") == [text]  # merged: the whole text is under 50 characters
    pieces = chunk(text, "ras", min_chars=1, tail_max=0)
    assert pieces == ["第一行没有标点", "第二行也没有", "第三行"]


def test_ras_drops_blank_lines_and_never_starts_a_chunk_with_spaces():
    chunks = chunk("\n\n  第一句。  \n\n\n第二句。\n", "ras", min_chars=1, tail_max=0)
    assert chunks == ["第一句。", "第二句。"]


def test_nothing_to_speak_is_refused():
    for text in ["", "   ", "……！？", "\n\n"]:
        with pytest.raises(rasv.InvalidInput, match="nothing to speak"):
            chunk(text, "ras")
    with pytest.raises(rasv.InvalidInput, match="unknown chunking method"):
        chunk("你好", "cut9")


# -- GPT-SoVITS's cut methods ----------------------------------------------------------------


def test_cut0_keeps_each_line_whole():
    text = "第一段，有逗号。还有句号。\n第二段有五个字以上！"
    assert chunk(text, "cut0") == ["第一段，有逗号。还有句号。", "第二段有五个字以上！"]
    # A line shorter than 5 characters merges into its neighbour, as GPT-SoVITS does.
    assert chunk("第一段，有逗号。\n短！", "cut0") == ["第一段，有逗号。\n短！"]


def test_cut1_groups_four_sentences():
    text = "一一一一。二二二二。三三三三。四四四四。五五五五。六六六六。"
    assert chunk(text, "cut1") == ["一一一一。二二二二。三三三三。四四四四。", "五五五五。六六六六。"]


def test_cut2_grows_past_fifty_and_merges_a_short_last_group():
    s = "甲乙丙丁戊己庚辛壬癸，"  # 11 characters
    groups = chunk(s * 10, "cut2")  # 110 characters: 55 + 55 (a 55-char group exceeds 50)
    assert [len(g) for g in groups] == [55, 55]
    short_tail = chunk(s * 6, "cut2")  # 55 + 11: the 11-character tail merges back
    assert [len(g) for g in short_tail] == [66]


def test_cut3_splits_on_chinese_full_stops_only():
    assert chunk("第一句，没完。第二句！还在。", "cut3") == ["第一句，没完。", "第二句！还在。"]


def test_cut4_splits_on_english_full_stops_but_not_decimal_points():
    assert chunk("Pi is 3.14 roughly. The end is near. Bye now.", "cut4") == [
        "Pi is 3.14 roughly.", "The end is near.", "Bye now."]


def test_cut5_splits_at_every_mark_and_merges_short_fragments():
    text = "今天天气很好，我们去公园散步吧！你觉得怎么样？好。"
    assert chunk(text, "cut5") == ["今天天气很好，", "我们去公园散步吧！", "你觉得怎么样？好。"]
    assert chunk("It costs 2.50 dollars, ok.", "cut5") == ["It costs 2.50 dollars, ok."]


def test_cut_methods_drop_punctuation_only_fragments():
    chunks = chunk("开始。。。。……\n……\n结束了吗？", "cut5")
    assert all(is_speakable(c) for c in chunks)
    assert chunks[-1].endswith("结束了吗？")


# -- properties of every method --------------------------------------------------------------

_TEXT = st.lists(
    st.sampled_from(list("你好世界天气abc xyz,.;?!、，。？！；：…\"\n") + ["Hello ", "3.5"]),
    min_size=1, max_size=150,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=_TEXT, method=st.sampled_from(METHODS))
def test_chunks_cover_the_speakable_text_in_order(text, method):
    if not is_speakable(text):
        with pytest.raises(rasv.InvalidInput):
            chunk(text, method)
        return
    chunks = chunk(text, method)
    assert chunks and all(c == c.strip() and c for c in chunks)
    assert all(is_speakable(c) for c in chunks)
    joined = squeeze("".join(chunks))
    if method == "ras":
        assert joined == squeeze(text)  # the reader rule keeps every character
    else:
        # GPT-SoVITS's rules may drop leading punctuation-only fragments, nothing else.
        assert squeeze(text).endswith(joined) or joined in squeeze(text)
    if method == "ras":
        assert all(len(c) >= 50 for c in chunks[:-1])
