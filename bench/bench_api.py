"""Load test of ``rasv api`` against fake GPT-SoVITS api_v2 servers with a fixed latency.

Each fake server is ``python -m rasv.testing.fake_gsv`` in its own process (real HTTP, one
request at a time, like api_v2.py), and so is ``rasv api`` itself. 20 client threads send 200 OpenAI speech requests in all
(10 each, each client cycling over three products that sit on three different checkpoint
pairs). Prints ratios measured in this run:

1. errors (goal 0);
2. throughput on two servers over one server, same load (goal >= 1.9);
3. weight switches on two servers over the product changes in the arrival order, the
   switches a pool that ignores loaded weights would make (goal <= 1.0; the least possible
   is one load per pair);
4. rasv's added latency at p95: one client, one product, the same request sent through
   rasv and straight to the engine; (p95 via rasv - p95 direct) / p95 direct (goal <= 0.05).

Run: python bench/bench_api.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

import rasv  # noqa: E402
from gsv_bridge import GsvApiV2  # noqa: E402
from gsv_bridge.server import free_port  # noqa: E402
from rasv.testing import make_checkpoint, make_clip  # noqa: E402
from rasv.testing.fake_gsv import fake_gsv_processes  # noqa: E402

PRODUCTS = ("温柔", "生气", "平静")


def workspace() -> rasv.Workspace:
    """Three products of one role, each on its own (GPT, SoVITS) pair."""
    ws = rasv.open(tempfile.mkdtemp(prefix="rasv-bench-ws-"))
    role = ws.roles.create("女-小红")
    clip = ws.clips.add(role, make_clip(ws.root / "ref.wav", 4.0), text="参考音频。")
    for i, name in enumerate(PRODUCTS):
        g = ws.models.add(make_checkpoint(ws.root / "models" / f"p{i}-e1.ckpt"))
        s = ws.models.add(make_checkpoint(ws.root / "models" / f"p{i}_e1_s9.pth"))
        ws.products.create(role, name, clip=clip.id, gpt=g.id, sovits=s.id,
                           params=rasv.Params(seed=i + 1))
    return ws


class Api:
    """``rasv api`` in its own process (as users run it; its threads do not share the
    clients' GIL)."""

    def __init__(self, ws: rasv.Workspace, urls: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        engines = [a for u in urls for a in ("--engine", u)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rasv", "api", str(ws.root), *engines, "--port",
             str(self.port), "--max-queue", "256"], env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health").status_code == 200:
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("rasv api did not start")
            time.sleep(0.1)

    def health(self) -> dict:
        return httpx.get(self.url + "/health").json()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # `rasv api` stops and flushes its log
        self.proc.wait(20)


def load(ws: rasv.Workspace, urls: list[str], clients: int, per_client: int) -> dict:
    """Run the load; returns throughput, errors, switches and the arrival-order changes."""
    srv = Api(ws, urls)
    errors, arrivals = [], []
    lock = threading.Lock()
    go = threading.Barrier(clients + 1)

    def client(c: int) -> None:
        with httpx.Client(timeout=120) as http:
            go.wait()
            for i in range(per_client):
                product = PRODUCTS[(c + i) % len(PRODUCTS)]
                with lock:
                    arrivals.append(product)
                try:
                    r = http.post(srv.url + "/v1/audio/speech", json={
                        "model": "tts-1", "voice": f"女-小红/{product}",
                        "response_format": "wav", "input": f"第{c}位客人的第{i}句话。"})
                    status = r.status_code
                except httpx.HTTPError as e:
                    status = type(e).__name__
                if status != 200:
                    with lock:
                        errors.append(status)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    health = srv.health()
    srv.stop()
    changes = sum(a != b for a, b in zip(arrivals, arrivals[1:], strict=False))
    return {"wall": wall, "rps": clients * per_client / wall, "errors": len(errors),
            "switches": sum(e["switches"] for e in health["engines"]), "changes": changes}


def added_latency(ws: rasv.Workspace, url: str, n: int) -> tuple[float, float]:
    """p95 seconds of the same request straight to the engine and through rasv."""
    pid = int(ws.sql("SELECT id FROM products WHERE name = ?", [PRODUCTS[0]]).id[0])
    body = ws.products.export_request(pid, "今天天气很好，我们去公园散步吧。", "zh")
    srv = Api(ws, [url])
    direct, via = [], []
    with httpx.Client(timeout=60) as http:
        pre = ws.products.preset(pid)
        GsvApiV2(url).load(pre.gpt.path, pre.sovits.path)  # same weights for both paths
        http.post(srv.url + "/v1/audio/speech", json={
            "model": "tts-1", "voice": PRODUCTS[0], "input": body["text"],
            "response_format": "wav"})  # warm: the switch is not latency
        for _ in range(n):
            t = time.perf_counter()
            r = http.post(url + "/tts", json=body)
            direct.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
            t = time.perf_counter()
            r = http.post(srv.url + "/v1/audio/speech", json={
                "model": "tts-1", "voice": PRODUCTS[0], "input": body["text"],
                "response_format": "wav"})
            via.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    srv.stop()
    return float(np.percentile(direct, 95)), float(np.percentile(via, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    ap.add_argument("--latency", type=float, default=0.5,
                    help="seconds each fake /tts takes (GPT-SoVITS on a GPU: 0.5-2 s a sentence)")
    ap.add_argument("--switch-latency", type=float, default=0.5,
                    help="seconds each fake weight switch takes (GPT and SoVITS each)")
    args = ap.parse_args()
    clients, per_client = (20, 3) if args.quick else (20, 10)
    latency, switch_latency = args.latency, args.switch_latency
    ws = workspace()
    with fake_gsv_processes(2, latency=latency, switch_latency=switch_latency) as urls:
        one = load(ws, urls[:1], clients, per_client)
    with fake_gsv_processes(2, latency=latency, switch_latency=switch_latency) as urls:
        two = load(ws, urls, clients, per_client)
        p95_direct, p95_via = added_latency(ws, urls[0], 20 if args.quick else 60)
    n = clients * per_client
    rows = ws.sql("SELECT count(*) AS n, count(DISTINCT voice) AS voices FROM api_requests")
    added = (p95_via - p95_direct) / p95_direct
    print(f"{n} requests, {clients} clients, 3 products on 3 checkpoint pairs, engine latency "
          f"{latency} s, switch {switch_latency} s")
    print(f"errors: {one['errors']} on one server, {two['errors']} on two (goal 0)")
    print(f"throughput: {one['rps']:.2f} req/s on one server, {two['rps']:.2f} on two: "
          f"ratio {two['rps'] / one['rps']:.2f} (goal >= 1.9)")
    print(f"weight switches on two servers: {two['switches']} (one server: {one['switches']});"
          f" product changes in arrival order: {two['changes']}: ratio "
          f"{two['switches'] / max(two['changes'], 1):.3f} (goal <= 1.0; least possible 3)")
    print(f"p95 latency: {p95_direct * 1000:.1f} ms straight to the engine, "
          f"{p95_via * 1000:.1f} ms through rasv: added {added:+.3f} of the engine's "
          "(goal <= 0.05)")
    print(f"requests recorded in api_requests: {int(rows.n[0])} over {int(rows.voices[0])} voices")


if __name__ == "__main__":
    main()
