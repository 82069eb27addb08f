"""Benchmark: the per-take cost of rasv against the same requests sent straight to api_v2.

Runs the real GPT-SoVITS pipeline (the PyPI fork with random-init weights, see
``rasv.testing.real_gsv``; the first run installs it, minutes). One ``api_v2`` server on the
v2 pair; the same takes (texts × seeds, one reference) are made twice:

- directly: ``POST /tts`` with the body rasv would send, after one ``/set_refer_audio`` and a
  warm-up request (the baseline);
- through rasv: ``ws.tasks.run(task, server)`` (planning, the take-identity protocol, checks,
  WAV writing, the workspace's records).

Prints milliseconds per take for each and their ratio (rasv / direct), measured in the same
run on the same server; the direct pass runs before and after rasv's, and its mean is used.

Run from the repository root: ``python bench/bench_gsv_real.py [--texts N] [--seeds N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import rasv  # noqa: E402
from gsv_bridge import GsvServer  # noqa: E402
from rasv.audio import write_wav  # noqa: E402
from rasv.testing import real_gsv  # noqa: E402

TEXTS = ["今天天气很好。", "我们去公园散步吧。", "公园里有很多花。", "走累了就休息一会儿。",
         "傍晚的时候回家吃饭。", "明天见。", "这是一个测试。", "谢谢你的帮助。"]


def _direct(url: str, bodies: list[dict], ref: str) -> float:
    """Seconds per request for the bodies sent as they are (after loading the reference)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    query = urllib.parse.urlencode({"refer_audio_path": ref})
    opener.open(f"{url}/set_refer_audio?{query}", timeout=600).read()

    def post(body: dict) -> bytes:
        req = urllib.request.Request(url + "/tts", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with opener.open(req, timeout=600) as reply:
            return reply.read()

    post(bodies[0])  # warm-up, as rasv does once per fresh server
    t0 = time.perf_counter()
    for body in bodies:
        post(body)
    return (time.perf_counter() - t0) / len(bodies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=4, help="texts per run (at most 8)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per text")
    args = ap.parse_args()
    texts = TEXTS[:max(1, min(args.texts, len(TEXTS)))]
    seeds = list(range(1, args.seeds + 1))

    t0 = time.perf_counter()
    gsv = real_gsv.install()
    print(f"setup: {time.perf_counter() - t0:.1f} s (venv {gsv.timings['venv_s']:.1f} s, "
          f"weights {gsv.timings['build_s']:.1f} s; cached after the first run)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-gsv-"))
    sr = 32000
    t = np.arange(int(4.5 * sr)) / sr
    wave = 0.3 * np.sin(2 * np.pi * 170 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    ref = tmp / "ref.wav"
    write_wav(ref, wave.astype(np.float32), sr)
    g, s = gsv.weights["v2"]
    ws = rasv.open(tmp / "ws")
    role = ws.roles.create("女声-bench")
    clip = ws.clips.add(role, ref, text="参考音频的文本。", lang="zh")
    gm, sm = ws.models.add(g, role=role), ws.models.add(s, role=role)
    task = ws.tasks.create(role, "bench", texts, clips=[clip], gpt=gm, sovits=sm, seeds=seeds)
    clip_path = str(ws.clips.abspath(clip.id)) if hasattr(ws.clips, "abspath") else str(ref)
    bodies = [rasv.SynthesisRequest(text=x, text_lang="zh", ref_audio_path=clip_path,
                                    prompt_text="参考音频的文本。", prompt_lang="zh",
                                    seed=seed).to_api_body() | {"media_type": "wav",
                                                                "streaming_mode": False}
              for x in texts for seed in seeds]
    t0 = time.perf_counter()
    with GsvServer(gsv.root, python=gsv.python, device="cpu", env=gsv.env, gpt=g, sovits=s,
                   workdir=tmp / "srv", startup_timeout=600,
                   engine_options={"timeout": 600}) as srv:
        print(f"server ready: {time.perf_counter() - t0:.1f} s")
        before = _direct(srv.url, bodies, clip_path)
        t0 = time.perf_counter()
        run = ws.tasks.run(task, srv, retries=0)
        through = (time.perf_counter() - t0) / max(1, run.progress.done)
        after = _direct(srv.url, bodies, clip_path)
        srv.engine.cache.reset()
    direct = (before + after) / 2
    n = len(bodies)
    print(f"takes: {n} ({len(texts)} texts x {len(seeds)} seeds), made by rasv: "
          f"{run.progress.done}, failed: {run.progress.failed}")
    print(f"direct api_v2 : {direct * 1000:8.0f} ms/take (before {before * 1000:.0f}, "
          f"after {after * 1000:.0f})")
    print(f"through rasv  : {through * 1000:8.0f} ms/take (incl. its one warm-up and "
          "reference load)")
    print(f"ratio rasv/direct: {through / direct:.2f}")
    ws.close()


if __name__ == "__main__":
    main()
