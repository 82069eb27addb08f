"""RayPool on a local Ray this module starts once: fakes, espeak, the node-local file cache,
lost actors, a lost driver, pair order, progress and cancel.

Actors here reserve no CPU (``num_cpus=0``): the Ray they share may be the two-CPU one a
doctest started, and these engines mostly sleep.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
import ray
from click.testing import CliRunner

import rasv
from gsv_bridge import EspeakEngine, GsvServer, RayPool
from gsv_bridge.ray_pool import start_local_ray
from rasv.cli import main
from rasv.engine import capabilities_for_version
from rasv.errors import EngineRequestError
from rasv.testing import FakeEngine, make_gsv_root
from tests.rasv.taskkit import aux, clip, kill_run_after, model, take_files

REPO = Path(__file__).resolve().parents[2]

# Classes below travel to the actors by value: the workers need not import this test module.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray (loopback, CPU only) for the whole module; reused if one is up."""
    started = not ray.is_initialized()
    if started and os.environ.get("RASV_TEST_RAY_ADDRESS"):
        # An existing cluster (a slow machine's head started once, or a real one).
        ray.init(address=os.environ["RASV_TEST_RAY_ADDRESS"], logging_level="ERROR",
                 log_to_driver=False)
    elif started:
        start_local_ray(4)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


class GsvFake(FakeEngine):
    """A fake engine that says it is GPT-SoVITS, so tasks with checkpoints run on it."""

    def capabilities(self):  # type: ignore[no-untyped-def]
        return dataclasses.replace(capabilities_for_version("v2"), kind="gpt-sovits")


class Sealed:
    """A factory whose actor works in another folder and refuses any path of the workspace.

    It moves the actor to ``cwd``, records every file the actor's Python opens or lists under
    ``forbidden`` (an audit hook), and makes each engine call fail loudly if the engine was
    handed such a path or the hook saw one, so a run's failed count tells the test.
    """

    def __init__(self, inner, cwd: str, forbidden: str) -> None:
        self.inner = inner
        self.cwd = cwd
        self.forbidden = forbidden

    def __call__(self):  # type: ignore[no-untyped-def]
        os.chdir(self.cwd)
        seen: list[str] = []
        forbidden = self.forbidden

        def hook(event: str, args: tuple) -> None:
            if event in ("open", "os.listdir", "os.scandir", "os.chdir", "os.remove",
                         "os.rename", "shutil.copyfile") and args:
                p = args[0]
                if isinstance(p, (str, bytes, os.PathLike)) and \
                        os.fsdecode(p).startswith(forbidden):
                    seen.append(os.fsdecode(p))

        sys.addaudithook(hook)
        made = self.inner()
        if not hasattr(made, "synthesize"):  # a GsvServer: start it, watch its engine
            made.start()
        return Watched(made, forbidden, seen)


class Watched:
    """Wraps an engine; any workspace path in a call (or opened by the actor) fails it."""

    def __init__(self, made, forbidden: str, seen: list[str]) -> None:
        self.made = made
        self.engine = getattr(made, "engine", made)
        self.name = self.engine.name
        self.forbidden = forbidden
        self.seen = seen

    def _check(self, *paths) -> None:  # type: ignore[no-untyped-def]
        bad = [str(p) for p in paths if p is not None and str(p).startswith(self.forbidden)]
        if bad or self.seen:
            raise EngineRequestError(f"the actor touched the workspace: {bad or self.seen}")
        missing = [str(p) for p in paths if p is not None and not Path(p).is_file()]
        if missing:
            raise EngineRequestError(f"not on this node: {missing}")

    def capabilities(self):  # type: ignore[no-untyped-def]
        return self.engine.capabilities()

    def load(self, gpt, sovits) -> None:  # type: ignore[no-untyped-def]
        self._check(gpt, sovits)
        self.engine.load(gpt, sovits)

    def synthesize(self, req):  # type: ignore[no-untyped-def]
        self._check(req.ref_audio_path, *req.aux_ref_audio_paths)
        audio = self.engine.synthesize(req)
        self._check()
        return audio

    def stop(self) -> None:
        if hasattr(self.made, "stop"):
            self.made.stop()


