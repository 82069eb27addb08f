"""How fast the workbench appears in a browser, as ratios to plain-ipywidgets baselines.

Run: python bench/bench_workbench.py [--loads 3] [--parts 123]

Needs Chromium (apt-get install chromium) and Playwright's Python package; nothing is
downloaded. Everything runs on this machine: Voilà, its kernels and a headless Chromium.

1. Voilà time to first widget: page load until the clip table shows rows on the demo
   workspace (``rasv serve``, preheated kernel), against the same server flags serving a
   notebook with a single ``ipywidgets.Label`` (the floor Voilà itself sets).
2. Review page for 20 takes: page load until 20 cards with spectrograms are drawn, against a
   page of 20 ``ipywidgets.Audio`` players with a ``Label`` each (the "pile of widgets" a
   notebook would build), with the spectrogram cache warm and cold.
3. The same inside a loaded page: opening the Review tab, and turning to the next page,
   against a button that shows the 20 ``Audio`` widgets.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _fresh_pages(context, url: str, selector: str, n: int,
                 settle_s: float = 6.0) -> Iterator[tuple[Any, float]]:
    """``n`` fresh pages of ``url``, each once ``selector`` is visible, with the seconds from
    navigation until then; each page is closed when the next is asked for."""
    for _ in range(n):
        time.sleep(settle_s)  # let Voilà refill its preheated kernel pool
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=120_000)
        try:
            page.wait_for_selector(selector, timeout=120_000)
            yield page, time.perf_counter() - t0
        finally:
            page.close()


def _loads(context, url: str, selector: str, n: int, settle_s: float) -> list[float]:
    """Seconds from navigation to ``selector`` visible, for ``n`` fresh pages."""
    return [seconds for _, seconds in _fresh_pages(context, url, selector, n, settle_s)]


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


# The baselines' notebooks: the first 20 takes as plain ipywidgets.Audio players.
_AUDIO_SETUP = """\
import os, rasv, ipywidgets as W
ws = rasv.open(os.environ["RASV_WORKSPACE"])
task = int(ws.tasks.list().id.iloc[0])
paths = ws.takes.df(task, status="done").audio_path.tolist()[:20]
def players():
    return [W.VBox([W.Label(p), W.Audio(value=ws.abspath(p).read_bytes(), format="wav",
                                        autoplay=False)]) for p in paths]
"""

_AUDIO_NB = _AUDIO_SETUP + "W.VBox(players())"

_REVIEW_NB = """\
from widgets import Workbench
wb = Workbench.from_env()
wb.select("review")
wb"""


def bench_review_page(p, tmp: Path, demo: Path, loads: int) -> None:
    import shutil

    env = dashboard_env(demo, lang="en")
    browser, context = launch(p)
    try:
        rows = []
        cases = (
            ("baseline: 20 ipywidgets.Audio + Label", _AUDIO_NB,
             "() => document.querySelectorAll('audio').length >= 20", False),
            ("rasv review page, visuals cached", _REVIEW_NB,
             "() => document.querySelectorAll('.rasv-take canvas').length >= 20", False),
            ("rasv review page, cold (no cache)", _REVIEW_NB,
             "() => document.querySelectorAll('.rasv-take canvas').length >= 20", True),
        )
        for label, source, ready, cold in cases:
            nb = _notebook(tmp / f"review-{len(rows)}.ipynb", source)
            times = []
            for _ in range(loads):
                if cold:
                    shutil.rmtree(demo / "cache", ignore_errors=True)
                # No preheated kernel: each load runs the notebook, as a first visit does.
                port = pick_port(18950)
                cmd = [c for c in voila_command(nb, port)
                       if not c.startswith(("--preheat_kernel", "--pool_size"))]
                proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                try:
                    while port_free(port):
                        time.sleep(0.05)
                    page = context.new_page()
                    t0 = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/", wait_until="commit",
                              timeout=120_000)
                    page.wait_for_function(ready, timeout=120_000)
                    times.append(time.perf_counter() - t0)
                    page.close()
                finally:
                    stop(proc)
            rows.append((label, statistics.median(times)))
        base = rows[0][1]
        print(f"\n2. Review page with 20 takes: page load until every take is drawn "
              f"(median of {loads})")
        for label, med in rows:
            print(f"   {label:<40} {med:5.2f} s   ratio {med / base:4.2f}")
    finally:
        browser.close()


_AUDIO_CLICK_NB = _AUDIO_SETUP + """\
box = W.VBox()
button = W.Button(description="show takes")
def show(_):
    box.children = players()
button.on_click(show)
W.VBox([button, box])"""


def _click_until(page, click, ready: str) -> float:
    t0 = time.perf_counter()
    click()
    page.wait_for_function(ready, timeout=120_000)
    return time.perf_counter() - t0


def bench_review_interaction(p, tmp: Path, demo: Path, loads: int) -> None:
    from widgets.dashboard import dashboard_notebook

    env = dashboard_env(demo, lang="en")
    browser, context = launch(p)
    try:
        base, tab, flip = [], [], []
        proc, url, _ = _serve(_notebook(tmp / "audio-click.ipynb", _AUDIO_CLICK_NB), env)
        try:
            for page, _ in _fresh_pages(context, url, "button", loads):
                base.append(_click_until(
                    page, lambda page=page: page.get_by_role("button", name="show takes").click(),
                    "() => document.querySelectorAll('audio').length >= 20"))
        finally:
            stop(proc)
        proc, url, _ = _serve(dashboard_notebook(), env)
        try:
            for page, _ in _fresh_pages(context, url, ".rasv-cliptable tbody tr[data-id]", loads):
                tab.append(_click_until(
                    page,
                    lambda page=page: page.locator(".lm-TabBar-tab", has_text="Review").click(),
                    "() => document.querySelectorAll('.rasv-take canvas').length >= 20"))
                first = page.locator(".rasv-take").first.get_attribute("data-id")
                flip.append(_click_until(
                    page, lambda page=page: page.locator(".rasv-review button").filter(
                        has=page.locator(".fa-chevron-right")).click(),
                    f"() => document.querySelector('.rasv-take') && "
                    f"document.querySelector('.rasv-take').dataset.id !== '{first}' && "
                    f"document.querySelectorAll('.rasv-take canvas').length >= 16"))
        finally:
            stop(proc)
        b = statistics.median(base)
        print(f"\n3. In a loaded page: a click until 20 takes are shown (median of {loads})")
        for label, times in (("baseline: button → 20 ipywidgets.Audio + Label", base),
                             ("rasv: Review tab opened → 20 take cards", tab),
                             ("rasv: next page → 16 more take cards", flip)):
            med = statistics.median(times)
            print(f"   {label:<48} {med:5.2f} s   ratio {med / b:4.2f}")
    finally:
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--parts", default="123",
                    help="which parts to run, e.g. 3 for the Review tab only (default: 123)")
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
        for part, bench in (("1", bench_first_widget), ("2", bench_review_page),
                            ("3", bench_review_interaction)):
            if part in args.parts:
                bench(p, tmp, tmp / "demo", args.loads)


if __name__ == "__main__":
    main()
