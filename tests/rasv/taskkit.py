"""Helpers for the task, grid and runner tests: clips, checkpoints and recording engines."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from rasv.engine import Capabilities, capabilities_for_version
from rasv.testing import FakeEngine, make_clip
from rasv.testing.checkpoints import make_checkpoint

_seeds = itertools.count(1)
_REPO = Path(__file__).resolve().parents[2]


def clip(ws, role, seconds: float = 4.0, *, text: str = "参考音频。", lang: str = "zh",
         category: str | None = None, name: str | None = None):
    """Add a generated clip (each call makes different audio) and return its record."""
    n = next(_seeds)
    src = make_clip(Path(ws.root) / "src" / f"c{n}.wav", seconds, seed=n, f0=100 + n)
    return ws.clips.add(role, src, text=text, lang=lang, category=category, name=name)


def model(ws, kind: str, version: str | None = "v2", name: str | None = None) -> int:
    """Register a fabricated checkpoint of ``version`` (None: one whose version is unknown)."""
    n = next(_seeds)
    # Trained-file names carry epoch and step, which also makes each file's bytes distinct
    # (identical weights would rightly share takes).
    stem = f"{name or kind}-e{n}" if kind == "gpt" else f"{name or kind}_e{n}_s{n * 10}"
    path = Path(ws.root) / "weights" / f"{stem}.{'ckpt' if kind == 'gpt' else 'pth'}"
    if version is not None:
        make_checkpoint(path, version=version)
        return ws.models.add(path).id
    # A file no sniffing can place: registered as the bridge would leave it, version NULL.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"{kind}-{n}".encode())
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with ws.store.transaction() as cur:
        return cur.execute(
            "INSERT INTO models(kind, path, name, sha256) VALUES (?, ?, ?, ?) RETURNING id",
            [kind, str(path), path.name, sha],
        ).fetchall()[0][0]


def aux(ws, seconds: float = 3.5):
    n = next(_seeds)
    src = make_clip(Path(ws.root) / "src" / f"a{n}.wav", seconds, seed=1000 + n)
    return ws.aux.add(src, text="辅助。", lang="zh")


class Recorder(FakeEngine):
    """A FakeEngine that also records which weights each request was made with."""

    def __init__(self, name: str = "rec", *, kind: str = "fake", **kw) -> None:
        super().__init__(name, **kw)
        self.kind = kind
        self.made: list[tuple[tuple[str | None, str | None], object]] = []
        self._made_lock = threading.Lock()

    def capabilities(self) -> Capabilities:
        return dataclasses.replace(super().capabilities(), kind=self.kind)

    def synthesize(self, req):
        with self._made_lock:
            self.made.append((self.current, req))
        return super().synthesize(req)


class GsvRecorder(Recorder):
    """A recording engine that says it is GPT-SoVITS (for tasks with checkpoints)."""

    def __init__(self, name: str = "gsv", *, version: str | None = "v2", **kw) -> None:
        super().__init__(name, kind="gpt-sovits", **kw)
        self.gsv_version = version

    def capabilities(self) -> Capabilities:
        return dataclasses.replace(capabilities_for_version(self.gsv_version), kind="gpt-sovits")


def take_files(ws_root) -> set[str]:
    """The take ids whose WAV a run has written (its private temporary files left out)."""
    folder = Path(ws_root) / "audio" / "takes"
    return {p.stem for p in folder.glob("*.wav") if not p.name.startswith(".")}


def kill_run_after(script: Path, args: list[str], ws_root, n: int, timeout: float) -> set[str]:
    """Run ``script`` (a task run) in a child, SIGKILL it once ``n`` takes are written.

    Returns the takes written by then. The child imports this checkout of rasv.
    """
    child = subprocess.Popen(
        [sys.executable, str(script), *args],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(_REPO), *sys.path])},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while len(take_files(ws_root)) < n:
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the child made no progress"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    return take_files(ws_root)
