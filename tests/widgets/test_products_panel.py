"""The Products tab driven headlessly: the table across roles, filters, inline edits with
clear errors, the api_v2 request body, playing, the zip export and deleting."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import rasv
from rasv.testing import FakeEngine, make_clip
from widgets.context import Context
from widgets.player import Player
from widgets.products import ProductsPanel
from widgets.workbench import Workbench


@pytest.fixture(autouse=True)
def _no_browser(monkeypatch):
    monkeypatch.setattr(Player, "send", lambda self, msg, buffers=None: None)


@pytest.fixture
def products(ws, role, tmp_path):
    other = ws.roles.create("女-小红")
    a = ws.clips.add(role, make_clip(tmp_path / "a.wav", 4.0), text="你好。", category="calm")
    b = ws.clips.add(other, make_clip(tmp_path / "b.wav", 5.0, seed=2), text="再见。")
    p1 = ws.products.create(role, "温柔", clip=a.id, params=rasv.Params(top_k=10, seed=7),
                            score=3)
    p2 = ws.products.create(role, "明亮", clip=a.id, params=rasv.Params(top_k=5, seed=8),
                            category="bright", score=5)
    p3 = ws.products.create(other, "低沉", clip=b.id, params=rasv.Params(seed=9))
    return p1, p2, p3


@pytest.fixture
def panel(role_ctx, products):
    return ProductsPanel(role_ctx)


def names(panel):
    return [r["name"] for r in panel.table.rows]


def test_table_scope_and_filters(panel, products):
    assert names(panel) == ["明亮", "温柔"]  # best score first
    assert panel.count.value == "2 products"
    panel.scope.value = "all"
    assert set(names(panel)) == {"明亮", "温柔", "低沉"}
    assert {r["role"] for r in panel.table.rows} == {"男性-张三", "女-小红"}
    panel.f_name.value = "低"
    assert names(panel) == ["低沉"]
    panel.f_name.value = ""
    panel.f_category.value = "bright"
    assert names(panel) == ["明亮"]
    panel.f_category.value = ""
    panel.table.sort_key, panel.table.sort_desc = "name", False
    assert names(panel) == sorted(names(panel))


def test_inline_edits(panel, ws, products):
    p1 = products[0]
    panel.table.edit(p1.id, "name", "温柔2")
    panel.table.edit(p1.id, "category", "soft")
    panel.table.edit(p1.id, "remark", "最自然")
    panel.table.edit(p1.id, "score", 4)
    panel.table.edit(p1.id, "top_p", "0.8")
    panel.table.edit(p1.id, "temperature", "0.7")
    panel.table.edit(p1.id, "speed_factor", "1.1")
    panel.table.edit(p1.id, "seed", "42")
    got = ws.products.get(p1.id)
    assert (got.name, got.category, got.remark, got.score) == ("温柔2", "soft", "最自然", 4)
    assert (got.params.top_p, got.params.temperature, got.params.speed_factor, got.seed) == (
        0.8, 0.7, 1.1, 42)
    row = panel.table.row(p1.id)
    assert row["name"] == "温柔2" and row["seed"] == 42
    panel.table.edit(p1.id, "score", 0)  # a click on the current star clears it
    assert ws.products.get(p1.id).score is None


@pytest.mark.parametrize(("key", "value", "words"), [
    ("top_k", "abc", "top_k must be a number, not abc"),
    ("seed", "1.5", "seed must be a number, not 1.5"),
    ("top_p", "nan", "top_p must be a number"),
    ("top_p", "2", "top_p must be in (0, 1]"),
    ("name", "明亮", "already has a product named"),
    ("name", "  ", "a product needs a name"),
])
def test_bad_edits_are_one_sentence_and_change_nothing(panel, ws, products, key, value, words):
    p1 = products[0]
    before = ws.products.get(p1.id)
    panel.table.edit(p1.id, key, value)
    assert "Error:" in panel.ctx.notice.value and words in panel.ctx.notice.value
    assert ws.products.get(p1.id) == before
    assert panel.table.row(p1.id)["name"] == "温柔"


def test_request_body_and_play(panel, ws, products):
    p1 = products[0]
    panel.table.action(p1.id, "request")
    body = json.loads(panel.request_body.value.split(">", 1)[1].rsplit("</pre>", 1)[0]
                      .replace("&quot;", '"').replace("&#x27;", "'"))
    assert body == ws.products.export_request(p1.id)
    assert body["top_k"] == 10 and body["seed"] == 7 and body["prompt_text"] == "你好。"
    assert Path(body["ref_audio_path"]).is_file()
    panel.sample_text.value = "今天天气很好。"
    assert "今天天气很好。" in panel.request_body.value
    panel.table.edit(p1.id, "top_k", "20")  # the body follows an edit of its product
    assert '&quot;top_k&quot;: 20' in panel.request_body.value
    panel.table.action(p1.id, "play")
    assert panel.player.key == f"p{p1.id}" and panel.player.playing
    assert panel.table.playing == p1.id


def test_export_the_checked_products(panel, ws, products, tmp_path):
    assert panel.export_button.disabled and panel.dest.value.endswith("男性-张三.zip")
    panel.export_button.click()
    assert "Check the products to export first" in panel.ctx.notice.value
    panel.table.selected = [products[0].id, products[1].id]
    assert panel.export_button.description == "Export 2 checked"
    panel.dest.value = str(tmp_path / "out" / "pack.zip")
    panel.merge.value = True
    panel.export_button.click()
    assert "Exported 2 products" in panel.ctx.notice.value
    with zipfile.ZipFile(tmp_path / "out" / "pack.zip") as z:
        configs = [n for n in z.namelist() if n.endswith("infer_config.json")]
        assert len(configs) == 1  # merged: both share the same (no) model pair
        data = json.loads(z.read(configs[0]))
    assert {p["name"] for p in data["product_list"]} == {"温柔", "明亮"}


def test_delete_a_row_and_the_checked_ones(panel, ws, products):
    p1, p2, p3 = products
    panel.table.action(p1.id, "delete")
    assert names(panel) == ["明亮"] and "Deleted 1 products" in panel.ctx.notice.value
    panel.scope.value = "all"
    panel.table.selected = [p2.id, p3.id]
    panel.delete_button.click()
    assert ws.products.df().shape[0] == 2  # armed, nothing deleted yet
    panel.delete_button.click()
    assert ws.products.df().empty and panel.table.rows == []


def test_read_a_long_text_with_a_product(ws, role, products):
    wb = Workbench(ws, lang="en", role=role, engines=[FakeEngine()])
    panel = wb.select("products")
    panel.table.action(products[1].id, "longtext")
    assert wb.tabs.selected_index == wb.tab_names().index("longtext")
    assert wb.panel("longtext").source == ("product", products[1].id)
    lone = ProductsPanel(Context(ws, lang="en"))
    lone.ctx.role = role
    lone.table.action(products[1].id, "longtext")
    assert "no Long text tab" in lone.ctx.notice.value
