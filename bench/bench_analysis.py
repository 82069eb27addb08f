"""Benchmark of automatic take analysis on the espeak evaluation set.

Prints:
- the share of defective takes found in the first 20 % of the listen-first order
  (goal >= 0.9), overall and per defect kind;
- the analysis cost per audio-second, per detector, as milliseconds and as a ratio to
  decoding the same files (the baseline, measured in the same run);
- the cost of a cached re-run, as a ratio to the same baseline.

Run from the repository root: ``python bench/bench_analysis.py [--seeds N] [--no-dnsmos]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import rasv  # noqa: E402
from rasv.analysis.namespace import DEFAULT_DETECTORS  # noqa: E402
from rasv.analysis.take_signal import TakeSignal  # noqa: E402
from rasv.audio.files import read  # noqa: E402
from rasv.testing.evalset import add_eval_task, build_eval_set  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="evaluation sets to build (56 takes each)")
    ap.add_argument("--no-dnsmos", action="store_true", help="leave DNSMOS out (faster)")
    args = ap.parse_args()

    from gsv_bridge.espeak import synth

    detectors = [d for d in DEFAULT_DETECTORS if not (args.no_dnsmos and d == "dnsmos")]
    t0 = time.perf_counter()
    sets = [build_eval_set(synth, seed=s) for s in range(args.seeds)]
    print(f"built {sum(map(len, sets))} takes in {time.perf_counter() - t0:.1f} s "
          f"({sum(t.defect is not None for s in sets for t in s)} defective)")

    found_total = defects_total = 0
    per_kind: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as d:
        ws = rasv.open(d, shared=False)
        tasks = [add_eval_task(ws, takes, f"s{i}") for i, takes in enumerate(sets)]
        paths = [ws.abspath(p) for p in ws.sql("SELECT audio_path FROM takes").audio_path]
        audio_s = float(ws.sql("SELECT sum(duration_s) AS s FROM takes").s[0])

        # Warm-up outside the timings: librosa/numba and onnxruntime first-call costs.
        warm = TakeSignal(*read(paths[0]))
        for name in detectors:
            ws.analysis.detectors([name])[0][0].measure(warm)

        t = time.perf_counter()
        decoded = [read(p) for p in paths]
        base = time.perf_counter() - t

        # Per-detector cost on already decoded audio (a third of the takes is plenty).
        cost: dict[str, float] = {}
        part = decoded[: max(len(decoded) // 3, 1)]
        scale = len(decoded) / len(part)  # report costs for the whole set
        sigs = [TakeSignal(x, sr) for x, sr in part]
        t = time.perf_counter()
        for s in sigs:
            _ = s.power, s.segments  # the shared views every detector uses
        cost["(shared views)"] = (time.perf_counter() - t) * scale
        for name in detectors:
            det = ws.analysis.detectors([name])[0][0]
            t = time.perf_counter()
            for s in sigs:
                det.measure(s)
            cost[name] = (time.perf_counter() - t) * scale

        t = time.perf_counter()
        for task in tasks:
            ws.analysis.run(task, detectors)
        full = time.perf_counter() - t
        t = time.perf_counter()
        for task in tasks:
            ws.analysis.run(task, detectors)
        cached = time.perf_counter() - t

        for task, takes in zip(tasks, sets, strict=True):
            order = ws.analysis.suspicion(task)
            defect = {f"s{tasks.index(task)}-{t.id}": t.defect for t in takes}
            order["defect"] = order.take_id.map(defect)
            top = order.head(math.ceil(0.2 * len(order)))
            found_total += int(top.defect.notna().sum())
            defects_total += int(order.defect.notna().sum())
            for kind, group in order[order.defect.notna()].groupby("defect"):
                hit = int(group.take_id.isin(top.take_id).sum())
                per_kind.setdefault(kind, [0, 0])
                per_kind[kind][0] += hit
                per_kind[kind][1] += len(group)
        ws.close()

    share = found_total / defects_total
    print(f"\nlisten-first order: {found_total}/{defects_total} defective takes in the first 20 % "
          f"= {share:.2f} (goal >= 0.90) {'OK' if share >= 0.9 else 'MISSED'}")
    for kind, (hit, n) in sorted(per_kind.items()):
        print(f"  {kind:9s} {hit}/{n}")

    ms = 1000.0 / audio_s
    print(f"\ncost on {audio_s:.0f} audio-seconds (baseline: decoding the files, "
          f"{base * ms:.2f} ms per audio-second)")
    for name, sec in cost.items():
        print(f"  {name:15s} {sec * ms:7.2f} ms/audio-s  {sec / base:7.1f}x decode")
    print(f"  {'whole run':15s} {full * ms:7.2f} ms/audio-s  {full / base:7.1f}x decode "
          "(decode, all detectors, DuckDB writes)")
    print(f"  {'cached re-run':15s} {cached * ms:7.2f} ms/audio-s  {cached / base:7.1f}x decode")
    if not np.isfinite(share) or share < 0.9:
        sys.exit(1)


if __name__ == "__main__":
    main()
