"""The scheduler alone: engine choice, one job per engine, failover, retries, limits."""

from __future__ import annotations

import threading
import time

import pytest

from rasv import SynthesisRequest
from rasv.errors import EngineRequestError, EngineUnavailable, NoEngine, QueueFull, TakeTimeout
from rasv.serving.scheduler import Job, running
from rasv.testing import FakeEngine


class Recording(FakeEngine):
    """A fake engine that logs loads and syntheses, counts overlap, and can be 'down'."""

    def __init__(self, name: str, latency_s: float = 0.02) -> None:
        super().__init__(name, latency_s=latency_s)
        self.loads: list[tuple] = []
        self.texts: list[str] = []
        self.inside = 0
        self.max_inside = 0
        self.down = False
        self.fail_next: Exception | None = None
        #: When set, a synthesis waits for it (a job held running for as long as a test needs).
        self.gate: threading.Event | None = None
        self._count = threading.Lock()

    def load(self, gpt, sovits):
        if self.down:
            raise EngineUnavailable(f"{self.name} is down")
        self.loads.append((gpt, sovits))

    def synthesize(self, req):
        if self.down:
            raise EngineUnavailable(f"{self.name} is down")
        if self.fail_next is not None:
            e, self.fail_next = self.fail_next, None
            raise e
        with self._count:
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
        try:
            self.texts.append(req.text)
            if self.gate is not None:
                self.gate.wait(30)
            return super().synthesize(req)
        finally:
            with self._count:
                self.inside -= 1

    def server_info(self, refresh=False):
        if self.down:
            raise EngineUnavailable(f"{self.name} is down")


def job(text="hi", pair=("g1", "s1"), **kw):
    return Job(SynthesisRequest(text=text, text_lang="en", ref_audio_path="r.wav"),
               kind="fake", gpt=pair[0], sovits=pair[1], **kw)


def test_one_job_in_flight_per_engine_and_all_done():
    engines = [Recording("a"), Recording("b")]
    with running(engines) as s:
        jobs = s.submit([job(f"t{i}", ("g", "s")) for i in range(20)])
        for j in jobs:
            assert j.wait(10).samples.size
    assert [e.max_inside for e in engines] == [1, 1]
    assert len(engines[0].texts) + len(engines[1].texts) == 20


def test_jobs_go_to_the_engine_that_has_their_pair():
    a, b = Recording("a"), Recording("b")
    with running([a, b]) as s:
        s.submit([job(pair=("g1", "s1"))])[0].wait(10)
        s.submit([job(pair=("g2", "s2"))])[0].wait(10)
        loads = len(a.loads) + len(b.loads)
        jobs = s.submit([job(f"x{i}", pair=("g1", "s1") if i % 2 else ("g2", "s2"))
                         for i in range(12)])
        for j in jobs:
            j.wait(10)
    assert len(a.loads) + len(b.loads) == loads == 2  # no switch after the first two loads
    holder = {j.pair: j.engine for j in jobs}
    assert all(j.engine == holder[j.pair] for j in jobs)


def test_a_third_pair_switches_one_engine_once():
    a, b = Recording("a", 0.01), Recording("b", 0.01)
    with running([a, b]) as s:
        jobs = s.submit([job(f"x{i}", pair=(f"g{i % 3}", f"s{i % 3}")) for i in range(30)])
        for j in jobs:
            j.wait(20)
    assert len(a.loads) + len(b.loads) <= 4  # 3 pairs on 2 engines: 3 loads, rarely 4


def test_dead_engine_is_taken_out_retried_elsewhere_and_brought_back():
    a, b = Recording("a"), Recording("b")
    with running([a, b], probe_s=0.05) as s:
        a.down = True
        jobs = s.submit([job(f"x{i}") for i in range(6)])
        for j in jobs:
            j.wait(10)
        assert {j.engine for j in jobs} == {"b"}
        assert s.health()["alive"] == 1
        a.down = False
        deadline = time.monotonic() + 5
        while s.health()["alive"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_transient_errors_retry_and_permanent_ones_fail_at_once():
    a = Recording("a")
    with running([a], attempts=3) as s:
        a.fail_next = EngineRequestError("500", status=500, transient=True)
        j = s.submit([job()])[0]
        assert j.wait(10).samples.size and j.attempts == 2
        a.fail_next = EngineRequestError("bad language", status=400, transient=False)
        j = s.submit([job()])[0]
        with pytest.raises(EngineRequestError, match="bad language"):
            j.wait(10)
        assert j.attempts == 1


def _until_running(engine: Recording) -> None:
    deadline = time.monotonic() + 30
    while engine.inside == 0:
        assert time.monotonic() < deadline, f"{engine.name} never started its job"
        time.sleep(0.01)


def test_full_queue_and_missing_kind_and_timeout():
    # Jobs are held running by a gate, not by a latency a loaded machine could outlast.
    slow = Recording("slow", latency_s=0.0)
    slow.gate = threading.Event()
    with running([slow], max_queue=2) as s:
        s.submit([job("a")])
        _until_running(slow)
        s.submit([job("b"), job("c")])
        with pytest.raises(QueueFull) as e:
            s.submit([job("d")])
        assert e.value.retry_after_s >= 1
        bad = Job(SynthesisRequest(text="x", text_lang="en", ref_audio_path="r"), kind="espeak")
        with pytest.raises(NoEngine, match="espeak"):
            s.submit([bad])
        late = job("e", timeout_s=0.05)
        s.cancel([])  # no-op
        with pytest.raises(QueueFull):
            s.submit([late])
        slow.gate.set()
    busy = Recording("x", latency_s=0.0)
    busy.gate = threading.Event()
    with running([busy]) as s:
        s.submit([job("first")])
        _until_running(busy)
        j = s.submit([job("second", timeout_s=0.1)])[0]
        with pytest.raises(TakeTimeout):
            j.wait()
        busy.gate.set()
