"""Take references: ``ws.takes.resolve`` takes a Take, its id or a unique prefix of it."""

from __future__ import annotations

import pytest

import rasv
from rasv.takes.namespace import MIN_TAKE_PREFIX
from rasv.testing import FakeEngine
from tests.rasv.taskkit import clip


@pytest.fixture
def take_ids(ws, role):
    t = ws.tasks.create(role, "x", ["hi"], clips=[clip(ws, role)], repeats=2, engine="fake")
    ws.tasks.run(t, FakeEngine())
    return sorted(ws.takes.df(t).id)


def test_resolve_takes_a_record_an_id_and_a_unique_prefix(ws, take_ids):
    full = take_ids[0]
    take = ws.takes.get(full)
    for ref in (take, full, full.upper(), f" {full} ", full[:12], full[:MIN_TAKE_PREFIX].upper()):
        assert ws.takes.resolve(ref).id == full, ref


def test_short_unknown_ambiguous_and_wrong_kinds_are_refused(ws, take_ids):
    with pytest.raises(rasv.TakeNotFound, match=f"at least {MIN_TAKE_PREFIX}"):
        ws.takes.resolve(take_ids[0][:MIN_TAKE_PREFIX - 1])
    with pytest.raises(rasv.TakeNotFound):
        ws.takes.resolve("f" * 40)
    for bad in (True, 3, 1.5, None):
        with pytest.raises(rasv.InvalidInput):
            ws.takes.resolve(bad)
    # Two takes sharing a prefix: the id is a content hash, so make the second row directly.
    twin = take_ids[0][:10] + "0" * (len(take_ids[0]) - 10)
    if twin == take_ids[0]:
        twin = take_ids[0][:10] + "1" * (len(take_ids[0]) - 10)
    with ws.store.transaction() as cur:
        cur.execute("INSERT INTO takes (id, engine_kind, text, text_lang, params) "
                    "VALUES (?, 'fake', 'x', 'en', '{}')", [twin])
    with pytest.raises(rasv.InvalidInput, match="several takes"):
        ws.takes.resolve(take_ids[0][:8])
    assert ws.takes.resolve(take_ids[0][:12]).id == take_ids[0]
