"""Speaker-embedding throughput and the cached re-run for 1,000 clips, against reading the audio.

Run: python bench/bench_classify.py [--clips 1000] [--backend auto]

Generates espeak speech (five voices, ~3 s clips), imports it into a fresh workspace, then
times, each also as a ratio to the baseline measured in this run:

- baseline: decoding every clip at 16 kHz with ``rasv.audio.files.read`` (what embedding must do);
- the first ``ws.classify.embed`` (decode + model + cache writes), also in audio-seconds per
  second;
- the cached re-run of ``embed`` (hash lookups only), then ``similar_to`` and ``cluster`` on
  the cached vectors;
- silero-vad and the RMS slicer over the same audio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import timed  # noqa: E402

import rasv  # noqa: E402
from gsv_bridge.espeak import synth  # noqa: E402
from rasv.audio import vad  # noqa: E402
from rasv.audio.files import read, write_wav  # noqa: E402
from rasv.classify.embeddings import get_backend  # noqa: E402
from rasv.testing import write_list  # noqa: E402

VOICES = ["cmn+f3", "cmn+klatt4", "en-us+m7", "en-us+f5", "en-us+klatt"]
WORDS_ZH = ["今天", "天气", "很好", "我们", "一起", "去", "公园", "散步", "明天", "可能", "会",
            "下雨", "记得", "带伞", "火车", "马上", "就要", "开了"]
WORDS_EN = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "we",
            "walk", "to", "the", "park", "and", "talk", "about", "rain", "trains", "and", "old",
            "books"]


def build(folder: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        voice = VOICES[i % len(VOICES)]
        words = WORDS_ZH if voice.startswith("cmn") else WORDS_EN
        k = 6 + i % 5
        text = " ".join(words[(i * 7 + j * 3) % len(words)] for j in range(k))
        x, sr = synth(text, voice=voice, rate_wpm=120 + (i // 5) % 80)
        p = folder / f"{i // 100:02d}" / f"clip_{i:05d}.wav"
        write_wav(p, x, sr)
        rows.append((str(p), "spk", "ZH" if voice.startswith("cmn") else "EN", text))
    return Path(write_list(folder / "bench.list", rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rasv-bench-classify-"))
    try:
        secs, lst = timed(lambda: build(tmp / "src", args.clips))
        print(f"generated {args.clips} clips in {secs:.1f} s")
        ws = rasv.open(tmp / "ws", shared=False)
        role = ws.roles.create("bench")
        ws.clips.import_list(role, lst)
        paths = [ws.abspath(p) for p in ws.clips.df(role, sort="id").path]

        base, wavs = timed(lambda: [read(p, sr=16000)[0] for p in paths])
        audio_s = sum(len(w) for w in wavs) / 16000
        backend = get_backend(args.backend)
        load, _ = timed(lambda: backend.embed([wavs[0]]))  # model load, outside the timings

        cold, rep = timed(lambda: ws.classify.embed(role, backend=backend))
        n = len(paths)
        assert rep.computed == n, rep
        warm, rep2 = timed(lambda: ws.classify.embed(role, backend=backend))
        assert rep2.computed == 0 and rep2.cached == n, rep2
        seed = int(ws.clips.df(role, sort="id").id.iloc[0])
        sim, _ = timed(lambda: ws.classify.similar_to(seed, backend=backend))
        clu, cl = timed(lambda: ws.classify.cluster(role, backend=backend))
        sample = wavs[: max(1, len(wavs) // 5)]
        sample_s = sum(len(w) for w in sample) / 16000
        rows = [("read all clips at 16 kHz (baseline)", base)]
        rows.append((f"embed, first run ({backend.name})", cold))
        rows.append(("embed, cached re-run", warm))
        rows.append(("similar_to one seed (cached)", sim))
        rows.append(("cluster the role (cached)", clu))
        for name in ("silero", "rms"):
            try:
                t, _ = timed(lambda n=name: [vad.speech_segments(w, 16000, backend=n)
                                             for w in sample])
            except rasv.BackendUnavailable:
                continue
            rows.append((f"VAD {name} (all clips, extrapolated)", t * audio_s / sample_s))

        print(f"{n} clips, {audio_s:.0f} s of audio; model load {load:.1f} s "
              f"(not counted); {cl.cluster.nunique()} clusters found")
        print(f"{'':<42}{'seconds':>9}{'ratio':>9}{'audio-s/s':>11}")
        for label, secs in rows:
            print(f"{label:<42}{secs:>9.2f}{secs / base:>9.2f}{audio_s / secs:>11.0f}")
        print(f"embedding: {1000 * cold / audio_s:.1f} ms per audio-second; cached re-run "
              f"{1000 * warm / n:.2f} ms per clip (cpu count {os.cpu_count()})")
        ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
