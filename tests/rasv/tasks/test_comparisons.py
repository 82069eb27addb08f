"""Every RefAudioSelectorV2 comparison type, run end to end: the engine gets the varied values.

RefAudioSelectorV2's top_p-only and temperature-only comparisons silently applied nothing
(research/seed-inventory.md §6.1); these tests read what the engine actually received.
"""

from __future__ import annotations

import shutil

import pytest

import rasv
from tests.rasv.taskkit import GsvRecorder, aux, clip, model


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A workspace with clips in two categories, checkpoints and aux clips, built once."""
    root = tmp_path_factory.mktemp("comparisons") / "ws"
    ws = rasv.open(root)
    role = ws.roles.create("男性-张三")
    ids = {
        "calm": [clip(ws, role, 4.0, category="温柔").id, clip(ws, role, 5.0, category="温柔").id],
        "angry": [clip(ws, role, 6.0, category="愤怒").id],
        "g": [model(ws, "gpt", "v2") for _ in range(3)],
        "s": [model(ws, "sovits", "v2") for _ in range(3)],
        "g3": model(ws, "gpt", "v3"),
        "s3": model(ws, "sovits", "v3"),
        "aux": [aux(ws).id, aux(ws).id],
    }
    ws.close()
    return root, ids


@pytest.fixture
def env(template, tmp_path):
    """A fresh copy of the template workspace: (ws, role, ids)."""
    root, ids = template
    shutil.copytree(root, tmp_path / "ws")
    ws = rasv.open(tmp_path / "ws")
    return ws, ws.roles.get("男性-张三"), ids


def _run(ws, role, name, **kwargs):
    kwargs.setdefault("texts", ["今天天气真好。", "你吃饭了吗？"])
    texts = kwargs.pop("texts")
    task = ws.tasks.create(role, name, texts, **kwargs)
    eng = GsvRecorder()
    run = ws.tasks.run(task, eng)
    assert run.progress.failed == 0 and task.counts().status == "done"
    assert len(eng.made) == len(task.plan())
    return task, eng


def _path(ws, model_id):
    return ws.store.scalar("SELECT path FROM models WHERE id = ?", [model_id])


def _pairs(ws, eng):
    return {(cur[0], cur[1]) for cur, _ in eng.made}


def test_refer_audio_compares_clip_categories(env):
    ws, role, setup = env
    task, eng = _run(ws, role, "refer_audio", vary={"clip": ["温柔", "愤怒"]},
                     gpt=setup["g"][0], sovits=setup["s"][0])
    refs = {req.ref_audio_path for _, req in eng.made}
    expected = {str(ws.clips.abspath(c)) for c in setup["calm"] + setup["angry"]}
    assert refs == expected
    plan = task.plan()
    assert sorted(set(plan.label)) == ["clip=愤怒", "clip=温柔"]
    # Each clip's own transcript goes with it as the prompt.
    assert {req.prompt_text for _, req in eng.made} == {"参考音频。"}


def test_gpt_model_compares_gpt_checkpoints(env):
    ws, role, setup = env
    _, eng = _run(ws, role, "gpt_model", clips=setup["calm"][:1], sovits=setup["s"][0],
                  vary={"gpt": setup["g"]})
    assert _pairs(ws, eng) == {(_path(ws, g), _path(ws, setup["s"][0])) for g in setup["g"]}


def test_vits_model_compares_sovits_checkpoints(env):
    ws, role, setup = env
    _, eng = _run(ws, role, "vits_model", clips=setup["calm"][:1], gpt=setup["g"][0],
                  vary={"sovits": setup["s"]})
    assert _pairs(ws, eng) == {(_path(ws, setup["g"][0]), _path(ws, s)) for s in setup["s"]}


@pytest.mark.parametrize(("name", "values", "fixed_name", "fixed_value"), [
    ("top_k", [5, 10, 15], "top_p", 0.9),
    ("top_p", [0.6, 0.8, 1.0], "top_k", 12),
    ("temperature", [0.5, 0.8, 1.0], "top_k", 12),
    ("speed_factor", [0.8, 1.0, 1.25], "temperature", 0.9),
    ("text_split_method", ["cut0", "cut1", "cut5"], "top_k", 12),
    ("repetition_penalty", [1.0, 1.35, 1.6], "top_k", 12),
])
def test_one_sampling_parameter_is_varied(env, name, values, fixed_name,
                                          fixed_value):
    ws, role, setup = env
    _, eng = _run(ws, role, name, clips=setup["calm"], gpt=setup["g"][0],
                  sovits=setup["s"][0], fixed={fixed_name: fixed_value}, vary={name: values})
    got = [getattr(req, name) for _, req in eng.made]
    assert set(got) == set(values)
    assert all(got.count(v) == 2 * 2 for v in values)  # 2 clips x 2 texts each
    assert {getattr(req, fixed_name) for _, req in eng.made} == {fixed_value}


def test_sample_steps_on_a_v3_model(env):
    ws, role, setup = env
    _, eng = _run(ws, role, "sample_steps", clips=setup["calm"][:1], gpt=setup["g3"],
                  sovits=setup["s3"], vary={"sample_steps": [4, 8, 16, 32]})
    assert {req.sample_steps for _, req in eng.made} == {4, 8, 16, 32}


def test_super_sampling_on_a_v3_model(env):
    ws, role, setup = env
    _, eng = _run(ws, role, "if_sr", clips=setup["calm"][:1], gpt=setup["g3"],
                  sovits=setup["s3"], vary={"super_sampling": [False, True]})
    assert {req.super_sampling for _, req in eng.made} == {False, True}


def test_inp_refs_compares_aux_sets(env):
    ws, role, setup = env
    a1, a2 = setup["aux"]
    _, eng = _run(ws, role, "inp_refs", clips=setup["calm"][:1], gpt=setup["g"][0],
                  sovits=setup["s"][0], vary={"aux": [[], [a1], [a1, a2]]})
    p1, p2 = str(ws.aux.abspath(a1)), str(ws.aux.abspath(a2))
    assert {tuple(sorted(req.aux_ref_audio_paths)) for _, req in eng.made} == {
        (), (p1,), tuple(sorted((p1, p2)))}


def test_kpt_compares_triples(env):
    ws, role, setup = env
    triples = [(5, 0.8, 0.7), (10, 0.9, 0.9), (15, 1.0, 1.0)]
    _, eng = _run(ws, role, "kpt", clips=setup["calm"][:1], gpt=setup["g"][0],
                  sovits=setup["s"][0],
                  combos=[{"top_k": k, "top_p": p, "temperature": t} for k, p, t in triples])
    assert {(r.top_k, r.top_p, r.temperature) for _, r in eng.made} == set(triples)


def test_gv_compares_model_pairs(env):
    ws, role, setup = env
    g, s = setup["g"], setup["s"]
    pairs = [(g[0], s[1]), (g[1], s[0]), (g[2], s[2])]
    _, eng = _run(ws, role, "gv", clips=setup["calm"][:1],
                  combos=[{"gpt": a, "sovits": b} for a, b in pairs])
    assert _pairs(ws, eng) == {(_path(ws, a), _path(ws, b)) for a, b in pairs}


def test_all_compares_whole_parameter_rows(env):
    ws, role, setup = env
    g, s, (a1, a2) = setup["g"], setup["s"], setup["aux"]
    rows = [
        {"gpt": g[0], "sovits": s[0], "top_k": 5, "top_p": 0.8, "temperature": 0.7,
         "text_split_method": "cut1", "speed_factor": 0.9, "aux": [a1]},
        {"gpt": g[1], "sovits": s[1], "top_k": 20, "top_p": 1.0, "temperature": 1.0,
         "text_split_method": "cut5", "speed_factor": 1.1, "aux": [a1, a2]},
    ]
    _, eng = _run(ws, role, "all", clips=setup["calm"][:1], combos=rows)
    seen = {(cur, r.top_k, r.top_p, r.temperature, r.text_split_method, r.speed_factor,
             len(r.aux_ref_audio_paths)) for cur, r in eng.made}
    assert seen == {
        ((_path(ws, row["gpt"]), _path(ws, row["sovits"])), row["top_k"], row["top_p"],
         row["temperature"], row["text_split_method"], row["speed_factor"], len(row["aux"]))
        for row in rows
    }


def test_every_request_carries_the_full_parameter_set_and_a_seed(env):
    ws, role, setup = env
    _, eng = _run(ws, role, "full", clips=setup["calm"], gpt=setup["g"][0],
                  sovits=setup["s"][0], fixed=rasv.Params(top_k=7, fragment_interval=0.2),
                  repeats=2)
    for _, req in eng.made:
        assert req.top_k == 7 and req.fragment_interval == 0.2 and req.seed >= 0
        assert req.prompt_lang == "zh" and req.text_lang == "zh"
    assert len({r.seed for _, r in eng.made}) == 2
