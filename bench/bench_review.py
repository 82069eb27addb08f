"""Review speed: building spectrogram figures for 20 takes, cold and cached.

Prints the time to build 20 Plotly figures (waveform + mel spectrogram) from an empty
cache (read, compute, write the .npz, build the figure) and from a warm cache (read the
.npz, build the figure), each as a ratio to decoding the same 20 WAV files, measured in the
same run. Also the JSON payload size a panel would send per figure.

Then the Review panel's Python side on the demo workspace: building the panel until its first
page of 20 take cards is sent (takes table, spectrogram thumbnails from a warm cache, the
widgets), then until the star model and "Best so far" follow the cards, against building 20 ``ipywidgets.Audio`` players with a ``Label`` each from the same
files (what a notebook would do by hand). The browser side is in bench_workbench.py.

Run: python bench/bench_review.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import rasv  # noqa: E402
from rasv.audio import files as audio_io  # noqa: E402
from rasv.audio.spectrogram import compute_spectrogram  # noqa: E402
from rasv.products import presets  # noqa: E402
from rasv.testing import FakeEngine, make_clip  # noqa: E402

N_TAKES = 20
ROUNDS = 3
SENTENCE = "今天的天气很好，我们一起去公园散步吧。"


def build(root: Path) -> tuple[rasv.Workspace, list[str]]:
    ws = rasv.open(root / "ws")
    role = ws.roles.create("bench-voice")
    clip = ws.clips.add(role, make_clip(root / "ref.wav", 5.0), text="参考。", lang="zh")
    eng = FakeEngine(seconds_per_unit=0.25)  # 32 kHz takes of about 2–9 s
    ids = []
    for i in range(N_TAKES):
        p = presets.from_clip(ws, clip.id, rasv.Params(seed=i), engine_kind="fake")
        ids.append(presets.render(ws, p, SENTENCE[: 4 + i % 16] + "。" * (i % 2), "zh", eng))
    return ws, ids


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        ws, ids = build(Path(d))
        paths = [ws.takes.abspath(t) for t in ids]
        seconds = sum(audio_io.info(p).duration_s for p in paths)
        # Process warm-up (imports, the mel filterbank), so "cold" means an empty cache.
        compute_spectrogram(np.zeros(32000, np.float32), 32000)
        ws.takes.figure(ids[0])
        cache_dir = ws.root / "cache"

        load, cold, warm, sizes = [], [], [], []
        for _ in range(ROUNDS):
            load.append(timed(lambda: [audio_io.read(p) for p in paths]))
            for f in cache_dir.rglob("*.npz"):
                f.unlink()
            cold.append(timed(lambda: [ws.takes.figure(t) for t in ids]))
            warm.append(timed(lambda: [ws.takes.figure(t) for t in ids]))
        sizes = [len(ws.takes.figure(t).to_json()) for t in ids]
        ws.close()
    base = statistics.median(load)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"{N_TAKES} takes, {seconds:.0f} s of 32 kHz audio, median of {ROUNDS} rounds")
    print(f"load 20 WAV files (baseline)   {base * 1000:8.1f} ms   1.00x")
    print(f"20 figures, cold cache         {c * 1000:8.1f} ms   {c / base:5.2f}x")
    print(f"20 figures, cached arrays      {w * 1000:8.1f} ms   {w / base:5.2f}x")
    print(f"cold / cached                                {c / w:5.2f}x")
    print(f"figure JSON per take: median {statistics.median(sizes) / 1024:.0f} KiB, "
          f"max {max(sizes) / 1024:.0f} KiB")


def bench_panel() -> None:
    """The Review panel to its first 20 cards, cached, vs 20 Audio widgets."""
    import ipywidgets as W

    from widgets.context import Context
    from widgets.demo import build_demo
    from widgets.review import ReviewPanel

    with tempfile.TemporaryDirectory() as d:
        summary = build_demo(Path(d) / "demo")
        ws = rasv.open(Path(d) / "demo")
        ctx = Context(ws, lang="en")
        ctx.role = ws.roles.get(summary["role"])
        ReviewPanel(ctx)  # warm: imports and the spectrogram cache

        def pile() -> None:
            paths = ws.takes.df(summary["task"], status="done").audio_path.tolist()[:N_TAKES]
            W.VBox([W.VBox([W.Label(p), W.Audio(value=ws.abspath(p).read_bytes(), format="wav",
                                                autoplay=False)]) for p in paths])

        def to_cards() -> tuple[float, float]:
            """As the workbench opens the tab: the panel, then its takes; seconds until the
            cards are sent, and until the star model and "Best so far" follow."""
            t0 = time.perf_counter()
            sent: list[float] = []
            panel = ReviewPanel(ctx, fill=False)
            panel.list.observe(lambda _c: sent.append(time.perf_counter()), "spectra_meta")
            panel.refresh()
            assert len(panel.list.items) == N_TAKES and len(panel.list.spectra_meta) == N_TAKES
            return sent[0] - t0, time.perf_counter() - t0

        base = statistics.median(timed(pile) for _ in range(ROUNDS))
        runs = [to_cards() for _ in range(ROUNDS)]
        cards = statistics.median(r[0] for r in runs)
        panel = statistics.median(r[1] for r in runs)
        ws.close()
    print(f"\nReview panel, first page of {N_TAKES} cards (Python side, cached thumbnails)")
    print(f"20 Audio + Label widgets (baseline) {base * 1000:8.1f} ms   1.00x")
    print(f"ReviewPanel to its 20 cards sent    {cards * 1000:8.1f} ms   {cards / base:5.2f}x")
    print(f"... and predictions, Best so far    {panel * 1000:8.1f} ms   {panel / base:5.2f}x")


if __name__ == "__main__":
    main()
    bench_panel()
