"""What the Classify, Split, Long text and Products panels add on top of the library calls.

Run: python bench/bench_panels.py [--clips 500] [--products 200]

Builds a workspace of generated clips (numpy voices at several pitches; no models needed:
the embeddings come from ``rasv.testing.FakeEmbeddingBackend``), then times each panel
action against the library call it wraps, measured in this run, and prints the ratio: the
panel's own cost (tables, figures, widget state) is ``ratio - 1`` of the library's. Also
printed: what the browser receives (figure JSON, table rows) in kilobytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from benchkit import timed  # noqa: E402

import rasv  # noqa: E402
from rasv.audio.files import read, write_wav  # noqa: E402
from rasv.testing import FakeEmbeddingBackend, FakeEngine, make_voice, write_list  # noqa: E402
from widgets.classify import ClassifyPanel  # noqa: E402
from widgets.context import Context  # noqa: E402
from widgets.longtext import LongTextPanel  # noqa: E402
from widgets.player import Player  # noqa: E402
from widgets.products import ProductsPanel  # noqa: E402
from widgets.split import SplitPanel  # noqa: E402

F0S = [100, 130, 170, 220, 280]


def kb(obj) -> float:  # type: ignore[no-untyped-def]
    return len(json.dumps(obj, default=str).encode()) / 1024


def build(folder: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        f0 = F0S[i % len(F0S)] * (1 + 0.02 * ((i // 5) % 5))
        x = make_voice(2.0 + (i % 7) * 0.5, 16000, f0=f0, seed=i)
        p = folder / f"c{i:05d}.wav"
        write_wav(p, x, 16000)
        rows.append((str(p), "spk", "ZH", f"第{i}句"))
    return Path(write_list(folder / "bench.list", rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=500)
    ap.add_argument("--products", type=int, default=200)
    args = ap.parse_args()
    Player.send = lambda self, msg, buffers=None: None  # no browser on the other end
    tmp = Path(tempfile.mkdtemp(prefix="rasv-bench-panels-"))
    rows: list[tuple[str, float, float, str]] = []
    try:
        lst = build(tmp / "src", args.clips)
        ws = rasv.open(tmp / "ws", shared=False)
        role = ws.roles.create("bench-panels")
        ws.clips.import_list(role, lst)
        fake = FakeEmbeddingBackend()
        ws.classify.embed(role, backend=fake)
        ctx = Context(ws, lang="en", engines=[FakeEngine()])
        ctx.role = role

        # -- Classify -------------------------------------------------------------------
        build_s, classify = timed(lambda: ClassifyPanel(ctx))
        classify.backend_name.value = "rasv.testing:FakeEmbeddingBackend"
        seed = int(ws.clips.df(role, sort="id").id.iloc[0])
        base, _ = timed(lambda: ws.classify.similar_to(seed, backend=fake), 3)
        panel, _ = timed(lambda: classify.compare(seed, wait=True), 3)
        payload = kb(classify.ranked.rows) + kb(classify.histogram.figure.to_plotly_json())
        rows.append(("classify: compare (histogram + list)", base, panel,
                     f"{payload:.0f} kB"))
        base, _ = timed(lambda: ws.classify.cluster(role, backend=fake), 3)
        panel, _ = timed(lambda: classify.cluster(wait=True), 3)
        payload = kb(classify.map.figure.to_plotly_json()) + kb(classify.summary.rows) + kb(
            classify.members.rows)
        rows.append(("classify: cluster (map + tables)", base, panel, f"{payload:.0f} kB"))

        # -- Split ------------------------------------------------------------------------
        long_a = tmp / "long_a.wav"
        long_b = tmp / "long_b.wav"
        write_wav(long_a, make_voice(60.0, 32000, f0=150, seed=1, pause_every=8), 32000)
        write_wav(long_b, make_voice(60.0, 32000, f0=190, seed=2, pause_every=8), 32000)
        a = ws.clips.add(role, long_a)
        b = ws.clips.add(role, long_b)
        split = SplitPanel(ctx)  # opens the longest clip: one of the two
        shown = split.clip_id
        other = b.id if shown == a.id else a.id
        base, _ = timed(lambda: read(ws.clips.abspath(other), sr=None), 3)
        first, _ = timed(lambda: split.choose(other))
        payload = kb(split.figure.figure.to_plotly_json())
        again, _ = timed(lambda: split.choose(shown))
        rows.append(("split: open a 60 s clip, first time", base, first, f"{payload:.0f} kB"))
        rows.append(("split: open one again (cached visuals)", base, again, ""))
        split.add_region(1.0, 8.0)
        split.add_region(12.0, 15.5)
        base, _ = timed(lambda: ws.clips.split(shown, [[(20.0, 27.0)]]))
        panel, _ = timed(split.split)
        rows.append(("split: cut one segment", base, panel, ""))

        # -- Long text -------------------------------------------------------------------
        clip = int(ws.clips.df(role, valid=True, sort="id").id.iloc[0])
        product = ws.products.create(role, "bench", clip=clip, params=rasv.Params(seed=1),
                                     engine_kind="fake")
        sentence = "这是一个用来测试长文本朗读的句子，里面有逗号，也有句号。"
        text_a = "".join(f"{sentence}{i}。" for i in range(40))
        text_b = "".join(f"{sentence}第{i}段。" for i in range(40))
        base, run = timed(lambda: ws.longtext.render(product.id, text_a, FakeEngine()))
        lt = LongTextPanel(ctx)
        lt.use_product(product.id)
        lt.custom.value = text_b
        panel, run_b = timed(lambda: lt.render(wait=True))
        rows.append((f"long text: render {len(run.chunks)} chunks (fake engine)", base, panel,
                     f"{kb(lt.chunks.rows):.0f} kB"))

        # -- Products --------------------------------------------------------------------
        ids = ws.clips.df(role, valid=True, sort="id").id.tolist()
        for i in range(args.products):
            ws.products.create(role, f"p{i}", clip=int(ids[i % len(ids)]),
                               params=rasv.Params(top_k=5 + i % 20, seed=i), score=i % 6)
        products = ProductsPanel(ctx)
        base, _ = timed(lambda: ws.products.df(role), 3)
        panel, _ = timed(products.refresh, 3)
        rows.append((f"products: refresh {args.products + 1} products", base, panel,
                     f"{kb(products.table.rows):.0f} kB"))

        print(f"{args.clips} clips, {args.products + 1} products; panel builds: classify "
              f"{build_s:.2f} s")
        print(f"{'':<44}{'library s':>10}{'panel s':>9}{'ratio':>8}  to browser")
        for label, lib, pan, extra in rows:
            print(f"{label:<44}{lib:>10.3f}{pan:>9.3f}{pan / lib:>8.2f}  {extra}")
        assert np.isfinite([r[2] for r in rows]).all()
        ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
