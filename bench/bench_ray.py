"""Benchmark of ``gsv_bridge.RayPool`` on a local Ray against the in-process pool.

Prints ratios measured in this run (same machine, same task sizes):

1. scaling: throughput of 4 actors over 1 actor on a 200-take single-pair task whose fake
   engine takes 0.2 s a take (goal >= 3.6, P12);
2. per-take overhead: wall time per take through one Ray actor over one in-process engine,
   both with the same fake engine at 20 ms a take, and the difference in milliseconds.

Run: python bench/bench_ray.py [--quick] [--address HOST:PORT]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import rasv  # noqa: E402
from rasv.testing import FakeEngine, make_clip  # noqa: E402

try:
    import ray
except ImportError:
    sys.exit("bench_ray needs Ray: pip install 'rasv[ray]'")

from gsv_bridge import RayPool  # noqa: E402
from gsv_bridge.ray_pool import start_local_ray  # noqa: E402


def task_of(n_takes: int, n_clips: int = 4):  # noqa: ANN201
    """A fresh workspace with one single-pair task of ``n_takes`` takes."""
    ws = rasv.open(tempfile.mkdtemp(prefix="rasv-bench-ray-"))
    role = ws.roles.create("bench-voice")
    clips = [ws.clips.add(role, make_clip(ws.root / "src" / f"{i}.wav", 4.0 + i * 0.1, seed=i),
                          text="参考音频。") for i in range(n_clips)]
    repeats = 5
    texts = [f"第{i}句测试。" for i in range(n_takes // (n_clips * repeats))]
    task = ws.tasks.create(role, "bench", texts, clips=clips, repeats=repeats, engine="fake")
    assert len(task.plan()) == n_takes
    return ws, task


def timed_run(engines: list, n_takes: int) -> float:
    ws, task = task_of(n_takes)
    t0 = time.perf_counter()
    run = ws.tasks.run(task, engines)
    wall = time.perf_counter() - t0
    assert run.progress.done == n_takes, run.progress
    ws.close()
    return wall


def bench_scaling(n_takes: int, latency: float) -> None:
    walls = {}
    for n in (1, 4):
        with RayPool(n, functools.partial(FakeEngine, "fake", latency_s=latency),
                     num_cpus=0) as pool:
            walls[n] = timed_run(pool.engines, n_takes)
    print(f"1. scaling, one pair, {n_takes} takes, fake latency {latency * 1000:.0f} ms:")
    print(f"   1 actor {walls[1]:.2f} s, 4 actors {walls[4]:.2f} s; "
          f"throughput 4/1 = {walls[1] / walls[4]:.2f}   (goal >= 3.6, P12)")


def bench_overhead(n_takes: int, latency: float) -> None:
    factory = functools.partial(FakeEngine, "fake", latency_s=latency)
    with RayPool(1, factory, num_cpus=0) as pool:
        timed_run(pool.engines, 20)  # the actor's first requests import and warm up
        remote = timed_run(pool.engines, n_takes)
    local = timed_run([factory()], n_takes)
    per_r, per_l = remote / n_takes, local / n_takes
    print(f"2. per-take overhead, {n_takes} takes on one engine, fake latency "
          f"{latency * 1000:.0f} ms:")
    print(f"   in-process {per_l * 1000:.1f} ms a take, Ray actor {per_r * 1000:.1f} ms; "
          f"ratio {per_r / per_l:.3f}, {1000 * (per_r - per_l):+.1f} ms a take")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--address", help="an existing Ray cluster (default: a local one)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if args.address:
        ray.init(address=args.address, logging_level="ERROR", log_to_driver=False)
    else:
        start_local_ray(4)
    try:
        bench_scaling(40 if args.quick else 200, 0.2)
        bench_overhead(40 if args.quick else 200, 0.02)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
