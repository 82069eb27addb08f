"""Grid expansion and take ids: sizes, uniqueness, stability (property-based)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rasv
from rasv.params import Params
from rasv.tasks.grid import (
    DEFAULT_SEED,
    ClipGroup,
    ClipInfo,
    TaskSpec,
    TextRef,
    derive_seeds,
    expand,
    take_id,
)

HEX = "0123456789abcdef"
sha = st.text(HEX, min_size=64, max_size=64)
texts = st.lists(st.text(min_size=1, max_size=12).filter(str.strip), min_size=1, max_size=3,
                 unique=True)
small_unique = lambda s, n=3: st.lists(s, min_size=1, max_size=n, unique=True)  # noqa: E731

vary_strategy = st.fixed_dictionaries(
    {},
    optional={
        "top_k": small_unique(st.integers(1, 50)),
        "top_p": small_unique(st.sampled_from([0.3, 0.5, 0.8, 1.0])),
        "temperature": small_unique(st.sampled_from([0.5, 0.7, 1.0, 1.3])),
        "speed_factor": small_unique(st.sampled_from([0.8, 1.0, 1.2])),
        "text_split_method": small_unique(st.sampled_from(["cut0", "cut1", "cut5"])),
        "aux": small_unique(st.sampled_from([(), (1,), (1, 2)])),
    },
)


def _clips(n: int) -> dict[int, ClipInfo]:
    return {i: ClipInfo(i, f"{i:064x}", f"prompt {i}", "zh") for i in range(1, n + 1)}


AUX = {1: rasv.tasks.grid.AuxInfo(1, "a" * 64), 2: rasv.tasks.grid.AuxInfo(2, "b" * 64)}


@settings(max_examples=60, deadline=None)
@given(vary=vary_strategy, n_clips=st.integers(1, 3), text_list=texts,
       repeats=st.integers(1, 3))
def test_grid_size_is_the_product_and_ids_are_unique(vary, n_clips, text_list, repeats):
    spec = TaskSpec(texts=tuple(TextRef(t, "zh") for t in text_list),
                    clips=tuple(range(1, n_clips + 1)), vary=vary, repeats=repeats)
    expected = n_clips * len(text_list) * repeats
    for values in vary.values():
        expected *= len(values)
    takes = expand(spec, "fake", clips=_clips(n_clips), aux=AUX)
    assert spec.size() == expected == len(takes)
    assert len({t.take_id for t in takes}) == expected
    assert [t.ord for t in takes] == list(range(expected))


@settings(max_examples=40, deadline=None)
@given(vary=vary_strategy, text_list=texts)
def test_ids_do_not_depend_on_the_order_of_vary(vary, text_list):
    a = TaskSpec(texts=tuple(TextRef(t, "zh") for t in text_list), clips=(1, 2), vary=vary)
    b = TaskSpec(texts=tuple(TextRef(t, "zh") for t in text_list), clips=(1, 2),
                 vary=dict(reversed(list(vary.items()))))
    ids_a = [t.take_id for t in expand(a, "fake", clips=_clips(2), aux=AUX)]
    ids_b = [t.take_id for t in expand(b, "fake", clips=_clips(2), aux=AUX)]
    assert ids_a == ids_b


@settings(max_examples=60, deadline=None)
@given(shas=st.lists(sha, min_size=0, max_size=4, unique=True), data=st.data())
def test_id_ignores_aux_order_and_changes_with_everything_else(shas, data):
    base = dict(engine_kind="gpt-sovits", clip_sha256="c" * 64, text="你好", text_lang="zh",
                prompt_text="参考", prompt_lang="zh", params=Params(seed=1),
                gpt_sha256="1" * 64, sovits_sha256="2" * 64, aux_sha256s=shas)
    shuffled = data.draw(st.permutations(shas))
    assert take_id(**base) == take_id(**{**base, "aux_sha256s": shuffled})
    changes = {
        "engine_kind": "fake",
        "clip_sha256": "d" * 64,
        "text": "你好吗",
        "text_lang": "all_zh",
        "prompt_text": "参考。",
        "prompt_lang": "ja",
        "params": Params(seed=2),
        "gpt_sha256": "3" * 64,
        "sovits_sha256": "4" * 64,
        "aux_sha256s": [*shas, "e" * 64],
    }
    name = data.draw(st.sampled_from(sorted(changes)))
    assert take_id(**base) != take_id(**{**base, name: changes[name]})


@pytest.mark.parametrize("change", [
    {"top_k": 5}, {"top_p": 0.8}, {"temperature": 0.7}, {"text_split_method": "cut1"},
    {"speed_factor": 1.1}, {"sample_steps": 8}, {"super_sampling": True},
    {"repetition_penalty": 1.2}, {"batch_size": 4}, {"fragment_interval": 0.1},
    {"extra": {"noise_scale": 0.4}},
])
def test_every_parameter_is_in_the_id(change):
    kw = dict(engine_kind="x", clip_sha256="c" * 64, text="a", text_lang="en",
              prompt_text="b", prompt_lang="en")
    assert take_id(**kw, params=Params(seed=3)) != take_id(**kw, params=Params(seed=3, **change))


def test_numerically_equal_values_give_one_id():
    kw = dict(engine_kind="x", clip_sha256="c" * 64, text="a", text_lang="EN",
              prompt_text="b", prompt_lang="en")
    assert take_id(**kw, params=Params(top_p=1, seed=3)) == take_id(
        **{**kw, "text_lang": "en"}, params=Params(top_p=1.0, seed=3))


def test_seeds_are_fixed_and_never_random():
    assert DEFAULT_SEED >= 0
    assert derive_seeds(3) == derive_seeds(3)
    assert derive_seeds(5)[:3] == derive_seeds(3)
    assert all(0 <= s < 2**31 for s in derive_seeds(200))
    spec = TaskSpec(texts=(TextRef("a", "en"),), clips=(1,))
    assert [t.params.seed for t in expand(spec, "fake", clips=_clips(1))] == [DEFAULT_SEED]
    with pytest.raises(rasv.TaskError):
        take_id(engine_kind="x", clip_sha256="c", text="a", text_lang="en", prompt_text="",
                prompt_lang="en", params=Params(seed=-1))


@settings(max_examples=40, deadline=None)
@given(vary=vary_strategy, combos=st.lists(
    st.fixed_dictionaries({"top_k": st.integers(1, 9)}, optional={"temperature": st.sampled_from([0.5, 1.0])}),
    max_size=3, unique_by=lambda d: tuple(sorted(d.items()))))
def test_spec_json_round_trip(vary, combos):
    vary = {k: v for k, v in vary.items() if k not in {n for c in combos for n in c}}
    spec = TaskSpec(texts=(TextRef("中文", "zh", 3), TextRef("x", "en")), clips=(2, 1),
                    clip_categories=("a",), vary={**vary, "clip": [ClipGroup((1, 2), "a")]},
                    combos=tuple(combos), seeds=(4, 5), aux=(2, 1))
    again = TaskSpec.from_json(spec.to_json())
    assert again == spec
    assert [c.label() for c in again.combinations()] == [c.label() for c in spec.combinations()]


def test_combos_cross_vary_and_override_fixed():
    spec = TaskSpec(texts=(TextRef("a", "en"),), clips=(1,), fixed=Params(top_k=3, top_p=0.5),
                    vary={"speed_factor": (0.9, 1.1)},
                    combos=({"top_k": 5, "top_p": 0.8}, {"temperature": 0.7}))
    rows = [(c.params.speed_factor, c.params.top_k, c.params.top_p, c.params.temperature)
            for c in spec.combinations()]
    assert rows == [(0.9, 5, 0.8, 1.0), (0.9, 3, 0.5, 0.7), (1.1, 5, 0.8, 1.0),
                    (1.1, 3, 0.5, 0.7)]
    assert spec.varied_names() == {"speed_factor", "top_k", "top_p", "temperature"}


def test_a_combination_clip_group_replaces_the_task_clips():
    spec = TaskSpec(texts=(TextRef("a", "en"),), clips=(1,),
                    vary={"clip": (ClipGroup((1, 2), "calm"), ClipGroup((3,)))})
    takes = expand(spec, "fake", clips=_clips(3))
    assert [(t.combo, t.clip_id) for t in takes] == [(0, 1), (0, 2), (1, 3)]
    assert [c.label() for c in spec.combinations()] == ["clip=calm", "clip=3"]


def test_repeated_takes_are_dropped():
    # Two cells that make the same audio (same clip content) give one take.
    clips = {1: ClipInfo(1, "a" * 64, "p", "en"), 2: ClipInfo(2, "a" * 64, "p", "en")}
    spec = TaskSpec(texts=(TextRef("a", "en"),), clips=(1, 2))
    assert len(expand(spec, "fake", clips=clips)) == 1


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"vary": {"speed": [1.0]}}, rasv.InvalidInput, "did you mean 'speed_factor'"),
    ({"vary": {"top_k": []}}, rasv.EmptyGrid, "empty"),
    ({"vary": {"top_k": [5, 5]}}, rasv.InvalidInput, "more than once"),
    ({"vary": {"top_k": 5}}, rasv.InvalidInput, "list of values"),
    ({"vary": {"top_p": [0.0]}}, rasv.InvalidInput, "top_p"),
    ({"vary": {"top_k": [1, 2]}, "combos": ({"top_k": 3},)}, rasv.TaskError, "one place"),
    ({"combos": ({},)}, rasv.InvalidInput, "empty"),
    ({"combos": ({"top_k": 1}, {"top_k": 1})}, rasv.InvalidInput, "more than once"),
    ({"seeds": (1,), "repeats": 2}, rasv.TaskError, "several places"),
    ({"seeds": (1,), "fixed": Params(seed=2)}, rasv.TaskError, "several places"),
    ({"seeds": (1, 1)}, rasv.InvalidInput, "more than once"),
    ({"seeds": (-1,)}, rasv.InvalidInput, "seed"),
    ({"repeats": 0}, rasv.InvalidInput, "repeats"),
])
def test_bad_specs_are_refused_with_a_reason(kwargs, error, match):
    with pytest.raises(error, match=match):
        TaskSpec(texts=(TextRef("a", "en"),), clips=(1,), **kwargs)


def test_duplicate_texts_and_empty_clips_are_refused():
    with pytest.raises(rasv.InvalidInput, match="more than once"):
        TaskSpec(texts=(TextRef("a", "en"), TextRef("a", "en")), clips=(1,))
    with pytest.raises(rasv.EmptyGrid):
        expand(TaskSpec(texts=(TextRef("a", "en"),)), "fake", clips={})


def test_size_matches_itertools():
    spec = TaskSpec(texts=(TextRef("a", "en"), TextRef("b", "en")), clips=(1, 2, 3),
                    vary={"top_k": (1, 2, 3), "top_p": (0.5, 1.0)}, seeds=(1, 2))
    assert spec.size() == len(list(itertools.product(range(3), range(2), range(3), range(2),
                                                     range(2))))
