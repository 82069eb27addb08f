"""Benchmark of the task runner against engines with a fixed latency.

Prints ratios measured in this run (no absolute goals are timed in tests):

1. runner overhead: wall time over the sum of engine latencies, 500 takes, one engine
   (goal <= 1.03);
2. scaling: throughput with 4 engines over 1 engine on a single-pair task (goal >= 3.7);
3. weight loads over the (engine, pair) combinations used, many pairs on 4 engines
   (goal 1.0);
4. re-run of a task whose 1,000 takes are all done: seconds, and synthesis calls (goal
   <= 1 s, 0 calls).

The engines are ``rasv.testing.FakeEngine`` with ``latency_s``; each stands for one
GPT-SoVITS server that takes one request at a time.

Run: python bench/bench_runner.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rasv  # noqa: E402
from rasv.testing import FakeEngine, make_clip  # noqa: E402


def workspace(n_clips: int) -> tuple[rasv.Workspace, rasv.Role, list[int]]:
    ws = rasv.open(tempfile.mkdtemp(prefix="rasv-bench-"))
    role = ws.roles.create("bench-voice")
    clips = [
        ws.clips.add(role, make_clip(ws.root / "src" / f"{i}.wav", 4.0 + i * 0.1, seed=i),
                     text="参考音频。").id
        for i in range(n_clips)
    ]
    return ws, role, clips


def register_models(ws: rasv.Workspace, kind: str, n: int) -> list[int]:
    """Stand-in checkpoints (the fake engine only needs their paths and hashes)."""
    ids = []
    folder = ws.root / "weights"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        path = folder / f"{kind}-{i}.{'ckpt' if kind == 'gpt' else 'pth'}"
        path.write_bytes(f"{kind}{i}".encode())
        with ws.store.transaction() as cur:
            ids.append(cur.execute(
                "INSERT INTO models(kind, path, name, sha256, version) VALUES (?, ?, ?, ?, 'v2') "
                "RETURNING id",
                [kind, str(path), path.name, hashlib.sha256(path.read_bytes()).hexdigest()],
            ).fetchall()[0][0])
    return ids


def texts(n: int) -> list[str]:
    return [f"第{i}句测试。" for i in range(n)]


def bench_overhead(n_takes: int, latency: float) -> None:
    ws, role, clips = workspace(5)
    n_texts = n_takes // (len(clips) * 10)
    task = ws.tasks.create(role, "overhead", texts(n_texts), clips=clips, repeats=10,
                           engine="fake")
    eng = FakeEngine("e0", latency_s=latency)
    # Baseline, same run: the engine alone on a sample of the task's own requests (its
    # latency plus the few ms the fake spends making 1 s of audio).
    # Measured before and after the run, so background load on the machine hits both alike.
    sample = [_request(ws, row) for row in task.plan().head(50).itertuples()]

    def engine_alone() -> float:
        t0 = time.perf_counter()
        for req in sample:
            eng.synthesize(req)
        return (time.perf_counter() - t0) / len(sample)

    before = engine_alone()
    eng.calls.clear()
    t0 = time.perf_counter()
    run = ws.tasks.run(task, eng)
    wall = time.perf_counter() - t0
    per_take = (before + engine_alone()) / 2
    n = run.progress.done
    spans = eng.spans[-n:]
    gaps = sorted(b[0] - a[1] for a, b in zip(spans[:-1], spans[1:], strict=True))
    print(f"1. overhead, {n} takes, 1 engine, latency {latency * 1000:.0f} ms "
          f"(engine alone: {per_take * 1000:.1f} ms a take):")
    print(f"   wall {wall:.2f} s; wall / sum of engine latencies = {wall / (n * per_take):.3f}"
          f"   (goal <= 1.03); over the nominal {latency * 1000:.0f} ms: "
          f"{wall / (n * latency):.3f}")
    print(f"   engine idle between takes: median {gaps[len(gaps) // 2] * 1000:.2f} ms, "
          f"90th percentile {gaps[int(len(gaps) * 0.9)] * 1000:.2f} ms "
          f"(spikes come from other load on the machine)")
    ws.close()


class _Timed(FakeEngine):
    """Records when each request starts and ends, to see how long the engine sits idle."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spans: list[tuple[float, float]] = []

    def synthesize(self, req):  # noqa: ANN001, ANN201
        t0 = time.perf_counter()
        audio = super().synthesize(req)
        self.spans.append((t0, time.perf_counter()))
        return audio


