"""An engine whose process is gone (EngineGone) is dropped at once: no retries, no take lost."""

from __future__ import annotations

import threading

import rasv
from rasv.testing import FakeEngine
from tests.rasv.taskkit import clip


class Vanishing(FakeEngine):
    """Makes ``good`` takes, then says its process is gone (as a dead Ray actor does)."""

    def __init__(self, name: str, good: int) -> None:
        super().__init__(name, latency_s=0.01)
        self.good = good
        self.died = threading.Event()

    def synthesize(self, req):  # type: ignore[no-untyped-def]
        if len(self.calls) >= self.good:
            self.calls.append(req)
            self.died.set()
            raise rasv.EngineGone(f"{self.name}: its Ray actor died")
        return super().synthesize(req)


def test_a_gone_engine_is_dropped_without_retries_and_its_take_made_elsewhere(ws, role):
    task = ws.tasks.create(role, "gone", [f"第{i}句。" for i in range(5)],
                           clips=[clip(ws, role)], repeats=4, engine="fake")
    gone = Vanishing("gone", good=3)

    class AfterGone(FakeEngine):
        # Answers once "gone" has died: a loaded machine could otherwise give "gone" so few
        # turns that "steady" made every take before "gone" reached its fourth call.
        def synthesize(self, req):  # type: ignore[no-untyped-def]
            gone.died.wait(30)
            return super().synthesize(req)

    steady = AfterGone("steady", latency_s=0.01)
    events: list[rasv.RunEvent] = []
    run = ws.tasks.run(task, [gone, steady], on_event=events.append, backoff_s=5.0)
    assert (run.progress.done, run.progress.failed) == (20, 0)
    assert len(gone.calls) == 4  # three takes, then one call that found it gone
    assert not [e for e in events if e.kind == "take_retry"]
    down = [e for e in events if e.kind == "engine_down"]
    assert [e.engine for e in down] == ["gone"] and "died" in down[0].error
    assert set(task.plan().engine) == {"gone", "steady"}


def test_a_gone_engine_while_loading_is_dropped_at_once(ws, role):
    class GoneOnLoad(FakeEngine):
        def load(self, gpt, sovits):  # type: ignore[no-untyped-def]
            raise rasv.EngineGone("loader: its Ray actor died")

    task = ws.tasks.create(role, "gone-load", ["一。", "二。"], clips=[clip(ws, role)],
                           repeats=2, engine="fake")
    events: list[rasv.RunEvent] = []
    run = ws.tasks.run(task, [GoneOnLoad("loader"), FakeEngine("steady")],
                       on_event=events.append, backoff_s=5.0)
    assert run.progress.done == 4
    assert not [e for e in events if e.kind == "take_retry"]
