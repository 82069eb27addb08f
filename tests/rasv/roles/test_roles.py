"""Roles: the category-name rule, lookups, rename and delete."""

from __future__ import annotations

import pytest

import rasv
from rasv.roles.namespace import parse_label


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("男性-张三", ("男性", "张三")),
        ("男性-张三-二号", ("男性", "张三-二号")),
        ("alice", ("default", "alice")),
        (" 女性 - 小红 ", ("女性", "小红")),
        ("-bob", ("default", "bob")),
    ],
)
def test_parse_label_splits_on_first_dash(label, expected):
    assert parse_label(label) == expected


@pytest.mark.parametrize("label", ["", "  ", "cat-", "cat- "])
def test_parse_label_needs_a_name(label):
    with pytest.raises(rasv.InvalidInput):
        parse_label(label)


def test_create_get_list(ws):
    r = ws.roles.create("男性-张三")
    assert (r.category, r.name, r.label) == ("男性", "张三", "男性-张三")
    assert ws.roles.get(r.id) == ws.roles.get("男性-张三") == ws.roles.get("张三") == r
    assert ws.roles.list().label.tolist() == ["男性-张三"]


def test_duplicate_role_is_refused_unless_exist_ok(ws):
    r = ws.roles.create("a-b")
    with pytest.raises(rasv.AlreadyExists):
        ws.roles.create("a-b")
    assert ws.roles.create("a-b", exist_ok=True) == r


def test_ambiguous_bare_name_asks_for_category(ws):
    ws.roles.create("男性-张三")
    ws.roles.create("女性-张三")
    with pytest.raises(rasv.RoleNotFound, match="several roles"):
        ws.roles.get("张三")


def test_unknown_role(ws):
    with pytest.raises(rasv.RoleNotFound):
        ws.roles.get("nobody")
    with pytest.raises(rasv.RoleNotFound):
        ws.roles.get(99)


def test_rename_and_clash(ws):
    a = ws.roles.create("a-x")
    ws.roles.create("b-y")
    assert ws.roles.rename(a, "c-z").label == "c-z"
    with pytest.raises(rasv.AlreadyExists):
        ws.roles.rename("c-z", "b-y")


def test_delete_role(ws):
    r = ws.roles.create("a-x")
    ws.roles.delete(r)
    with pytest.raises(rasv.RoleNotFound):
        ws.roles.get("a-x")
