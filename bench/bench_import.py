"""Import cost of a 10,000-line `.list`, as a ratio to a bare `soundfile.info` loop.

Run: python bench/bench_import.py [--lines 10000]

Prints, per 1,000 lines: the baseline (reading every header with soundfile.info), an import
that keeps files in place (header + hash, `copy=False`) and the default import (header +
hash + content-addressed copy), each also as a ratio to the baseline measured in this run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rasv  # noqa: E402
from rasv.testing import make_voice, write_list  # noqa: E402


def build(folder: Path, n: int) -> Path:
    base = make_voice(3.4, 16000)
    rows = []
    for i in range(n):
        x = base.copy()
        x[i % len(x)] += 1e-3 * (1 + i % 7)  # distinct content, so every line is a new clip
        p = folder / f"{i // 1000:02d}" / f"clip_{i:05d}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, x, 16000, subtype="PCM_16")
        rows.append((p, "spk", "ZH", f"第{i}句测试文本。"))
    return Path(write_list(folder / "big.list", rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rasv-bench-import-"))
    try:
        t0 = time.perf_counter()
        lst = build(tmp / "src", args.lines)
        print(f"generated {args.lines} clips in {time.perf_counter() - t0:.1f} s")
        paths = [line.split("|", 1)[0] for line in lst.read_text(encoding="utf-8").splitlines()]

        t0 = time.perf_counter()
        for p in paths:
            sf.info(p)
        base = time.perf_counter() - t0

        timings = {}
        for label, copy in (("import, files kept in place", False), ("import with copying", True)):
            ws = rasv.open(tmp / f"ws-{copy}")
            role = ws.roles.create("bench")
            t0 = time.perf_counter()
            rep = ws.clips.import_list(role, lst, copy=copy)
            timings[label] = time.perf_counter() - t0
            assert len(rep.added) == args.lines, rep
            ws.close()

        per_k = 1000 / args.lines
        print(f"{'per 1,000 lines':<34}{'seconds':>10}{'ratio':>9}")
        print(f"{'soundfile.info loop (baseline)':<34}{base * per_k:>10.3f}{1.0:>9.2f}")
        for label, secs in timings.items():
            print(f"{label:<34}{secs * per_k:>10.3f}{secs / base:>9.2f}")
        size = sum(f.stat().st_size for f in (tmp / "ws-True" / "audio").rglob("*") if f.is_file())
        print(f"stored audio: {size / 2**20:.0f} MiB for {args.lines} clips "
              f"(cpu count {os.cpu_count()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
