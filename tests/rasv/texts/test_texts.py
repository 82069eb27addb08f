"""The shared text library and its starter set."""

from __future__ import annotations

import pytest

import rasv
from rasv.texts.namespace import STARTER_TEXTS


def test_new_workspace_has_the_starter_set(ws):
    df = ws.texts.df()
    assert len(df) == len(STARTER_TEXTS) and set(df.source) == {"starter"}
    assert set(df.lang) == {"zh", "en", "ja"}
    assert df.long.sum() == 2


def test_add_guesses_language_and_long_flag(ws):
    assert ws.texts.add("これはペンです。").lang == "ja"
    assert ws.texts.add("A" * 130).long is True
    assert ws.texts.add("短句", long=True).long is True
    assert ws.texts.add("mixed 中文", lang="EN").lang == "en"


def test_empty_text_is_refused(ws):
    with pytest.raises(rasv.InvalidInput, match="empty"):
        ws.texts.add("   ")


def test_filters_update_delete(ws):
    t = ws.texts.add("第一", category="mine")
    ws.texts.add("second", category="mine")
    assert ws.texts.df(category="mine", lang="zh").content.tolist() == ["第一"]
    assert ws.texts.df(contains="SECOND").content.tolist() == ["second"]
    t2 = ws.texts.update(t.id, content="改", long=True)
    assert (t2.content, t2.long) == ("改", True)
    with pytest.raises(rasv.InvalidInput):
        ws.texts.update(t.id, source="x")
    assert ws.texts.delete([t.id]) == 1
    with pytest.raises(rasv.TextNotFound):
        ws.texts.get(t.id)
    with pytest.raises(rasv.TextNotFound):
        ws.texts.delete(t.id)


def test_add_file_lines_and_long(ws, tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("一句。\r\n\r\n二句。\r\n".encode("gbk"))
    assert [t.content for t in ws.texts.add_file(p, category="f")] == ["一句。", "二句。"]
    long_item = ws.texts.add_file(p, long=True)[0]
    assert long_item.long and "二句" in long_item.content
    with pytest.raises(rasv.InvalidInput, match="cannot read"):
        ws.texts.add_file(tmp_path / "missing.txt")


def test_the_same_text_is_kept_once(ws, tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("一句。\n二句。\n", encoding="utf-8")
    first = ws.texts.add_file(p)
    again = ws.texts.add_file(p)
    assert [t.id for t in again] == [t.id for t in first]
    assert ws.texts.add("一句。", lang="ja").id != first[0].id, "another language is another text"
