"""The engine contract's helpers for the runner: transient vs permanent, the 3-10 s rule."""

from __future__ import annotations

import numpy as np
import pytest

import rasv
from rasv.audio.files import write_wav
from rasv.engine import Capabilities, capabilities_for_version, check_reference, is_transient


@pytest.mark.parametrize(("exc", "transient"), [
    (rasv.EngineUnavailable("down"), True),
    (rasv.EngineRequestError("5xx", status=500, transient=True), True),
    (rasv.EngineRequestError("bad", status=400), False),
    (rasv.CapabilityError("v1 has no ko"), False),
    (rasv.ReferenceOutOfRange("2 s"), False),
    (ConnectionResetError(), True),
    (TimeoutError(), True),
    (ValueError("x"), False),
])
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


@pytest.mark.parametrize(("seconds", "ok"), [(2.99, False), (3.0, True), (10.0, True), (10.01, False)])
def test_reference_rule_is_inclusive(tmp_path, seconds, ok):
    p = tmp_path / "r.wav"
    write_wav(p, np.zeros(int(seconds * 32000), dtype=np.float32), 32000)
    caps = capabilities_for_version("v2")
    if ok:
        assert check_reference(p, caps) == pytest.approx(seconds)
    else:
        with pytest.raises(rasv.ReferenceOutOfRange, match="3-10 s"):
            check_reference(p, caps)


def test_reference_rule_skipped_without_one_and_missing_file(tmp_path):
    assert check_reference(tmp_path / "nope.wav", Capabilities(kind="x", ref_duration_s=None)) is None
    with pytest.raises(rasv.AudioError, match="not found"):
        check_reference(tmp_path / "nope.wav", capabilities_for_version("v2"))


def test_one_reference_rule_for_catalogue_tasks_and_engine(tmp_path):
    """The 3–10 s rule is one function: the catalogue, task validation and the pre-check agree."""
    from rasv.clips import is_valid_reference
    from rasv.engine import reference_in_range
    from rasv.errors import ReferenceOutOfRange

    caps = capabilities_for_version("v2")
    for n in (47_999, 48_000, 160_000, 160_001):
        path = tmp_path / f"r{n}.wav"
        write_wav(path, np.zeros(n, dtype=np.float32), 16_000)
        ok = reference_in_range(n / 16_000)
        assert is_valid_reference(n / 16_000) is ok
        assert ok is (48_000 <= n <= 160_000)
        if ok:
            assert check_reference(path, caps) == pytest.approx(n / 16_000)
        else:
            with pytest.raises(ReferenceOutOfRange):
                check_reference(path, caps)
