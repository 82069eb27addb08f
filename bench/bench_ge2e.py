"""GE2E speaker embeddings: rasv's numpy forward pass against the same network in torch.

Run: python bench/bench_ge2e.py [--clips 64] [--threads 2]

Speaks ``--clips`` espeak sentences (five voices, 2–5 s), then embeds them in batches of the
backend's size with ``ResemblyzerBackend(engine="numpy")`` (what ``pip install -e .`` runs)
and, where torch is installed, ``engine="torch"`` on the CPU (the baseline, measured in the
same run). Prints the front-end's share, ms of compute per second of audio for each, their
ratio, and the largest cosine distance between the two engines' vectors.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from gsv_bridge.espeak import synth  # noqa: E402
from rasv.audio import resample  # noqa: E402
from rasv.classify.embeddings import ge2e_net  # noqa: E402
from rasv.classify.embeddings.ge2e import ResemblyzerBackend  # noqa: E402

VOICES = ["cmn+f3", "cmn+klatt4", "en-us+m7", "en-us+f5", "en-us+klatt"]
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "we",
         "walk", "to", "the", "park", "and", "talk", "about", "rain", "trains", "old", "books"]


def clips(n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        text = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(6 + i % 8))
        x, sr = synth(text, voice=VOICES[i % len(VOICES)], rate_wpm=130 + (i * 11) % 60)
        out.append(resample(x, sr, 16000).astype(np.float32))
    return out


def run(backend: ResemblyzerBackend, wavs: list[np.ndarray]) -> tuple[float, np.ndarray]:
    backend.embed(wavs[:2])  # load, warm caches
    t0 = time.perf_counter()
    vecs = [backend.embed(wavs[i:i + backend.batch_size])
            for i in range(0, len(wavs), backend.batch_size)]
    return time.perf_counter() - t0, np.concatenate(vecs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with threadpool_limits(args.threads):  # numpy's BLAS, as torch.set_num_threads below
        measure(args.clips, args.threads)


def measure(n: int, threads: int) -> None:
    wavs = clips(n)
    audio_s = sum(len(w) for w in wavs) / 16000
    print(f"{len(wavs)} clips, {audio_s:.1f} s of audio, {threads} threads")
    t0 = time.perf_counter()
    ge2e_net.clip_windows(wavs)
    front = time.perf_counter() - t0
    print(f"front-end (VAD, mel, windows): {1000 * front / audio_s:.2f} ms per audio-second")
    np_s, np_v = run(ResemblyzerBackend(device="cpu", engine="numpy"), wavs)
    print(f"numpy: {1000 * np_s / audio_s:.2f} ms per audio-second")
    if importlib.util.find_spec("torch") is None:
        print("torch: not installed, no baseline")
        return
    import torch

    torch.set_num_threads(threads)
    t_s, t_v = run(ResemblyzerBackend(device="cpu", engine="torch"), wavs)
    print(f"torch (cpu, baseline): {1000 * t_s / audio_s:.2f} ms per audio-second")
    print(f"ratio numpy / torch: {np_s / t_s:.2f}  "
          f"max cosine distance: {float((1 - (np_v * t_v).sum(axis=1)).max()):.2e}")


if __name__ == "__main__":
    main()
