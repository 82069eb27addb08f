"""The workbench shell: tabs built lazily, the role picker, the dashboard entry point."""

from __future__ import annotations

import ipywidgets as W
import pytest

import rasv
from rasv.errors import InvalidInput
from widgets.context import Panel
from widgets.roles import RolePicker
from widgets.workbench import Workbench


def test_tabs_are_titled_in_the_chosen_language(ws):
    wb = Workbench(ws, lang="en")
    assert wb.tabs.get_title(0) == "Clips"
    assert Workbench(ws, lang="zh").tabs.get_title(0) == "参考音频"


def test_panels_are_built_when_their_tab_opens(ws):
    wb = Workbench(ws, lang="en")
    assert list(wb._panels) == [wb.tab_names()[0]]
    clips = wb.panel("clips")
    assert wb.panel("clips") is clips
    with pytest.raises(InvalidInput, match="no panel named"):
        wb.panel("nope")
    with pytest.raises(InvalidInput, match="no panel named"):
        Workbench(ws, tabs=["clips", "nope"])


def test_role_picker_creates_switches_and_remembers(ws, tmp_path):
    wb = Workbench(ws, lang="en")
    assert wb.ctx.role is None and "No role yet" in wb.picker.summary.value
    picker = wb.picker
    picker.combo.value = "女-小红"
    assert picker.button.description == "Create"
    picker.button.click()
    assert wb.ctx.role.label == "女-小红" and "Created role" in wb.ctx.notice.value
    ws.roles.create("男-张三")
    picker.reload()
    picker.combo.value = "男-张三"  # picking an existing label switches at once
    assert wb.ctx.role.label == "男-张三"
    assert "clips: 0" in picker.summary.value
    # a new workbench on the same workspace opens where the user left off
    assert Workbench(ws, lang="en").ctx.role.label == "男-张三"


def test_role_picker_bad_label_is_one_sentence(ws):
    wb = Workbench(ws, lang="en")
    wb.picker.combo.value = "-"
    wb.picker.button.click()
    assert "Error:" in wb.ctx.notice.value and wb.ctx.role is None


def test_role_argument_and_path_argument(tmp_path):
    with rasv.open(tmp_path / "w") as ws:
        ws.roles.create("a-b")
        ws.roles.create("c-d")
    wb = Workbench(tmp_path / "w", role="c-d", lang="en")
    assert wb.ctx.role.label == "c-d"
    assert isinstance(wb.picker, RolePicker)


def test_from_env(monkeypatch, tmp_path):
    monkeypatch.delenv("RASV_WORKSPACE", raising=False)
    with pytest.raises(InvalidInput, match="RASV_WORKSPACE"):
        Workbench.from_env()
    monkeypatch.setenv("RASV_WORKSPACE", str(tmp_path / "env-ws"))
    assert Workbench.from_env(lang="en").ws.root == (tmp_path / "env-ws").resolve()


class Probe(Panel):
    """A panel whose show() takes only ``task``."""

    tab = "tab.review"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.widget = W.HTML("probe")
        self.seen = []

        self.refreshed = 0

    def show(self, task=None):
        self.seen.append(task)

    def refresh(self, *_):
        self.refreshed += 1


def test_navigation_passes_only_what_the_panel_takes(ws, monkeypatch):
    import widgets.workbench as wbm
    from widgets.i18n import MESSAGES

    monkeypatch.setattr(wbm, "PANELS", (*wbm.PANELS, ("probe", __name__, "Probe")))
    monkeypatch.setitem(MESSAGES, "tab.probe", {"zh": "探针", "en": "Probe"})
    wb = Workbench(ws, lang="en")
    assert wb.ctx.navigate("probe", task=3, clip=9)
    assert wb.panel("probe").seen == [3] and wb.ctx.notice.value == ""
    assert wb.panel("probe").refreshed == 0  # built on opening, not built and refreshed
    wb.select("clips")
    wb.select("probe")
    assert wb.panel("probe").refreshed == 1  # coming back re-reads it
    assert wb.tab_names()[wb.tabs.selected_index] == "probe"
    assert not wb.ctx.navigate("nowhere")


def test_clip_rows_link_to_tabs_that_exist(ws, role, tmp_path):
    from rasv.testing import make_clip
    from widgets.clips import ClipsPanel
    from widgets.context import Context

    ws.clips.add(role, make_clip(tmp_path / "a.wav", 4.0))
    alone = ClipsPanel(Context(ws, lang="en"))
    actions = [a["action"] for a in alone.table.columns[-1]["actions"]]
    assert actions == ["related", "delete"]
    ctx = Context(ws, lang="en")
    ctx.tabs = ("clips", "classify", "split")
    opened = []
    ctx.navigator = lambda tab, **kw: opened.append((tab, kw)) or True
    ctx.role = role
    panel = ClipsPanel(ctx)
    assert [a["action"] for a in panel.table.columns[-1]["actions"]] == [
        "related", "classify", "split", "delete"]
    cid = panel.table.rows[0]["id"]
    panel.table.action(cid, "split")
    assert opened == [("split", {"clip": cid})]


def test_tabs_follow_the_design_order(ws):
    from widgets.workbench import TAB_ORDER

    names = Workbench(ws, lang="en").tab_names()
    assert names == sorted(names, key=TAB_ORDER.index)
    assert names[0] == "clips" and names[-1] == "engines"
