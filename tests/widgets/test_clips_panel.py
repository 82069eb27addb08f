"""The Clips tab driven headlessly: filters, sorting, paging, edits, playback, batch actions,
import, categories, the aux pool and the text library."""

from __future__ import annotations

import pytest

from rasv.testing import make_clip, write_list
from widgets.clips import ClipsPanel, ImportForm, parse_path_map
from widgets.context import Context
from widgets.player import Player


@pytest.fixture(autouse=True)
def _no_browser(monkeypatch):
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: None)


@pytest.fixture
def panel(ws, role, role_ctx, tmp_path):
    durations = [2.0, 3.5, 4.0, 5.5, 7.0, 11.0]
    for i, d in enumerate(durations):
        ws.clips.add(role, make_clip(tmp_path / f"c{i}.wav", d, seed=i), text=f"句子{i}",
                     category="soft" if i % 2 else "bright")
    return ClipsPanel(role_ctx)


def names(panel):
    return [r["name"] for r in panel.table.rows]


def test_first_page_is_sorted_by_duration_longest_first(panel):
    assert names(panel) == ["c5.wav", "c4.wav", "c3.wav", "c2.wav", "c1.wav", "c0.wav"]
    assert panel.count.value == "6 clips"
    # outside 3–10 s rows are greyed out
    muted = {r["name"] for r in panel.table.rows if r["_muted"]}
    assert muted == {"c0.wav", "c5.wav"}


def test_header_click_sorts_through_the_library(panel):
    panel.table.sort_key = "name"
    panel.table.sort_desc = False
    assert names(panel)[:2] == ["c0.wav", "c1.wav"]


def test_filters_combine(panel):
    panel.f_category.value = "soft"
    assert names(panel) == ["c5.wav", "c3.wav", "c1.wav"]
    panel.f_valid.value = "yes"
    assert names(panel) == ["c3.wav", "c1.wav"]
    panel.f_text.value = "句子3"
    assert names(panel) == ["c3.wav"]


def test_paging(panel):
    panel.table.page_size = 4
    assert len(panel.table.rows) == 4 and panel.table.pages == 2
    panel.table.page = 2
    assert names(panel) == ["c1.wav", "c0.wav"]
    panel.f_category.value = "bright"  # fewer rows: back to page 1
    assert panel.table.page == 1 and names(panel) == ["c4.wav", "c2.wav", "c0.wav"]


def test_inline_edits_are_saved(panel, ws):
    cid = panel.table.rows[0]["id"]
    panel.table.edit(cid, "text", "改过的文本")
    panel.table.edit(cid, "calibrated", True)
    panel.table.edit(cid, "category", "new-cat")
    panel.table.edit(cid, "lang", "JA")
    panel.table.edit(cid, "remark", "breathy")
    clip = ws.clips.get(cid)
    assert (clip.text, clip.calibrated, clip.category, clip.lang, clip.remark) == (
        "改过的文本", True, "new-cat", "ja", "breathy")
    assert ("new-cat", "new-cat") in panel.f_category.options


def test_bad_edit_shows_one_sentence_and_keeps_the_panel(panel, ws):
    cid = panel.table.rows[0]["id"]
    panel.table.edit(cid, "lang", "klingon")
    assert "Error:" in panel.ctx.notice.value
    assert ws.clips.get(cid).lang == "zh"


def test_play_loads_the_clip_and_toggles(panel):
    cid = panel.table.rows[1]["id"]
    panel.table.action(cid, "play")
    assert panel.player.key == str(cid) and panel.player.audio[:4] == b"RIFF"
    assert panel.table.playing == cid
    panel.table.action(cid, "play")
    assert not panel.player.playing and panel.table.playing is None


def test_delete_row_and_batch_actions(panel, ws, role):
    first = panel.table.rows[0]["id"]
    panel.table.action(first, "delete")
    assert ws.clips.count(role) == 5
    ids = [r["id"] for r in panel.table.rows[:2]]
    panel.table.selected = ids
    assert panel.batch.layout.display == "flex"
    assert panel.move_selected("picked") == 2
    assert set(ws.clips.df(role, category="picked").id) == set(ids)
    assert panel.add_selected_to_aux() == 2
    assert len(ws.aux.df()) == 2
    panel.b_delete.click()  # arms
    assert ws.clips.count(role) == 5
    panel.b_delete.click()  # deletes
    assert ws.clips.count(role) == 3 and panel.table.selected == []


def test_switching_role_shows_its_clips(panel, ws):
    other = ws.roles.create("女-小红")
    panel.ctx.role = other
    assert names(panel) == [] and panel.count.value == "0 clips"


