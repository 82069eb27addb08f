"""Helpers for driving the dashboard in a real browser (tests and ``bench/``).

Playwright drives the system Chromium (``apt-get install chromium``); nothing is downloaded,
and every request that does not go to the local server is refused, so a page that works here
works offline.

Example:
    >>> chromium_path() is None or chromium_path().endswith("chromium")
    True
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rasv.testing import interruptible
from widgets.dashboard import dashboard_env, pick_port, port_free

#: Chromium flags for a quiet, deterministic headless run. Autoplay is allowed because a
#: key press made by Playwright counts as a user gesture only on some Chromium versions.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

#: Environment variable that turns a missing Chromium into a test failure (CI sets it).
REQUIRE_ENV = "RASV_REQUIRE_BROWSER"

_LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")


def chromium_path() -> str | None:
    """The system Chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright: Any, *, width: int = 1400, height: int = 1000) -> tuple[Any, Any]:
    """Start headless Chromium; returns ``(browser, context)`` that only reaches 127.0.0.1."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(_LOCAL) else route.abort())
    return browser, context


def start_cli_server(workspace: str | os.PathLike, *, port: int | None = None,
                     lang: str = "en", timeout: float = 90.0) -> tuple[subprocess.Popen, str]:
    """Run ``rasv serve WORKSPACE --no-browser`` in a child process; return it and its URL.

    Stop it with :func:`stop_cli_server` (an interrupt, like Ctrl+C, so Voilà stops too).
    """
    port = port or pick_port(18866)
    env = dashboard_env(workspace)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasv", "serve", str(Path(workspace)), "--no-browser",
         "--port", str(port), "--lang", lang],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **interruptible(),
    )
    deadline = time.monotonic() + timeout
    while port_free(port):
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"rasv serve exited with {proc.returncode}:\n{out[-3000:]}")
        if time.monotonic() > deadline:
            stop_cli_server(proc)
            raise RuntimeError(f"rasv serve did not answer on port {port} in {timeout:.0f} s")
        time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/"


def stop_cli_server(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Interrupt a server started by :func:`start_cli_server` and wait for it."""
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.CTRL_BREAK_EVENT if os.name == "nt" else signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    if proc.stdout:
        proc.stdout.close()


def kernel_pids(server_pid: int) -> list[int]:
    """PIDs of the Jupyter kernels running under ``server_pid`` (Linux ``/proc``; Voilà has
    no kernel-listing API).

    Example:
        >>> kernel_pids(os.getpid())
        []
    """
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmd)

    def under(pid: int) -> bool:
        while pid in parents:
            pid = parents[pid][0]
            if pid == server_pid:
                return True
        return False

    return sorted(p for p, (_, cmd) in parents.items() if "ipykernel_launcher" in cmd and under(p))


__all__ = ["CHROMIUM_ARGS", "REQUIRE_ENV", "chromium_path", "kernel_pids", "launch",
           "start_cli_server", "stop_cli_server"]