def _task(ws, role, n_texts: int, repeats: int, n_clips: int = 2, engine: str = "fake"):
    clips = [clip(ws, role, 4.0 + i * 0.5) for i in range(n_clips)]
    return ws.tasks.create(role, "ray", [f"第{i}句。" for i in range(n_texts)], clips=clips,
                           repeats=repeats, engine=engine)


def test_fake_engines_make_every_take_and_the_driver_alone_writes(ws, role, tmp_path):
    task = _task(ws, role, n_texts=3, repeats=4)
    with RayPool(3, functools.partial(FakeEngine, "fake", latency_s=0.01), num_cpus=0,
                 cache_dir=tmp_path / "cache") as pool:
        names = [e.name for e in pool.engines]
        assert len(set(names)) == 3 and all(n.startswith("fake@") for n in names)
        run = ws.tasks.run(task, pool.engines)
        stats = pool.stats()
    assert (run.progress.done, run.progress.failed) == (24, 0)
    assert set(task.plan().engine) <= set(names)
    # Two clips on one node: each file crossed the object store once, whichever actor asked.
    assert sum(s.fetched for s in stats) == 2
    assert {s.pid for s in stats}.isdisjoint({os.getpid()})


def test_actors_that_cannot_see_the_workspace_get_their_files_by_hash(ws, role, tmp_path):
    g = [model(ws, "gpt") for _ in range(2)]
    s = model(ws, "sovits")
    clips = [clip(ws, role, 4.0), clip(ws, role, 4.5)]
    extra = aux(ws)
    task = ws.tasks.create(role, "sealed", ["一。", "二。"], clips=clips,
                           vary={"gpt": g}, sovits=s, aux=[extra.id], repeats=2)
    elsewhere, cache = tmp_path / "actor-cwd", tmp_path / "node-cache"
    elsewhere.mkdir()
    factory = Sealed(functools.partial(GsvFake, "sealed"), str(elsewhere), str(ws.root))
    with RayPool(2, factory, num_cpus=0, cache_dir=cache) as pool:
        run = ws.tasks.run(task, pool.engines)
        stats = pool.stats()
    assert (run.progress.done, run.progress.failed) == (16, 0), task.plan().error.dropna()
    assert {st.cwd for st in stats} == {str(elsewhere)}
    # Every clip and checkpoint sits in the node cache under its hash, with its own name.
    cached = {p.name for p in cache.glob("*/*") if not p.name.startswith(".")}
    names = {Path(ws.clips.abspath(c.id)).name for c in clips}
    names |= {Path(ws.models.get(m).path).name for m in (*g, s)}
    names.add(Path(ws.aux.abspath(extra.id)).name)
    assert cached == names
    assert sum(st.fetched for st in stats) == len(names)
    loaded = [p for st in stats for pair in st.loads for p in pair]
    assert loaded and all(p.startswith(str(cache)) for p in loaded)


def test_the_espeak_engine_speaks_on_an_actor_from_the_cached_reference(ws, role, tmp_path):
    task = _task(ws, role, n_texts=2, repeats=1, engine="espeak")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    factory = Sealed(EspeakEngine, str(elsewhere), str(ws.root))
    with RayPool(1, factory, num_cpus=0, cache_dir=tmp_path / "cache") as pool:
        run = ws.tasks.run(task, pool.engines)
    assert (run.progress.done, run.progress.failed) == (4, 0), task.plan().error.dropna()
    durations = task.plan().duration_s
    assert (durations > 0.3).all()


