"""The listen-first order and its flags on the evaluation set, and the rules on their own."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rasv.analysis.suspicion import TAGS, Rules, combine, flags_for, ramp, score_takes

#: The tag each injected defect must raise.
EXPECTED_TAG = {
    "bursts": "electric_noise", "hum": "electric_noise", "repeat": "repetition",
    "cutoff": "cut_off", "pause": "long_pause", "clipping": "clipping",
}


@pytest.fixture(scope="module")
def order(eval_set, eval_measured):
    rows = [{"take_id": t.id, "text": t.text, **eval_measured[t.id][0]} for t in eval_set]
    details = {t.id: eval_measured[t.id][1] for t in eval_set}
    out = score_takes(pd.DataFrame(rows), details)
    defect = {t.id: t.defect for t in eval_set}
    return out.assign(defect=out.take_id.map(defect))


def test_defective_takes_come_first(order):
    top = order.head(math.ceil(0.2 * len(order)))
    found = top.defect.notna().sum() / order.defect.notna().sum()
    assert found >= 0.9, order[["take_id", "defect", "suspicion", "reason"]].head(15)
    assert list(order["rank"]) == list(range(1, len(order) + 1))


def test_each_defect_suggests_its_tag_with_a_reason(order):
    for row in order[order.defect.notna()].itertuples():
        tag = EXPECTED_TAG[row.defect]
        assert tag in row.flags, (row.take_id, row.reason)
        reason = next(r for r in row.reasons if r.startswith(TAGS[tag].label))
        assert reason.split(": ", 1)[1]


def test_burst_reason_names_the_times(order, eval_set):
    row = order[order.defect == "bursts"].iloc[0]
    reason = next(r for r in row.reasons if r.startswith("电音/electric noise"))
    assert "broadband burst" in reason and " s" in reason


def test_most_clean_takes_raise_no_flag(order):
    clean = order[order.defect.isna()]
    assert (clean.suspicion == 0).mean() >= 0.85


def test_ramp_and_combine():
    assert ramp(5, 0, 10) == 0.5 and ramp(float("nan"), 0, 1) == 0.0
    assert combine([1.0, 0.2]) == 1.0 and combine([0.2, 0.2]) == pytest.approx(0.36)


def test_pace_flags_both_ways_against_siblings():
    rows = pd.DataFrame({"take_id": list("abcdefg"), "text": ["t"] * 7,
                         "sec_per_unit": [0.25, 0.26, 0.24, 0.25, 0.26, 0.45, 0.1]})
    out = score_takes(rows).set_index("take_id")
    assert out.loc["f", "flags"] == ["repetition"] and "slow" in out.loc["f", "reason"]
    assert out.loc["g", "flags"] == ["swallowed"] and "fast" in out.loc["g", "reason"]
    assert out.loc["a", "flags"] == []


def test_repetition_baseline_of_a_self_repeating_text():
    # Every take of 谢谢谢谢 is self-similar: only the one clearly above its siblings counts.
    rows = pd.DataFrame({"take_id": list("abcd"), "text": ["谢谢谢谢"] * 4,
                         "repetition": [0.95, 0.95, 0.96, 0.999]})
    out = score_takes(rows).set_index("take_id")
    assert out.loc["a", "suspicion"] == 0.0
    assert out.loc["d", "flags"] == ["repetition"]


def test_asr_breakdown_becomes_tags():
    flags = flags_for({"asr_error_rate": 0.3, "asr_insertions": 0.0, "asr_deletions": 0.3,
                       "asr_substitutions": 0.0},
                      {"asr_deletions": {"deleted": ["公", "园"]},
                       "asr_error_rate": {"hypothesis": "我们去"}})
    assert [f.tag for f in flags] == ["swallowed"]
    assert "公 园" in flags[0].reason and "我们去" in flags[0].reason


def test_relative_rules_need_a_task_context():
    row = {"dnsmos_sig": 2.0, "sim_ref": 0.5}
    assert flags_for(row) == []
    found = flags_for(row, context={"dnsmos_sig": 3.2, "sim_ref": 0.8})
    assert {f.tag for f in found} == {"electric_noise", "timbre"}


def test_thresholds_are_tunable():
    row = {"max_pause_s": 0.9}
    assert flags_for(row)[0].tag == "long_pause"
    assert flags_for(row, rules=Rules(long_pause_s=(1.0, 2.0))) == []


def test_empty_table():
    assert score_takes(pd.DataFrame({"take_id": [], "text": []})).empty


def test_promise_ranks_good_unflagged_takes_high():
    rows = pd.DataFrame({"take_id": list("abcd"), "text": ["t"] * 4,
                         "dnsmos_ovrl": [3.5, 3.0, 2.5, 3.6], "clipped_fraction": [0, 0, 0, 0.01]})
    out = score_takes(rows).set_index("take_id")
    assert out["promise"].idxmax() == "a"
    assert out.loc["d", "promise"] == 0.0  # clipped: no promise however clean it sounds
    assert score_takes(rows.drop(columns="dnsmos_ovrl"))["promise"].isna().all()
