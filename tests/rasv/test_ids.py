"""Ids taken from the DataFrames the library returns (numpy integers) work everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rasv
from rasv.ids import id_list, is_id
from tests.rasv.taskkit import clip, model


def test_is_id_and_id_list():
    assert is_id(np.int64(3)) and is_id(np.uint16(3)) and is_id(3)
    assert not is_id(True) and not is_id(np.bool_(False)) and not is_id(3.0) and not is_id("3")
    assert id_list(pd.Series([1, 2], dtype="Int64")) == [1, 2]
    assert id_list(np.int64(5)) == [5]
    with pytest.raises(rasv.InvalidInput, match="whole number"):
        id_list([1, "x"])
    with pytest.raises(rasv.InvalidInput):
        id_list("12")


def test_namespaces_take_ids_from_their_own_dataframes(ws, role):
    c1, c2 = clip(ws, role), clip(ws, role, 5.0)
    g, s = model(ws, "gpt"), model(ws, "sovits")
    rid = ws.roles.list().id.iloc[0]
    assert isinstance(rid, np.integer)
    assert ws.roles.get(rid) == role
    assert len(ws.clips.df(rid)) == 2 and ws.tasks.list(rid).empty
    assert ws.models.get(ws.models.df(rid).id.iloc[0]).id in (g, s)

    clips = ws.clips.df(role, sort="id").id  # a Series of numpy ints
    texts = ws.texts.df().id.head(2)
    task = ws.tasks.create(role, "from frames", texts, clips=clips, gpt=np.int64(g),
                           sovits=np.int64(s), seeds=np.array([1, 2]),
                           vary={"top_k": np.array([5, 10])})
    assert len(task.plan()) == 2 * 2 * 2 * 2
    tid = ws.tasks.list().id.iloc[0]
    assert ws.tasks.get(tid).id == task.id and ws.tasks.counts(tid).total == 16
    seeded = ws.tasks.create(role, "seed dim", ["你好。"], clips=[c1.id], engine="fake",
                             vary={"seed": np.array([3, 4])})
    assert sorted(seeded.plan().seed) == [3, 4]

    assert ws.clips.delete(np.int64(c2.id)) == 1
    text_id = ws.texts.add("临时。").id
    assert ws.texts.delete(np.int64(text_id)) == 1


def test_deleting_a_missing_id_deletes_nothing(ws, role):
    keep = ws.texts.add("留下。").id
    with pytest.raises(rasv.TextNotFound):
        ws.texts.delete([keep, 99999])
    assert ws.texts.get(keep).content == "留下。"

    a = ws.aux.add_from_clips([clip(ws, role).id])[0]
    with pytest.raises(rasv.AuxClipNotFound):
        ws.aux.delete([a.id, 99999])
    assert ws.aux.get(a.id).id == a.id and ws.aux.abspath(a.id).exists()


def test_id_list_refusal_reads_as_english():
    with pytest.raises(rasv.InvalidInput, match="expected an id or a list of them, got None"):
        id_list(None)
    with pytest.raises(rasv.InvalidInput, match="expected a text id or a list"):
        id_list("7", "text id")
