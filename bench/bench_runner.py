"""Benchmark of the task runner against fake GPT-SoVITS api_v2 servers with a fixed latency.

Each server is ``python -m rasv.testing.fake_gsv`` in its own process (real HTTP, one request
at a time, like api_v2.py) and each engine a ``gsv_bridge.GsvApiV2``. Prints ratios measured
in this run:

1. runner overhead: wall time over the sum of engine latencies for 500 takes on one server
   (goal <= 1.03); the baseline is the same engine answering a sample of the task's own
   requests without the runner, measured before and after the run;
2. scaling: throughput with 4 servers over 1 server on a single-pair task (goal >= 3.7);
3. weight loads over the (server, pair) combinations used, 12 pairs on 4 servers (goal 1.0);
4. re-run of a task whose 1,000 takes are all done: seconds and requests sent (goal <= 1 s,
   none).

Run: python bench/bench_runner.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import rasv  # noqa: E402
from gsv_bridge import GsvApiV2  # noqa: E402
from rasv.testing import make_clip  # noqa: E402
from rasv.testing.checkpoints import make_checkpoint  # noqa: E402
from rasv.testing.fake_gsv import fake_gsv_processes  # noqa: E402


def workspace(n_clips: int, n_gpt: int = 1, n_sovits: int = 1):  # noqa: ANN201
    ws = rasv.open(tempfile.mkdtemp(prefix="rasv-bench-"))
    role = ws.roles.create("bench-voice")
    clips = [
        ws.clips.add(role, make_clip(ws.root / "src" / f"{i}.wav", 4.0 + i * 0.1, seed=i),
                     text="参考音频。").id
        for i in range(n_clips)
    ]
    gpts = [ws.models.add(make_checkpoint(ws.root / "w" / f"bench-e{i + 1}.ckpt")).id
            for i in range(n_gpt)]
    sovits = [ws.models.add(make_checkpoint(ws.root / "w" / f"bench_e{i + 1}_s{i + 9}.pth")).id
              for i in range(n_sovits)]
    return ws, role, clips, gpts, sovits


def texts(n: int) -> list[str]:
    return [f"第{i}句测试。" for i in range(n)]


def bench_overhead(n_takes: int, latency: float) -> None:
    ws, role, clips, (g,), (s,) = workspace(5)
    task = ws.tasks.create(role, "overhead", texts(n_takes // (len(clips) * 10)), clips=clips,
                           gpt=g, sovits=s, repeats=10)
    with fake_gsv_processes(1, latency=latency) as (url,):
        eng = GsvApiV2(url)
        eng.load(Path(ws.models.get(g).path), Path(ws.models.get(s).path))
        sample = [_request(ws, row) for row in task.plan().head(50).itertuples()]

        def engine_alone() -> float:
            t0 = time.perf_counter()
            for req in sample:
                eng.synthesize(req)
            return (time.perf_counter() - t0) / len(sample)

        before = engine_alone()
        t0 = time.perf_counter()
        run = ws.tasks.run(task, eng)
        wall = time.perf_counter() - t0
        per_take = (before + engine_alone()) / 2
    n = run.progress.done
    print(f"1. overhead, {n} takes, 1 server, latency {latency * 1000:.0f} ms "
          f"(engine alone: {per_take * 1000:.1f} ms a take incl. HTTP):")
    print(f"   wall {wall:.2f} s; wall / sum of engine latencies = {wall / (n * per_take):.3f}"
          f"   (goal <= 1.03)")
    ws.close()


def _request(ws: rasv.Workspace, row) -> rasv.SynthesisRequest:  # noqa: ANN001
    return rasv.SynthesisRequest(text=row.text, text_lang=row.text_lang,
                                 ref_audio_path=str(ws.clips.abspath(row.clip_id)),
                                 prompt_text="参考音频。", prompt_lang="zh", seed=row.seed)


def bench_scaling(n_takes: int, latency: float) -> None:
    walls = {}
    for n_servers in (1, 4):
        ws, role, clips, (g,), (s,) = workspace(4)
        task = ws.tasks.create(role, "one pair", texts(n_takes // (len(clips) * 5)),
                               clips=clips, gpt=g, sovits=s, repeats=5)
        with fake_gsv_processes(n_servers, latency=latency, switch_latency=0.05) as urls:
            engines = [GsvApiV2(u) for u in urls]
            t0 = time.perf_counter()
            run = ws.tasks.run(task, engines)
            walls[n_servers] = time.perf_counter() - t0
        assert run.progress.done == len(task.plan())
        ws.close()
    print(f"2. scaling, one pair, {n_takes} takes, latency {latency * 1000:.0f} ms, "
          "weight switch 50 ms:")
    print(f"   1 server {walls[1]:.2f} s, 4 servers {walls[4]:.2f} s; "
          f"throughput 4/1 = {walls[1] / walls[4]:.2f}   (goal >= 3.7)")


def bench_loads(latency: float) -> None:
    ws, role, clips, gpts, sovits = workspace(2, n_gpt=4, n_sovits=3)
    task = ws.tasks.create(role, "pairs", texts(5), clips=clips,
                           vary={"gpt": gpts, "sovits": sovits})
    with fake_gsv_processes(4, latency=latency, switch_latency=0.2) as urls:
        t0 = time.perf_counter()
        run = ws.tasks.run(task, [GsvApiV2(u) for u in urls])
        wall = time.perf_counter() - t0
    loads = run.progress.loads
    used = int(ws.sql("SELECT count(DISTINCT (engine, gpt_id, sovits_id)) AS n FROM takes").n[0])
    pairs = len(gpts) * len(sovits)
    print(f"3. weight loads, {pairs} pairs x {len(task.plan()) // pairs} takes, 4 servers, "
          f"switch 200 ms, latency {latency * 1000:.0f} ms:")
    print(f"   {loads} loads over {used} (server, pair) combinations used = {loads / used:.2f}"
          f"   (goal 1.0); {loads - pairs} loads beyond one per pair; wall {wall:.2f} s")
    ws.close()


def bench_rerun(n_takes: int) -> None:
    ws, role, clips, (g,), (s,) = workspace(10)
    task = ws.tasks.create(role, "rerun", texts(n_takes // (len(clips) * 10)), clips=clips,
                           gpt=g, sovits=s, repeats=10)
    with fake_gsv_processes(2) as urls:
        t0 = time.perf_counter()
        ws.tasks.run(task, [GsvApiV2(u) for u in urls])
        first = time.perf_counter() - t0
        sent: list[int] = []
        t0 = time.perf_counter()
        run = ws.tasks.run(task, [GsvApiV2(u) for u in urls],
                           on_event=lambda e: e.kind == "take_started" and sent.append(1))
        again = time.perf_counter() - t0
    print(f"4. re-run of {run.progress.already_done} done takes: {again:.3f} s, "
          f"{len(sent)} requests sent   (goal <= 1 s, none); the first run took {first:.1f} s")
    ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    bench_overhead(int(500 * scale) // 50 * 50 or 50, 0.04)
    bench_scaling(int(240 * scale) // 20 * 20 or 20, 0.04)
    bench_loads(0.01)
    bench_rerun(int(1000 * scale) // 100 * 100 or 100)


if __name__ == "__main__":
    main()
