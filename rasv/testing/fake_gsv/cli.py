"""``python -m rasv.testing.fake_gsv``: a fake server as a process (see :func:`main`).

Example:
    >>> main(["--help"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: 0
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rasv.testing.fake_gsv.base import FakeServer, Reply
from rasv.testing.fake_gsv.v1_server import FakeGsvApiV1Server
from rasv.testing.fake_gsv.v2_server import FakeGsvServer


def main(argv: list[str] | None = None) -> None:
    """Run a fake server until it is told to exit, killed, or interrupted.

    Accepts ``api_v2.py``'s flags (``-a`` address, ``-p`` port, ``-c`` config) plus
    ``--legacy`` (an ``api.py`` fake), ``--latency``, ``--switch-latency``, ``--root``,
    ``--version``, ``--startup-delay`` (seconds before listening) and ``--crash-after N``
    (the process dies abruptly on its N-th ``/tts``).
    """
    ap = argparse.ArgumentParser(prog="python -m rasv.testing.fake_gsv",
                                 description="A fake GPT-SoVITS api_v2 (or api.py) server.")
    ap.add_argument("-a", "--bind_addr", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, default=9880)
    ap.add_argument("-c", "--tts_config", default=None)
    ap.add_argument("--root", default=None, help="working folder (default: the current one)")
    ap.add_argument("--legacy", action="store_true", help="fake the legacy api.py instead")
    ap.add_argument("--version", default="v2")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--switch-latency", type=float, default=0.0)
    ap.add_argument("--startup-delay", type=float, default=0.0)
    ap.add_argument("--crash-after", type=int, default=0)
    args = ap.parse_args(argv)
    root = args.root or os.getcwd()
    common = {"host": args.bind_addr, "port": args.port, "root": root, "latency_s": args.latency,
              "switch_latency_s": args.switch_latency}
    if args.startup_delay:
        time.sleep(args.startup_delay)
    srv: FakeServer
    if args.legacy:
        srv = FakeGsvApiV1Server(version=args.version, **common)
    else:
        config = args.tts_config or "GPT_SoVITS/configs/tts_infer.yaml"
        srv = FakeGsvServer(config_path=Path(root) / config, version=args.version, **common)
    done = threading.Event()
    srv.on_exit = done.set
    if args.crash_after:
        original = srv._dispatch
        count = {"n": 0}

        def dispatch(method: str, route: str, params: dict[str, Any], raw: bytes) -> Reply:
            if route in ("/tts", "/"):
                count["n"] += 1
                if count["n"] >= args.crash_after:
                    sys.stdout.flush()
                    os._exit(3)  # a hard crash: no reply, no cleanup
            return original(method, route, params, raw)

        srv._dispatch = dispatch  # type: ignore[method-assign]
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    srv.start()
    print(f"INFO:     Uvicorn running on http://{args.bind_addr}:{srv.port} (Press CTRL+C to quit)",
          flush=True)
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.crash()


__all__ = ["main"]
