"""Listen less: the simulation's three figures, and the refit time at 5,000 takes.

Prints, over the simulated roles the priors and rules were tuned on (seeds 0–39) and over fresh
seeds never used for tuning (100–119, the ones the test uses, and 200–219): how often the recommended clip is the truly best one, the takes heard in the ask order
against the takes duration-sorted listening needs, and how often the intervals cover the
listener's stars (definitions in docs/predict.md).

Then the time to refit after one more score on a 5,000-take role with 300 scores (fit,
predictions with intervals and drivers, the ask order and the clip ranking), as a ratio to what
duration-sorted review recomputes after a score (sorting the table by duration and the per-clip
mean stars), measured in the same run. The issue's budget is 200 ms.

Last run (docs/predict.md has the history): best clip found 100 % / 100 % / 95 % of seeds
(0-39 / 100-119 / 200-219), takes ratio 0.11 / 0.18 / 0.12 (target <= 0.33), coverage
97 % / 98 % / 97 %, every session stopped confident; refit 62 ms wall, 69 ms CPU. Before the
clip-level metrics and the indifference-zone rule: 88 % / 95 % / 95 %, 0.38 / 0.54 / 0.39.

Run: python bench/bench_predict.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from rasv.scores.predict import ask_order, build_design, fit_stars, rank_values  # noqa: E402
from rasv.testing.listening import evaluate, simulate_role  # noqa: E402

ROUNDS = 5


def figures(seeds: range, label: str) -> None:
    t = time.perf_counter()
    f = evaluate(seeds)
    print(f"{label}: best clip found in {f.accuracy:.0%} of seeds (target >= 90 %); "
          f"heard {f.heard} takes vs {f.duration_needs} for duration order = {f.ratio:.2f} "
          f"(target <= 0.33); interval coverage {f.coverage:.0%} (target >= 80 %); "
          f"stopped confident in {f.confident:.0%}; {time.perf_counter() - t:.1f} s")


def refit_time() -> None:
    role = simulate_role(0, n_clips=50, n_texts=10, top_ks=(5, 10, 15, 20, 30))
    takes = role.takes.copy()
    rng = np.random.default_rng(0)
    stars = np.full(len(takes), np.nan)
    heard = rng.choice(len(takes), 300, replace=False)
    stars[heard] = role.listener[heard]
    takes["stars"] = stars
    design = build_design(takes)

    def refit() -> None:
        model = fit_stars(takes, design=design)
        model.predict()
        ask_order(model)
        rank_values(model)

    def full() -> None:
        model = fit_stars(takes)
        model.predict()
        ask_order(model)
        rank_values(model)

    def baseline() -> None:
        takes.sort_values(["duration_s", "ord"], kind="stable")
        takes.groupby("clip_id")["stars"].agg(["mean", "max", "count"])

    def best(fn) -> float:
        times = []
        for _ in range(ROUNDS):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    refit(), full(), baseline()  # warm-up
    r, f, b = best(refit), best(full), best(baseline)
    # CPU time of the refit (one BLAS thread): what it takes on a quiet machine, where the
    # wall time on a busy one mostly measures waiting.
    cpu = []
    for _ in range(ROUNDS):
        t = time.process_time()
        refit()
        cpu.append(time.process_time() - t)
    print(f"refit at {len(takes)} takes ({design.X.shape[1]} coefficients, 300 scored): "
          f"{r * 1e3:.0f} ms with the metrics' design kept ({statistics.median(cpu) * 1e3:.0f} ms "
          f"CPU), {f * 1e3:.0f} ms from scratch "
          f"(budget 200 ms); duration sort + per-clip means {b * 1e3:.1f} ms; "
          f"ratio {r / b:.0f}x / {f / b:.0f}x")


def main() -> None:
    refit_time()
    figures(range(100, 120), "fresh seeds 100-119 (the test)")
    if "--quick" not in sys.argv:
        figures(range(200, 220), "fresh seeds 200-219          ")
        figures(range(40), "tuning seeds 0-39            ")


if __name__ == "__main__":
    main()
