"""The Voilà dashboard: the workbench notebook and the server process behind ``rasv serve``.

Voilà runs ``notebooks/workbench.ipynb`` (two lines: open the workspace named by
``$RASV_WORKSPACE``, show the :class:`~widgets.Workbench`) and serves only its widgets,
bound to 127.0.0.1. A kernel is preheated so the first page appears in well under a second
after the server is up (``research/stack-check.md`` §3b). When rasv is installed from a wheel
(no ``notebooks/`` folder beside the package) the same notebook is written from
:data:`DASHBOARD_SOURCE` into a cache folder.

Example:
    >>> nb = dashboard_notebook_json()
    >>> nb["cells"][0]["source"] == DASHBOARD_SOURCE
    True
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rasv.errors import InvalidInput, ServeError

#: The dashboard notebook's only cell. Ends with the widget so Voilà shows it.
DASHBOARD_SOURCE = "from widgets import Workbench\n\nWorkbench.from_env()"

#: Environment variables the dashboard kernel reads: the workspace, the engines (``espeak``,
#: api_v2 URLs, commas between) and the interface language.
WORKSPACE_ENV = "RASV_WORKSPACE"
ENGINES_ENV = "RASV_ENGINES"
LANG_ENV = "RASV_LANG"

DEFAULT_PORT = 8866

#: The Voilà template ``rasv serve`` uses, in :data:`JUPYTER_DATA` (a Jupyter data folder).
TEMPLATE = "rasv"
JUPYTER_DATA = Path(__file__).resolve().parent / "jupyter"

#: Preheated kernels waiting for the next page.
POOL_SIZE = 1

#: Seconds a kernel with no page connected may sit idle before it is culled, and the
#: environment variable that changes it (tests use a few seconds).
KERNEL_IDLE_S = 300
KERNEL_IDLE_ENV = "RASV_KERNEL_IDLE_S"

_REPO_NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "workbench.ipynb"


def dashboard_notebook_json() -> dict:
    """The dashboard notebook as nbformat-4 JSON.

    Example:
        >>> dashboard_notebook_json()["nbformat"]
        4
    """
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "workbench",
                "metadata": {},
                "outputs": [],
                "source": DASHBOARD_SOURCE,
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dashboard_notebook() -> Path:
    """The notebook Voilà serves: the checkout's ``notebooks/workbench.ipynb``, else a copy
    written from :data:`DASHBOARD_SOURCE` into a cache folder.

    Example:
        >>> dashboard_notebook().name
        'workbench.ipynb'
    """
    if _REPO_NOTEBOOK.is_file():
        return _REPO_NOTEBOOK
    folder = Path(tempfile.gettempdir()) / "rasv-dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "workbench.ipynb"
    text = json.dumps(dashboard_notebook_json(), indent=1, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port``.

    Example:
        >>> s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
        >>> port_free(s.getsockname()[1])
        False
        >>> s.close()
    """
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) != 0


def pick_port(preferred: int = DEFAULT_PORT, tries: int = 50) -> int:
    """``preferred`` if it is free, else the next free port above it.

    Example:
        >>> 18866 <= pick_port(18866) < 18916
        True
    """
    for port in range(preferred, preferred + tries):
        if port_free(port):
            return port
    raise ServeError(f"no free port between {preferred} and {preferred + tries - 1}")


def voila_command(notebook: Path, port: int, *, python: str | None = None,
                  idle_s: float | None = None) -> list[str]:
    """The Voilà command line ``rasv serve`` runs.

    Kernels are bounded: the pool holds one preheated kernel, a page that closes or reloads
    shuts its kernel down (``static/page.js`` makes Voilà's unload beacon acceptable), and a
    kernel no page has been connected to for ``idle_s`` seconds (default
    :data:`KERNEL_IDLE_S`, or ``$RASV_KERNEL_IDLE_S``) is culled, for pages whose beacon never
    came (a crashed browser, a lost network). A kernel with a page open is never culled, so a
    dashboard left open all day keeps working.

    Example:
        >>> cmd = voila_command(Path("wb.ipynb"), 8870, python="python", idle_s=60)
        >>> cmd[:3], "--Voila.ip=127.0.0.1" in cmd, "--preheat_kernel=True" in cmd
        (['python', '-m', 'voila'], True, True)
        >>> "--MappingKernelManager.cull_idle_timeout=60" in cmd
        True
    """
    if idle_s is None:
        idle_s = float(os.environ.get(KERNEL_IDLE_ENV) or KERNEL_IDLE_S)
    idle = max(1, round(idle_s))
    return [
        python or sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        # A kernel that has already run the notebook waits for the first page.
        "--preheat_kernel=True",
        f"--pool_size={POOL_SIZE}",
        # Cull kernels with no page connected (cull_connected=False) once idle that long;
        # Voilà never culls the preheated pool itself.
        f"--MappingKernelManager.cull_idle_timeout={idle}",
        f"--MappingKernelManager.cull_interval={max(1, min(60, idle // 4))}",
        "--MappingKernelManager.cull_connected=False",
        "--show_tracebacks=True",
        "--theme=light",
        # Voilà's lab page without links to a CDN (widgets/jupyter/voila/templates/rasv).
        f"--template={TEMPLATE}",
    ]


