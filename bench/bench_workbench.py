"""How fast the workbench appears in a browser, as ratios to plain-ipywidgets baselines.

Run: python bench/bench_workbench.py [--loads 3]

Needs Chromium (apt-get install chromium) and Playwright's Python package; nothing is
downloaded. Everything runs on this machine: Voilà, its kernels and a headless Chromium.

1. Voilà time to first widget: page load until the clip table shows rows on the demo
   workspace (``rasv serve``, preheated kernel), against the same server flags serving a
   notebook with a single ``ipywidgets.Label`` (the floor Voilà itself sets).
2. Review page for 20 takes: opening the Review tab until 20 cards with spectrograms are
   drawn, against a page of 20 ``ipywidgets.Audio`` players with a ``Label`` each (the
   "pile of widgets" a notebook would build).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from widgets.dashboard import dashboard_env, pick_port, port_free, stop, voila_command  # noqa: E402
from widgets.demo import build_demo  # noqa: E402
from widgets.testing import chromium_path, launch  # noqa: E402

_LABEL_NB = "import ipywidgets as W\nW.Label('ready')"


def _notebook(path: Path, source: str) -> Path:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c", "metadata": {},
                     "outputs": [], "source": source}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _serve(notebook: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str, float]:
    port = pick_port(18900)
    t0 = time.perf_counter()
    proc = subprocess.Popen(voila_command(notebook, port), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while port_free(port):
        if proc.poll() is not None:
            raise SystemExit(f"voila exited with {proc.returncode}")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}/", time.perf_counter() - t0


def _loads(context, url: str, selector: str, n: int, settle_s: float) -> list[float]:
    """Seconds from navigation to ``selector`` visible, for ``n`` fresh pages."""
    out = []
    for _ in range(n):
        time.sleep(settle_s)  # let Voilà refill its preheated kernel pool
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=120_000)
        page.wait_for_selector(selector, timeout=120_000)
        out.append(time.perf_counter() - t0)
        page.close()
    return out


def bench_first_widget(p, tmp: Path, demo: Path, loads: int) -> None:
    env = dashboard_env(demo, lang="en")
    browser, context = launch(p)
    try:
        results = {}
        for label, nb, selector in (
            ("baseline: one ipywidgets.Label", _notebook(tmp / "label.ipynb", _LABEL_NB),
             ".widget-label"),
            ("rasv workbench, clip table rows", None, ".rasv-cliptable tbody tr[data-id]"),
        ):
            from widgets.dashboard import dashboard_notebook

            proc, url, started = _serve(nb or dashboard_notebook(), env)
            try:
                times = _loads(context, url, selector, loads, settle_s=6.0)
            finally:
                stop(proc)
            results[label] = (started, times)
        base = statistics.median(results["baseline: one ipywidgets.Label"][1])
        print("\n1. Voilà time to first widget (preheated kernel, median of "
              f"{loads} page loads)")
        for label, (started, times) in results.items():
            med = statistics.median(times)
            print(f"   {label:<36} server up {started:5.2f} s   first widget {med:5.2f} s"
                  f"   ratio {med / base:4.2f}")
    finally:
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=3)
    args = ap.parse_args()
    if chromium_path() is None:
        raise SystemExit("Chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="rasv-bench-wb-"))
    t0 = time.perf_counter()
    summary = build_demo(tmp / "demo")
    print(f"demo workspace built in {time.perf_counter() - t0:.1f} s "
          f"({summary['clips']} clips, task {summary['task']})")
    os.environ.setdefault("RASV_LANG", "en")
    with sync_playwright() as p:
        bench_first_widget(p, tmp, tmp / "demo", args.loads)


if __name__ == "__main__":
    main()
