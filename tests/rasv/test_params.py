"""The GPT-SoVITS defaults are one table, pinned to upstream's documented api_v2 defaults."""

from __future__ import annotations

import dataclasses

from rasv.engine import SynthesisRequest
from rasv.params import API_V2_DEFAULTS, Params

#: ``api_v2.py``'s ``/tts`` defaults as upstream documents them (its docstring and the
#: ``TTS_Request`` model; top_k 15 since 2025-12-19). Written out here, not imported, so a
#: change to rasv's table has to be a deliberate change to this test too.
UPSTREAM_API_V2 = {
    "top_k": 15, "top_p": 1.0, "temperature": 1.0, "text_split_method": "cut5",
    "batch_size": 1, "batch_threshold": 0.75, "split_bucket": True, "speed_factor": 1.0,
    "fragment_interval": 0.3, "seed": -1, "media_type": "wav", "streaming_mode": 0,
    "parallel_infer": True, "repetition_penalty": 1.35, "sample_steps": 32,
    "super_sampling": False, "overlap_length": 2, "min_chunk_length": 16,
}


def test_table_matches_upstream() -> None:
    assert API_V2_DEFAULTS == UPSTREAM_API_V2


def test_params_and_request_take_their_defaults_from_the_table() -> None:
    p, r = Params(), SynthesisRequest(text="t", text_lang="en", ref_audio_path="r")
    for name, value in API_V2_DEFAULTS.items():
        if hasattr(p, name) and name != "seed":  # Params' seed None = chosen by the task
            assert getattr(p, name) == value, name
        assert getattr(r, name) == value, name


def test_every_params_field_reaches_the_request() -> None:
    changed = Params(top_k=3, top_p=0.5, temperature=0.7, text_split_method="cut1",
                     speed_factor=1.2, sample_steps=8, super_sampling=True,
                     repetition_penalty=1.1, batch_size=2, fragment_interval=0.1,
                     parallel_infer=False, split_bucket=False, batch_threshold=0.5, seed=7)
    r = SynthesisRequest.from_params(changed, text="t", text_lang="en", ref_audio_path="r",
                                     prompt_text="p", prompt_lang="en")
    for f in dataclasses.fields(Params):
        if f.name == "extra":
            continue
        assert getattr(r, f.name) == getattr(changed, f.name), f.name