def _request(ws: rasv.Workspace, row) -> rasv.SynthesisRequest:
    return rasv.SynthesisRequest(text=row.text, text_lang=row.text_lang,
                                 ref_audio_path=str(ws.clips.abspath(row.clip_id)),
                                 prompt_text="参考音频。", prompt_lang="zh", seed=row.seed)


def bench_scaling(n_takes: int, latency: float) -> None:
    walls = {}
    for n_engines in (1, 4):
        ws, role, clips = workspace(4)
        task = ws.tasks.create(role, "one pair", texts(n_takes // (len(clips) * 5)),
                               clips=clips, repeats=5, engine="fake")
        engines = [FakeEngine(f"e{i}", latency_s=latency, load_latency_s=0.05)
                   for i in range(n_engines)]
        t0 = time.perf_counter()
        run = ws.tasks.run(task, engines)
        walls[n_engines] = time.perf_counter() - t0
        assert run.progress.done == len(task.plan())
        ws.close()
    ratio = walls[1] / walls[4]
    print(f"2. scaling, one pair, {n_takes} takes, latency {latency * 1000:.0f} ms:")
    print(f"   1 engine {walls[1]:.2f} s, 4 engines {walls[4]:.2f} s; "
          f"throughput 4/1 = {ratio:.2f}   (goal >= 3.7)")


def bench_loads(latency: float) -> None:
    ws, role, clips = workspace(2)
    gpts, sovits = register_models(ws, "gpt", 4), register_models(ws, "sovits", 3)
    task = ws.tasks.create(role, "pairs", texts(5), clips=clips, vary={"gpt": gpts,
                           "sovits": sovits}, engine="fake")
    engines = [FakeEngine(f"e{i}", latency_s=latency, load_latency_s=0.2) for i in range(4)]
    t0 = time.perf_counter()
    run = ws.tasks.run(task, engines)
    wall = time.perf_counter() - t0
    loads = sum(len(e.loads) for e in engines)
    used = int(ws.sql("SELECT count(DISTINCT (engine, gpt_id, sovits_id)) AS n FROM takes").n[0])
    pairs = len(gpts) * len(sovits)
    print(f"3. weight loads, {pairs} pairs x {len(task.plan()) // pairs} takes, 4 engines, "
          f"load 200 ms, latency {latency * 1000:.0f} ms:")
    print(f"   {loads} loads over {used} (engine, pair) combinations used = {loads / used:.2f}"
          f"   (goal 1.0); {loads - pairs} loads beyond one per pair; wall {wall:.2f} s;"
          f" {run.progress.done} takes")
    ws.close()


def bench_rerun(n_takes: int) -> None:
    ws, role, clips = workspace(10)
    task = ws.tasks.create(role, "rerun", texts(n_takes // (len(clips) * 10)), clips=clips,
                           repeats=10, engine="fake")
    eng = FakeEngine("e0")
    t0 = time.perf_counter()
    ws.tasks.run(task, eng)
    first = time.perf_counter() - t0
    calls = len(eng.calls)
    t0 = time.perf_counter()
    run = ws.tasks.run(task, eng)
    again = time.perf_counter() - t0
    print(f"4. re-run of {run.progress.already_done} done takes: {again:.3f} s, "
          f"{len(eng.calls) - calls} synthesis calls   (goal <= 1 s, 0 calls); "
          f"first run {first:.1f} s")
    ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    bench_overhead(int(500 * scale) // 50 * 50 or 50, 0.04)
    bench_scaling(int(240 * scale) // 20 * 20 or 20, 0.04)
    bench_loads(0.01)
    bench_rerun(int(1000 * scale) // 100 * 100 or 100)


if __name__ == "__main__":
    main()
