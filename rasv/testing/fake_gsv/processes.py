"""Fake servers in processes of their own, for benchmarks and tests that need real isolation.

A :class:`~rasv.testing.fake_gsv.FakeGsvServer` in a thread shares the GIL with its client;
``python -m rasv.testing.fake_gsv`` in a child process does not, so timings and concurrency
look like a real ``api_v2.py``.

Example:
    >>> import json, urllib.request
    >>> with fake_gsv_processes(1) as (url,):
    ...     doc = json.load(urllib.request.urlopen(url + "/openapi.json"))
    >>> "/tts" in doc["paths"]
    True
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: The folder holding this ``rasv`` package: the children must import this copy of it.
_SOURCE = str(Path(__file__).resolve().parents[3])


@contextlib.contextmanager
def fake_gsv_processes(n: int, *, latency: float = 0.0, switch_latency: float = 0.0,
                       root: str | os.PathLike | None = None) -> Iterator[list[str]]:
    """Start ``n`` fake api_v2 servers, each its own process; yield their URLs, then stop them.

    Each listens on a port the OS picks (read back from its start-up line, so two runs never
    race for a port) and works in its own folder under ``root`` (default: a new temporary one).

    Example:
        >>> with fake_gsv_processes(2, latency=0.01) as urls:
        ...     len(set(urls)), urls[0].startswith("http://127.0.0.1:")
        (2, True)
    """
    base = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="rasv-fake-gsv-"))
    path = os.pathsep.join(p for p in (_SOURCE, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(n):
            (base / str(i)).mkdir(parents=True, exist_ok=True)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "rasv.testing.fake_gsv", "--port", "0",
                 "--root", str(base / str(i)), "--latency", str(latency),
                 "--switch-latency", str(switch_latency)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
        yield [_listening_url(p) for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


def _listening_url(proc: subprocess.Popen[bytes]) -> str:
    """The URL in the server's "Uvicorn running on …" line (the line says it listens)."""
    assert proc.stdout is not None
    line = proc.stdout.readline().decode(errors="replace")
    found = re.search(r"http://[\w.]+:\d+", line)
    if found is None:
        raise RuntimeError(f"the fake GPT-SoVITS server did not start (exit {proc.poll()}): "
                           f"{line.strip() or 'no output'}")
    return found.group(0)


__all__ = ["fake_gsv_processes"]