def test_import_form_with_path_map_and_report(ws, role, tmp_path):
    wav = make_clip(tmp_path / "gsv" / "a.wav", 4.0)
    lst = write_list(tmp_path / "x.list", [
        ("D:\\GPT-SoVITS\\a.wav", "spk", "ZH", "你好。"),
        ("D:\\GPT-SoVITS\\missing.wav", "spk", "ZH", "没有"),
        "only|three|fields",
    ])
    ctx = Context(ws, lang="en")
    ctx.role = role
    form = ImportForm(ctx)
    form.path.value = f'"{lst}"'
    form.path_map.value = f"D:/GPT-SoVITS/ => {tmp_path / 'gsv'}/"
    form.on_duplicate.value = "rename"
    form.category.value = "imported"
    form.calibrated.value = True
    rep = form.run()
    assert len(rep.added) == 1 and [n for n, _ in rep.skipped] == [2, 3]
    assert "added 1, overwritten 0, skipped 2" in form.report.value
    assert "line 2" in form.report.value and "line 3" in form.report.value
    clip = ws.clips.get(rep.added[0])
    assert clip.category == "imported" and clip.calibrated
    assert wav  # the source stays where it was


def test_import_of_a_missing_list_is_one_sentence(ws, role):
    ctx = Context(ws, lang="en")
    ctx.role = role
    form = ImportForm(ctx)
    form.path.value = "/no/such.list"
    form.button.click()
    assert "Error:" in ctx.notice.value and not form.button.disabled


def test_path_map_parsing_errors():
    from rasv.errors import InvalidInput

    assert parse_path_map("") == {}
    with pytest.raises(InvalidInput, match="line 2"):
        parse_path_map("a => b\nno arrow here")


def test_categories_box_create_rename_delete(panel, ws, role):
    box = panel.categories
    box.create("温柔")
    box.rename("soft", "gentle")
    assert "gentle" in ws.clips.categories.list(role)
    assert ("gentle", "gentle") in panel.f_category.options
    box.delete("gentle")
    assert ws.clips.count(role, category="default") == 3


def test_aux_pool_and_text_library_sections(panel, ws):
    panel.table.selected = [panel.table.rows[0]["id"]]
    panel.add_selected_to_aux()
    panel.sections.selected_index = 2
    aux = panel.aux
    assert len(aux.table.rows) == 1
    aid = aux.table.rows[0]["id"]
    aux.table.action(aid, "play")
    assert aux.player.playing and aux.table.playing == aid
    aux.table.action(aid, "delete")
    assert len(ws.aux.df()) == 0 and not aux.player.audio

    texts = panel.texts
    panel.sections.selected_index = 3
    texts.content.value = "一个新的测试句子。"
    texts.category.value = "mine"
    item = texts.add_text()
    assert texts.table.rows[0]["id"] == item.id
    texts.table.edit(item.id, "long", True)
    assert ws.texts.get(item.id).long
    texts.f_category.value = "mine"
    assert [r["id"] for r in texts.table.rows] == [item.id]
    texts.table.action(item.id, "delete")
    # its category is gone with it, so the filter falls back to all texts
    assert texts.f_category.value == "" and item.id not in {r["id"] for r in texts.table.rows}


def test_related_takes_of_a_clip_play_and_score(panel, ws, role):
    from rasv.testing import FakeEngine

    clip_id = panel.table.rows[1]["id"]
    task = ws.tasks.create(role, "k", ["你好。"], clips=[clip_id], vary={"top_k": [5, 15]},
                           engine="fake")
    ws.tasks.run(task, FakeEngine())
    panel.table.action(clip_id, "related")
    assert panel.related_box.layout.display == "" and len(panel.related.rows) == 2
    take_id = panel.related.rows[0]["id"]
    panel.related.action(take_id, "play")
    assert panel.player.key == f"take:{take_id}" and panel.related.playing == take_id
    panel.related.edit(take_id, "stars", 5)
    assert ws.scores.get(take_id).stars == 5
    assert panel.table.row(clip_id)["score_max"] == 5  # rolled up to the clip


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fully_skipped_import_into_a_new_role_creates_no_role(ws, tmp_path, lang):
    lst = write_list(tmp_path / "bad.list", [("missing.wav", "spk", "ZH", "没有"), "two|fields"])
    ctx = Context(ws, lang=lang)
    form = ImportForm(ctx)
    form.role.value = "女-新角色"
    form.path.value = str(lst)
    rep = form.run()
    assert rep.added == [] and rep.created_role is None
    assert "女-新角色" not in ws.roles.list()["label"].tolist() and ctx.role is None
    said = ctx.t("import.no_role_created", label="女-新角色")
    assert said in form.report.value and said in ctx.notice.value
    assert ("未创建角色" if lang == "zh" else "no role") in said


def test_import_into_a_new_role_creates_it_and_switches(ws, tmp_path):
    wav = make_clip(tmp_path / "a.wav", 4.0)
    lst = write_list(tmp_path / "x.list", [(wav, "spk", "ZH", "你好。")])
    ctx = Context(ws, lang="en")
    form = ImportForm(ctx)
    form.role.value = "女-新角色"
    form.path.value = str(lst)
    rep = form.run()
    assert rep.created_role == "女-新角色" and ctx.role.label == "女-新角色"
    assert "no role" not in form.report.value and "女-新角色" in form.role.options