def test_an_actor_starts_its_own_server_and_reads_references_from_its_cache(ws, role,
                                                                            tmp_path):
    g, s = model(ws, "gpt"), model(ws, "sovits")
    task = ws.tasks.create(role, "served", ["一。", "二。"], clips=[clip(ws, role)],
                           gpt=g, sovits=s, repeats=2)
    root = make_gsv_root(tmp_path / "GPT-SoVITS")  # a stand-in api_v2.py (real HTTP)
    server = functools.partial(GsvServer, root, python=sys.executable, device="cpu",
                               workdir=tmp_path / "srv", startup_timeout=120)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    with RayPool(1, Sealed(server, str(elsewhere), str(ws.root)), num_cpus=0,
                 cache_dir=tmp_path / "cache") as pool:
        run = ws.tasks.run(task, pool.engines)
        (eng,) = pool.engines
        assert eng.name.startswith("http://127.0.0.1:")
    assert (run.progress.done, run.progress.failed) == (4, 0), task.plan().error.dropna()
    # Closing the pool stopped the server the actor started.
    assert "stopped" in (tmp_path / "srv" / "server.log").read_text().lower()


def test_each_actor_works_through_whole_pairs_and_loads_each_once(ws, role):
    g = [model(ws, "gpt") for _ in range(3)]
    s = [model(ws, "sovits") for _ in range(2)]
    task = ws.tasks.create(role, "pairs", ["a。", "b。"], clips=[clip(ws, role)],
                           vary={"gpt": g, "sovits": s}, repeats=3)
    factory = functools.partial(GsvFake, "g", latency_s=0.005, load_latency_s=0.05)
    events: list[rasv.RunEvent] = []
    with RayPool(2, factory, num_cpus=0) as pool:
        run = ws.tasks.run(task, pool.engines, on_event=events.append)
        stats = pool.stats()
    assert run.progress.done == 36
    for st in stats:
        assert len(st.loads) == len(set(st.loads))
    assert sum(len(st.loads) for st in stats) == run.progress.loads
    pair_of = dict(zip(task.plan().take_id,
                       zip(task.plan().gpt_id, task.plan().sovits_id, strict=True), strict=True))
    for name in {e.engine for e in events if e.kind == "take_done"}:
        seq = [pair_of[e.take_id] for e in events if e.kind == "take_done" and e.engine == name]
        runs = [p for i, p in enumerate(seq) if i == 0 or p != seq[i - 1]]
        assert len(runs) == len(set(runs)), f"{name} went back to a pair: {runs}"


def test_a_killed_actor_costs_no_take_and_the_run_names_it(ws, role):
    task = _task(ws, role, n_texts=6, repeats=5)
    events: list[rasv.RunEvent] = []
    with RayPool(3, functools.partial(FakeEngine, "fake", latency_s=0.05), num_cpus=0) as pool:
        victim = pool.engines[1].name

        def on_event(e: rasv.RunEvent) -> None:
            events.append(e)
            if e.kind == "take_done" and sum(x.kind == "take_done" for x in events) == 6:
                pool.kill(1)  # mid-run: the victim is busy with a take or about to be

        run = ws.tasks.run(task, pool.engines, on_event=on_event)
    assert run.error is None
    assert (run.progress.done, run.progress.failed) == (60, 0)
    assert task.counts().done == 60
    down = [e for e in events if e.kind == "engine_down"]
    assert [e.engine for e in down] == [victim]
    assert "died" in down[0].error

    retried = [e for e in events if e.kind == "take_retry" and e.engine == victim]
    assert not retried, "a dead actor must not be retried"


