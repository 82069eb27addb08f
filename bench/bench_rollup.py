"""Roll-up speed: ``ws.scores.by_param`` on a 6,000-take task with 500 scores.

Prints the time of ``by_param`` as a ratio to fetching the same rows (the task's takes with
their varied columns and latest stars, one SQL query through ``ws.sql``), both measured in
this run. The issue's target: at most 5x.

Run: python bench/bench_rollup.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import timed  # noqa: E402

import rasv  # noqa: E402
from rasv.testing import make_clip  # noqa: E402

ROUNDS = 5
N_SCORES = 500


def build(root: Path) -> tuple[rasv.Workspace, int]:
    """20 clips x 3 texts x top_k 5 x top_p 4 x 5 seeds = 6,000 planned takes, 500 scored."""
    ws = rasv.open(root / "ws")
    role = ws.roles.create("bench-voice")
    clips = [ws.clips.add(role, make_clip(root / f"c{i}.wav", 4.0, f0=100 + 7 * i, seed=i),
                          text=f"参考{i}。") for i in range(20)]
    task = ws.tasks.create(role, "grid", ["你好。", "再见。", "Hello there."],
                           vary={"clip": [c.id for c in clips], "top_k": [1, 5, 10, 15, 20],
                                 "top_p": [0.6, 0.7, 0.8, 1.0]},
                           seeds=[1, 2, 3, 4, 5], engine="fake")
    ids = ws.sql(f"SELECT take_id FROM task_takes WHERE task_id = {task.id} ORDER BY ord").take_id
    # Rendering 6,000 takes is bench_runner's subject; here they only need to count as done.
    with ws.store.transaction() as cur:
        cur.execute("UPDATE takes SET status = 'done', duration_s = 1.0 + (hash(id) % 300) / 100,"
                    " sample_rate = 32000")
    for i, tid in enumerate(ids[:: len(ids) // N_SCORES][:N_SCORES]):
        ws.scores.set(tid, i % 6)
    return ws, task.id


FETCH = """
SELECT t.id, t.clip_id, t.top_k, t.top_p, t.seed, s.stars
FROM task_takes tt JOIN takes t ON t.id = tt.take_id
LEFT JOIN (SELECT take_id, stars FROM scores WHERE NOT long_text
           QUALIFY row_number() OVER (PARTITION BY take_id ORDER BY id DESC) = 1) s
  ON s.take_id = t.id
WHERE tt.task_id = {task} ORDER BY tt.ord
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        ws, task = build(Path(d))
        n = len(ws.sql(FETCH.format(task=task)))
        print(f"built {n:,} takes, {N_SCORES} scored, in {time.perf_counter() - t0:.1f} s")
        ws.scores.by_param(task)  # warm-up: imports, first attach
        fetch, roll = [], []
        for _ in range(ROUNDS):
            fetch.append(timed(lambda: ws.sql(FETCH.format(task=task)))[0])
            roll.append(timed(lambda: ws.scores.by_param(task))[0])
        ws.close()
    base, r = statistics.median(fetch), statistics.median(roll)
    print(f"median of {ROUNDS} rounds")
    print(f"fetch the same rows (baseline) {base * 1000:8.1f} ms   1.00x")
    print(f"ws.scores.by_param             {r * 1000:8.1f} ms   {r / base:5.1f}x   (target <= 5x)")


if __name__ == "__main__":
    main()
