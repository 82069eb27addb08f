"""ws.analysis over a task: metrics cached with backend and version, progress, background
mode, failures kept per take, and the listen-first order."""

from __future__ import annotations

import threading

import pytest

import rasv
from rasv.analysis.silence import Silence
from rasv.analysis.speech import resolve_vad
from rasv.errors import BackendUnavailable, InvalidInput, TaskNotFound

CHEAP = ["silence", "clipping", "noise", "ending", "repetition", "pace"]


@pytest.fixture
def small(eval_set):
    """Two texts' clean takes plus their defective takes."""
    texts = {eval_set[0].text, eval_set[-1].text}
    return [t for t in eval_set if t.text in texts]


def _count(ws, sql="SELECT count(*) FROM metrics"):
    return ws.store.scalar(sql)


def test_run_stores_every_metric_with_backend_and_version(ws, small, add_task):
    task = add_task(ws, small)
    seen = []
    report = ws.analyze(task, metrics=CHEAP, progress=lambda d, n: seen.append((d, n)))
    assert (report.takes, report.computed, report.cached, report.failed) == (len(small), len(small), 0, [])
    assert seen[-1] == (len(small), len(small)) and len(seen) == len(small)
    rows = ws.sql("SELECT name, backend, version, count(*) AS n FROM metrics GROUP BY ALL")
    assert set(rows.n) == {len(small)}
    assert rows.set_index("name").loc["hum_db", "backend"] == f"dsp+{resolve_vad('auto')}"
    assert rows.set_index("name").loc["lead_silence_s", "version"] == Silence.version


def test_second_run_is_cached_and_a_new_version_recomputes(ws, small, add_task, monkeypatch):
    task = add_task(ws, small)
    ws.analysis.run(task, CHEAP)
    before = ws.sql("SELECT take_id, name, created_at FROM metrics ORDER BY ALL")
    again = ws.analysis.run(task, CHEAP)
    assert (again.computed, again.cached) == (0, len(small))
    assert before.equals(ws.sql("SELECT take_id, name, created_at FROM metrics ORDER BY ALL"))

    monkeypatch.setattr(Silence, "version", "2")
    calls = []
    real = Silence.measure
    monkeypatch.setattr(Silence, "measure", lambda self, sig: calls.append(1) or real(self, sig))
    third = ws.analysis.run(task, CHEAP)
    assert third.computed == len(small) and len(calls) == len(small)
    versions = ws.sql("SELECT DISTINCT version FROM metrics WHERE name = 'max_pause_s'")
    assert versions.version.tolist() == ["2"]
    assert _count(ws) == len(small) * 15  # replaced, not duplicated


def test_force_recomputes(ws, small, add_task):
    task = add_task(ws, small[:3])
    ws.analysis.run(task, ["clipping"])
    assert ws.analysis.run(task, ["clipping"], force=True).computed == 3


def test_only_finished_takes_are_analysed_and_a_missing_file_fails_alone(ws, small, add_task):
    task = add_task(ws, small[:4])
    pending = add_task(ws, small[4:6], name="pending", status="pending")
    ws.store.rows("UPDATE task_takes SET task_id = ? WHERE task_id = ?", [task, pending])
    lost = ws.sql("SELECT audio_path FROM takes ORDER BY id LIMIT 1").audio_path[0]
    ws.abspath(lost).unlink()
    report = ws.analysis.run(task, ["clipping"])
    assert report.takes == 4 and report.not_done == 2
    assert report.computed == 3 and len(report.failed) == 1
    assert "not found" in report.failed[0][1]


def test_background_run_reports_progress_and_can_be_cancelled(ws, small, add_task):
    task = add_task(ws, small)
    run = ws.analysis.run(task, CHEAP, background=True)
    report = run.wait(timeout=60)
    assert run.done and report.computed == len(small) and run.progress == (len(small), len(small))

    task2 = add_task(ws, small, name="second")
    gate = threading.Event()
    go = threading.Event()

    def slow(done, total):
        if done == 1:
            gate.set()
            go.wait(10)

    run2 = ws.analysis.run(task2, ["clipping"], background=True, progress=slow, force=True)
    assert gate.wait(10)
    run2.cancel()
    go.set()
    report2 = run2.wait(timeout=60)
    assert report2.cancelled and report2.computed == 1


def test_suspicion_orders_a_task_and_df_is_wide(ws, small, add_task):
    task = add_task(ws, small)
    ws.analysis.run(task, CHEAP)
    order = ws.analysis.suspicion(task)
    assert len(order) == len(small)
    defects = {f"analysis_test-{t.id}" for t in small if t.defect}
    assert set(order.take_id[: len(defects)]) == defects
    assert all(order.suspicion.iloc[i] >= order.suspicion.iloc[i + 1] for i in range(len(order) - 1))
    wide = ws.analysis.df(task)
    assert {"take_id", "text", "hum_db", "repetition", "pace_z"} <= set(wide.columns)
    assert len(wide) == len(small)


def test_dnsmos_is_stored_too(ws, small, add_task):
    task = add_task(ws, small[:2])
    ws.analysis.run(task, ["dnsmos_ovrl"])
    names = set(ws.sql("SELECT DISTINCT name FROM metrics").name)
    assert names == {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}
    assert set(ws.sql("SELECT DISTINCT backend FROM metrics").backend) == {"dnsmos-onnx"}


def test_asr_with_an_injected_recognizer(ws, small, add_task):
    class Echo:
        name, version = "echo", "7"

        def transcribe(self, samples, lang):
            return "wrong words entirely"

    task = add_task(ws, small[:2])
    ws.analysis.run(task, ["asr"], asr=Echo())
    row = ws.sql("SELECT * FROM metrics WHERE name = 'asr_error_rate' LIMIT 1")
    assert row.backend[0] == "echo" and row.version[0] == "1+7" and row.value[0] > 0.5


def test_clear_errors(ws, small, add_task, monkeypatch):
    with pytest.raises(TaskNotFound):
        ws.analysis.run(12345)
    task = add_task(ws, small[:1])
    with pytest.raises(InvalidInput, match="unknown metric"):
        ws.analysis.run(task, ["loudness_war"])
    monkeypatch.delenv("RASV_ASR_MODEL", raising=False)
    with pytest.raises(BackendUnavailable):
        ws.analysis.run(task, ["asr"])
    dets, skipped = ws.analysis.detectors(None)
    assert "asr" not in [d.name for d in dets] and skipped == []


def test_measure_arrays_without_a_workspace(eval_set):
    t = next(x for x in eval_set if x.defect == "clipping")
    m = rasv.analysis.measure(t.samples, t.sample_rate, metrics=["clipping"])
    assert m["clipped_fraction"] > 1e-3


def test_a_task_without_metrics_or_takes(ws, small, add_task):
    empty = add_task(ws, [], name="empty")
    assert ws.analysis.df(empty).empty and ws.analysis.suspicion(empty).empty
    assert ws.analysis.run(empty).takes == 0
    task = add_task(ws, small[:2])
    assert ws.analysis.df(task).take_id.notna().all()
    assert ws.analysis.suspicion(task).empty  # not analysed yet


def test_another_vad_is_another_backend(ws, small, add_task):
    task = add_task(ws, small[:3])
    ws.analysis.run(task, ["silence"], vad="energy")
    assert set(ws.sql("SELECT DISTINCT backend FROM metrics").backend) == {"energy"}
    if resolve_vad("auto") == "silero":
        assert ws.analysis.run(task, ["silence"], vad="silero").computed == 3
        assert set(ws.sql("SELECT DISTINCT backend FROM metrics").backend) == {"silero"}