CHILD = textwrap.dedent(
    """
    import functools, sys
    import rasv
    from gsv_bridge import RayPool
    from rasv.testing import FakeEngine, make_gsv_root

    ws = rasv.open(sys.argv[1])
    task = ws.tasks.get(int(sys.argv[2]))
    pool = RayPool(2, functools.partial(FakeEngine, "child", latency_s=0.25),
                   address=sys.argv[3], num_cpus=0)
    ws.tasks.run(task, pool.engines)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")
def test_a_killed_driver_resumes_with_no_take_made_twice(ws, role, tmp_path, local_ray):
    task = _task(ws, role, n_texts=8, repeats=5)
    total = len(task.plan())
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ws.close()  # the child is the only process with the workspace open
    # The child's takes last 0.25 s: the kill must land before it has made all 40, and a
    # loaded machine can be seconds late with it (with 0.05 s takes 0.7 s late was too late).
    written = kill_run_after(script, [str(ws.root), str(task.id), local_ray], ws.root, 12,
                             timeout=240)
    assert 12 <= len(written) < total

    ws = rasv.open(ws.root)
    task = ws.tasks.get(task.id)
    events: list[rasv.RunEvent] = []
    with RayPool(2, functools.partial(FakeEngine, "again"), num_cpus=0) as pool:
        run = ws.tasks.run(task, pool.engines, on_event=events.append)
    remade = {e.take_id for e in events if e.kind == "take_started"}
    assert not remade & written, "a take whose audio was written was made again"
    assert len(remade) == run.progress.done == total - len(written)
    after = task.counts()
    assert (after.done, after.running, after.pending, after.failed) == (total, 0, 0, 0)
    assert take_files(ws.root) == set(task.plan().take_id)


def test_progress_events_and_cancel_work_through_the_pool(ws, role):
    task = _task(ws, role, n_texts=10, repeats=4)
    # 0.25 s takes: the cancel must come before all 80 are made (10 s of work), however late
    # a loaded machine lets this thread see the fourth.
    with RayPool(2, functools.partial(FakeEngine, "fake", latency_s=0.25), num_cpus=0) as pool:
        run = ws.tasks.run(task, pool.engines, background=True)
        deadline = time.monotonic() + 120
        while run.progress.done < 4:
            assert time.monotonic() < deadline and not run.finished, run.progress
            time.sleep(0.01)
        run.cancel()
        p = run.wait(120)
    kinds = [e.kind for e in run.events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "cancelling" in kinds
    assert 4 <= p.done < 80
    assert p.done + task.counts().cancelled == 80


def test_a_factory_that_fails_is_a_clear_error(ws):
    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("no GPU here")

    with pytest.raises(rasv.EngineUnavailable, match="no GPU here"):
        RayPool(1, broken, num_cpus=0)


def test_bad_sizes_are_refused():
    with pytest.raises(rasv.InvalidInput, match="n must be"):
        RayPool(0, FakeEngine)
    with pytest.raises(rasv.InvalidInput, match="per_node"):
        RayPool(None, FakeEngine, per_node=0)


def test_per_node_places_that_many_on_every_node():
    with RayPool(None, functools.partial(FakeEngine, "n"), per_node=2, num_cpus=0) as pool:
        assert len(pool.engines) == 2 * len([n for n in ray.nodes() if n["Alive"]])


def test_without_ray_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(rasv.BackendUnavailable, match=r"rasv\[ray\]"):
        RayPool(1, FakeEngine)


def test_rasv_run_with_ray_builds_each_engine_in_actors(tmp_path, local_ray):
    root = tmp_path / "ws"
    with rasv.open(root) as ws:
        role = ws.roles.create("a")
        task = _task(ws, role, n_texts=3, repeats=2)
        tid = task.id
    res = CliRunner().invoke(main, ["run", "-w", str(root), str(tid), "--ray", local_ray,
                                    "--engine", "fake:0.01", "--per-node", "2", "--quiet"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert f"task {tid}: made 12, failed 0" in res.output
    with rasv.open(root) as ws:
        names = set(ws.tasks.get(tid).plan().engine)
    assert names and all(n.startswith("fake-1@") for n in names)
    res = CliRunner().invoke(main, ["run", "-w", str(root), str(tid), "--per-node", "2",
                                    "--engine", "fake"])
    assert res.exit_code != 0 and "--per-node needs --ray" in res.output
