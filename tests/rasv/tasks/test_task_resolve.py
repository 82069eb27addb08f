"""Task references (``ws.tasks.resolve``) and the one list of task arguments (``TaskArgs``)."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

import rasv
from rasv.cli.tasks import SPEC_KEYS
from rasv.tasks import TaskArgs, Tasks
from rasv.tasks.resolve import find_task_id, task_id_of
from tests.rasv.taskkit import clip


@pytest.fixture
def tasks(ws, role):
    c = clip(ws, role)
    first = ws.tasks.create(role, "k sweep", ["hi"], clips=[c], engine="fake")
    twin_a = ws.tasks.create(role, "twin", ["a"], clips=[c], engine="fake")
    twin_b = ws.tasks.create(role, "twin", ["b"], clips=[c], engine="fake")
    return first, twin_a, twin_b


def test_resolve_takes_records_ids_numpy_ids_id_text_and_names(ws, tasks):
    first = tasks[0]
    for ref in (first, 1, np.int64(1), np.int32(1), "1", " 1 ", "k sweep", " k sweep "):
        got = ws.tasks.resolve(ref)
        assert isinstance(got, rasv.tasks.Task) and got.id == first.id, ref
    assert find_task_id(ws, ws.tasks.list().id[0]) == first.id  # an id out of a DataFrame


def test_resolve_refuses_bools_floats_and_other_things(ws, tasks):
    for bad in (True, False, 1.0, 3.7, None, [1], b"1"):
        with pytest.raises(rasv.InvalidInput):
            ws.tasks.resolve(bad)
        with pytest.raises(rasv.InvalidInput):
            task_id_of(bad)
    with pytest.raises(rasv.InvalidInput):  # analysis used to take int(3.7) == 3
        ws.analyze(3.7)
    with pytest.raises(rasv.InvalidInput):
        ws.analyze(True)


def test_unknown_and_ambiguous_names_and_ids(ws, tasks):
    with pytest.raises(rasv.TaskNotFound, match="nope"):
        ws.tasks.resolve("nope")
    with pytest.raises(rasv.TaskNotFound, match="several tasks"):
        ws.tasks.resolve("twin")
    with pytest.raises(rasv.TaskNotFound):
        ws.tasks.resolve(99)
    with pytest.raises(rasv.TaskNotFound):
        ws.tasks.resolve("99")
    with pytest.raises(rasv.TaskNotFound):
        ws.takes.df(99)


def test_a_role_name_given_for_a_task_says_so_and_names_its_tasks(ws, role, tasks):
    with pytest.raises(rasv.TaskNotFound, match=r"role's name; give one of its tasks \(ids 1, 2, 3\)"):
        ws.scores.recommend(role.label)
    ws.roles.create("女-空")
    with pytest.raises(rasv.TaskNotFound, match="role has no tasks yet"):
        ws.scores.predict("女-空")


def test_a_name_means_the_current_version(ws, role, tasks):
    first = tasks[0]
    ws.tasks.run(first, rasv.testing.FakeEngine())
    v2 = ws.tasks.edit(first, vary={"top_k": [5, 15]})
    assert ws.tasks.resolve("k sweep").id == v2.id != first.id
    assert ws.tasks.resolve(first.id).archived  # an id still names the old version


def test_namespaces_accept_what_resolve_accepts(ws, tasks):
    assert len(ws.takes.df("k sweep")) == len(ws.takes.df(np.int64(1))) == 1
    with pytest.raises(rasv.InvalidInput):
        ws.takes.df(2.0)


def test_create_preview_edit_and_spec_files_read_one_argument_list():
    names = TaskArgs.names()
    meta = {"self", "role", "name", "conclusion"}
    for method in (Tasks.create, Tasks.preview):
        params = inspect.signature(method).parameters
        assert set(params) - meta == set(names), method.__name__
        for f in dataclasses.fields(TaskArgs):  # same defaults as the keyword arguments
            default = params[f.name].default
            if default is not inspect.Parameter.empty:  # texts is required
                assert default == f.default, (method.__name__, f.name)
    assert ("name", *names, "conclusion") == SPEC_KEYS


def test_task_args_refuse_unknown_names_and_rebuild_a_spec(ws, role, tasks):
    with pytest.raises(rasv.InvalidInput, match="unknown task argument"):
        TaskArgs.from_kwargs({"texts": ["a"], "top_k": 5})
    with pytest.raises(rasv.InvalidInput, match="unknown task argument"):
        TaskArgs(texts=["a"]).replace(temprature=0.5)
    with pytest.raises(rasv.InvalidInput, match="cannot edit top_k"):
        ws.tasks.edit(tasks[0], top_k=5)
    first = tasks[0]
    again = ws.tasks.preview(role, **dataclasses.asdict(
        TaskArgs.from_spec(first.spec, first.engine_kind)))
    assert again.spec == first.spec