def dashboard_env(workspace: str | os.PathLike, *, lang: str | None = None,
                  engines: Sequence[str] = (), base: dict | None = None) -> dict[str, str]:
    """The environment of the Voilà process (its kernels inherit it).

    Example:
        >>> env = dashboard_env("/data/voices", lang="en", engines=["espeak"], base={})
        >>> env["RASV_WORKSPACE"].endswith("voices"), env["RASV_LANG"], env["RASV_ENGINES"]
        (True, 'en', 'espeak')
    """
    env = dict(os.environ if base is None else base)
    env[WORKSPACE_ENV] = str(Path(workspace).expanduser().resolve())
    if lang:
        env[LANG_ENV] = lang
    if engines:
        env[ENGINES_ENV] = ",".join(engines)
    # Voilà finds rasv's page template through the Jupyter data path.
    data = [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(JUPYTER_DATA) not in data:
        env["JUPYTER_PATH"] = os.pathsep.join([str(JUPYTER_DATA), *data])
    # The kernel must import this checkout's packages even when rasv is not installed.
    root = str(Path(__file__).resolve().parent.parent)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    return env


def start(workspace: str | os.PathLike, *, port: int | None = None, lang: str | None = None,
          engines: Sequence[str] = (), quiet: bool = False) -> tuple[subprocess.Popen, str]:
    """Start Voilà on the workbench for ``workspace``; return the process and its URL.

    Waits until the port answers (at most 60 s).

    Raises:
        InvalidInput: ``workspace`` is not a rasv workspace.
        ServeError: the port is taken, or Voilà exited or did not answer in time.
    """
    from rasv.workspace import DB_NAME

    ws_path = Path(workspace).expanduser().resolve()
    if not (ws_path / DB_NAME).is_file():
        raise InvalidInput(f"{ws_path} is not a rasv workspace (no {DB_NAME})")
    if port is None:
        port = pick_port(DEFAULT_PORT)
    elif not port_free(port):
        raise ServeError(f"port {port} is already in use; pick another with --port")
    cmd = voila_command(dashboard_notebook(), port)
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(cmd, env=dashboard_env(ws_path, lang=lang, engines=engines),
                            stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while port_free(port):
        if proc.poll() is not None:
            raise ServeError(f"Voilà exited with status {proc.returncode} before serving {url}")
        if time.monotonic() > deadline:
            stop(proc)
            raise ServeError(f"Voilà did not answer on {url} within 60 s")
        time.sleep(0.1)
    return proc, url


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server started by :func:`start` (terminate, then kill if it lingers)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def serve(workspace: str | os.PathLike, *, port: int | None = None, open_browser: bool = True,
          lang: str | None = None, engines: Sequence[str] = (),
          echo: Callable[[str], Any] = print) -> int:
    """Run the dashboard until Ctrl+C (or SIGTERM); returns the server's exit status.

    The Voilà process is stopped however this function ends, so no server is left behind.
    """
    proc, url = start(workspace, port=port, lang=lang, engines=engines)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager, `kill`) should stop Voilà too, like Ctrl+C does.
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        echo(f"rasv workbench on {url}  (Ctrl+C stops it)")
        if open_browser:
            with contextlib.suppress(Exception):  # no browser (SSH, container) is not an error
                webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(proc)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


__all__ = [
    "DASHBOARD_SOURCE",
    "DEFAULT_PORT",
    "ENGINES_ENV",
    "KERNEL_IDLE_ENV",
    "KERNEL_IDLE_S",
    "POOL_SIZE",
    "WORKSPACE_ENV",
    "LANG_ENV",
    "dashboard_env",
    "dashboard_notebook",
    "dashboard_notebook_json",
    "pick_port",
    "port_free",
    "serve",
    "start",
    "stop",
    "voila_command",
]
