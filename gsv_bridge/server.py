"""``GsvServer``: start GPT-SoVITS's ``api_v2.py`` with the user's own interpreter, and a pool.

The server runs from the GPT-SoVITS root (it resolves its models against the working
directory) with a ``tts_infer.yaml`` that rasv writes in a folder it owns: the user's config
is never edited, though GPT-SoVITS itself rewrites *our* copy on every weight switch, which
is what brings a restarted server back with the last weights. The log is kept beside it.
A crashed server is started again on the next request (up to ``max_restarts`` times); stop
it with :meth:`GsvServer.stop` or a ``with`` block. Processes are started in their own group
(POSIX session / Windows process group) so stopping them never touches the notebook.

Example:
    >>> import sys, tempfile, os
    >>> root = tempfile.mkdtemp()
    >>> srv = GsvServer(root, port=9999, python=sys.executable, device="cpu",
    ...                 workdir=os.path.join(root, "run"))
    >>> srv.url, srv.command()[1:3]
    ('http://127.0.0.1:9999', ['api_v2.py', '-a'])
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from gsv_bridge.api_v2 import GsvApiV2
from rasv.errors import EngineUnavailable, InvalidInput

#: ``tts_infer.yaml`` defaults, relative to the GPT-SoVITS root.
BERT_PATH = "GPT_SoVITS/pretrained_models/chinese-roberta-wwm-ext-large"
HUBERT_PATH = "GPT_SoVITS/pretrained_models/chinese-hubert-base"
_PRETRAINED_PAIR = {
    "v1": ("s1bert25hz-2kh-longer-epoch=68e-step=50232.ckpt", "s2G488k.pth"),
    "v2": ("gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
           "gsv-v2final-pretrained/s2G2333k.pth"),
    "v3": ("s1v3.ckpt", "s2Gv3.pth"),
    "v4": ("s1v3.ckpt", "gsv-v4-pretrained/s2Gv4.pth"),
    "v2Pro": ("s1v3.ckpt", "v2Pro/s2Gv2Pro.pth"),
    "v2ProPlus": ("s1v3.ckpt", "v2Pro/s2Gv2ProPlus.pth"),
}

_live: weakref.WeakSet[GsvServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:  # a notebook kernel that exits must not leave GPU servers behind
    for srv in list(_live):
        with contextlib.suppress(Exception):
            srv.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now.

    Example:
        >>> 0 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_python(gsv_root: str | os.PathLike) -> str:
    """GPT-SoVITS's own interpreter when the root ships one, else the current one.

    The Windows integrated package carries ``runtime/python.exe``; a conda or venv install
    should be named explicitly with ``python=``.

    Example:
        >>> import sys, tempfile
        >>> find_python(tempfile.mkdtemp()) == sys.executable
        True
    """
    root = Path(gsv_root)
    for cand in (root / "runtime" / "python.exe", root / "runtime" / "bin" / "python",
                 root / "runtime" / "python"):
        if cand.is_file():
            return str(cand)
    return sys.executable


def installed_script(python: str, name: str, timeout: float = 60.0,
                     env: Mapping[str, str] | None = None) -> Path | None:
    """Where ``python`` imports the module ``name`` from (a pip-installed GPT-SoVITS).

    A GPT-SoVITS installed with pip (``gpt-sovits-cpufast``) keeps ``api_v2.py`` in its
    site-packages and its data (weights, pretrained models) in a folder of the user's: the
    script is then run by path with that folder as the working directory.

    Example:
        >>> import sys
        >>> installed_script(sys.executable, "no_such_module_here") is None
        True
    """
    code = ("import importlib.util, sys; s = importlib.util.find_spec(sys.argv[1]); "
            "print(s.origin if s and s.origin else '')")
    try:
        out = subprocess.run([python, "-c", code, name], capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL,
                             env=None if env is None else dict(env))
    except (OSError, subprocess.TimeoutExpired):
        return None
    origin = out.stdout.strip() if out.returncode == 0 else ""
    return Path(origin) if origin.endswith(".py") and Path(origin).is_file() else None


def split_device(device: str) -> tuple[str, str | None]:
    """``cuda:1`` → (``cuda``, ``"1"``): the GPU is chosen with CUDA_VISIBLE_DEVICES.

    GPT-SoVITS loads a few helper models on the default CUDA device whatever the config
    says, so one server per GPU is pinned by hiding the other GPUs from it.

    Example:
        >>> split_device("cuda:1"), split_device("cpu")
        (('cuda', '1'), ('cpu', None))
    """
    if device.startswith("cuda:"):
        return "cuda", device.split(":", 1)[1]
    return device, None


def write_tts_config(path: str | os.PathLike, *, gsv_root: str | os.PathLike, device: str,
                     is_half: bool, version: str, gpt: str | None, sovits: str | None) -> Path:
    """Write a GPT-SoVITS ``tts_infer.yaml`` with one ``custom`` block (absolute paths).

    Missing weights default to the pretrained pair of ``version``.

    Example:
        >>> import tempfile, os, yaml
        >>> d = tempfile.mkdtemp()
        >>> p = write_tts_config(os.path.join(d, "c.yaml"), gsv_root=d, device="cpu",
        ...                      is_half=False, version="v2", gpt=None, sovits=None)
        >>> yaml.safe_load(open(p))["custom"]["vits_weights_path"].endswith("s2G2333k.pth")
        True
    """
    import yaml

    root = Path(gsv_root).resolve()
    base = root / "GPT_SoVITS" / "pretrained_models"
    g_default, s_default = _PRETRAINED_PAIR.get(version, _PRETRAINED_PAIR["v2"])
    custom = {
        "device": device,
        "is_half": bool(is_half),
        "version": version,
        "t2s_weights_path": str(Path(gpt).resolve()) if gpt else str(base / g_default),
        "vits_weights_path": str(Path(sovits).resolve()) if sovits else str(base / s_default),
        "bert_base_path": str(root / BERT_PATH),
        "cnhuhbert_base_path": str(root / HUBERT_PATH),
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"custom": custom}, allow_unicode=True, sort_keys=False),
                   encoding="utf-8")
    os.replace(tmp, p)
    return p


def popen_group_kwargs() -> dict[str, Any]:
    """``Popen`` keywords that start a child in its own process group (so it can be stopped
    with everything it spawned).

    Example:
        >>> sorted(popen_group_kwargs()) in (["start_new_session"], ["creationflags"])
        True
    """
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def tail_lines(path: str | os.PathLike, n: int = 20) -> str:
    """The last ``n`` lines of a (log) file, '' when it cannot be read; only its end is read.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.log")
        >>> _ = open(p, "w").write("one\\ntwo\\nthree\\n")
        >>> tail_lines(p, 2), tail_lines(p + ".missing")
        ('two\\nthree', '')
    """
    try:
        data = Path(path).read_bytes()[-20000:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-n:])


def terminate(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> int | None:
    """Stop a process started with its own group: politely, then by force.

    Returns its exit status (None if it could not be reaped).
    """
    if proc.poll() is not None:
        return proc.returncode
    # Politely first (SIGTERM / terminate), then firmly (SIGKILL / kill), each with a grace.
    for posix_signal, windows_call in ((signal.SIGTERM, proc.terminate),
                                       (getattr(signal, "SIGKILL", signal.SIGTERM), proc.kill)):
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if os.name == "nt":
                windows_call()
            else:
                os.killpg(proc.pid, posix_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=grace_s)
    return None


class GsvServer:
    """One GPT-SoVITS ``api_v2.py`` process, started and watched by rasv.

    Args:
        gsv_root: the GPT-SoVITS folder (holding ``api_v2.py`` and ``GPT_SoVITS/``).
        port: the port (a free one when None); the server binds ``host`` (loopback).
        python: GPT-SoVITS's interpreter (default: ``runtime/python.exe`` in the root when
            present, else this interpreter).
        device: ``cuda``, ``cuda:N`` (pins GPU N), ``cpu`` or ``mps``.
        is_half: fp16 (default: on for CUDA).
        version: model version for the default (pretrained) weights.
        gpt, sovits: checkpoints to start with (default: the last ones this server used,
            else the pretrained pair of ``version``).
        workdir: the folder rasv owns for the config and the log (default: a folder under
            the system temp folder named after host and port).
        startup_timeout: seconds to wait for ``/openapi.json`` (loading takes a while).
        max_restarts: automatic restarts after crashes before giving up.
        env: extra environment variables for the server.
        script: the server script in the root (``api_v2.py``).
        engine_options: keyword arguments for the :class:`GsvApiV2` of :attr:`engine`.

    Example:
        >>> import sys, tempfile
        >>> GsvServer(tempfile.mkdtemp(), port=9881, python=sys.executable).running
        False
    """

    def __init__(self, gsv_root: str | os.PathLike, port: int | None = None, *,
                 python: str | os.PathLike | None = None, device: str = "cuda",
                 host: str = "127.0.0.1", is_half: bool | None = None, version: str = "v2",
                 gpt: str | os.PathLike | None = None, sovits: str | os.PathLike | None = None,
                 workdir: str | os.PathLike | None = None, startup_timeout: float = 600.0,
                 max_restarts: int = 3, env: Mapping[str, str] | None = None,
                 script: str = "api_v2.py", engine_options: Mapping[str, Any] | None = None) -> None:
        self.gsv_root = Path(gsv_root).expanduser().resolve()
        if not self.gsv_root.is_dir():
            raise InvalidInput(f"GPT-SoVITS folder not found: {self.gsv_root}")
        self.host = host
        self.port = int(port) if port is not None else free_port(host)
        self.python = str(python) if python else find_python(self.gsv_root)
        self.device = device
        self.is_half = (device.startswith("cuda") if is_half is None else bool(is_half))
        self.version = version
        self.gpt = str(gpt) if gpt else None
        self.sovits = str(sovits) if sovits else None
        self.workdir = Path(workdir) if workdir else Path(tempfile.gettempdir()) / "rasv-gsv" / \
            f"{host.replace(':', '_')}-{self.port}"
        self.config_path = self.workdir / "tts_infer.yaml"
        self.log_path = self.workdir / "server.log"
        self.startup_timeout = startup_timeout
        self.max_restarts = max_restarts
        self.restarts = 0
        self.env = dict(env or {})
        self.script = script
        self._script_path: Path | None = None
        self._started_with: tuple[str | None, str | None] = (None, None)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None
        self._lock = threading.RLock()
        self.engine = GsvApiV2(self.url, **dict(engine_options or {}))
        self.engine.on_unavailable = self.ensure_running

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<GsvServer {self.url} {self.device} ({state})>"

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id (None when stopped)."""
        return self._proc.pid if self.running and self._proc else None

    def command(self) -> list[str]:
        """The command line that starts the server (run from the GPT-SoVITS root).

        Example:
            >>> import tempfile
            >>> GsvServer(tempfile.mkdtemp(), port=9880, python="python").command()[:6]
            ['python', 'api_v2.py', '-a', '127.0.0.1', '-p', '9880']
        """
        script = self._script_path or self.script
        return [self.python, str(script), "-a", self.host, "-p", str(self.port),
                "-c", str(self.config_path)]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        _, gpu = split_device(self.device)
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        env.setdefault("PYTHONUNBUFFERED", "1")
        # A pip-installed GPT-SoVITS finds its data folder and config through these (an
        # upstream checkout ignores them); without them it would use its site-packages copy.
        env["GPT_SOVITS_DATA_DIR"] = str(self.gsv_root)
        env["GPT_SOVITS_TTS_CONFIG"] = str(self.config_path)
        return env

    def _write_config(self) -> None:
        gpt, sovits = self.gpt, self.sovits
        if self.config_path.is_file() and (gpt is None or sovits is None):
            # Our earlier run's config holds the weights it last loaded (GPT-SoVITS saves them).
            import yaml

            old = (yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}).get("custom", {})

            def still_there(key: str) -> str | None:
                # A config left by an earlier session may name weights deleted since; GPT-SoVITS
                # would then fail to start, so fall back to its pretrained defaults instead.
                value = old.get(key)
                return value if value and (self.gsv_root / value).is_file() else None

            gpt = gpt or still_there("t2s_weights_path")
            sovits = sovits or still_there("vits_weights_path")
        version = self.version
        if sovits:
            from rasv.errors import CheckpointError
            from rasv.models import sniff

            with contextlib.suppress(CheckpointError):
                version = sniff(sovits).version or version
        device, _ = split_device(self.device)
        self._started_with = (gpt, sovits)
        write_tts_config(self.config_path, gsv_root=self.gsv_root, device=device,
                         is_half=self.is_half, version=version, gpt=gpt, sovits=sovits)

    def start(self) -> GsvServer:
        """Start the server and wait until it answers; a no-op when it runs.

        Raises:
            EngineUnavailable: the port is taken, the script is missing, the process exited
                during start-up, or it did not answer within ``startup_timeout`` (the log's
                last lines are in the message).

        Example:
            >>> import sys, tempfile
            >>> from rasv.testing import make_gsv_root   # a stand-in GPT-SoVITS folder
            >>> srv = GsvServer(make_gsv_root(tempfile.mkdtemp()), python=sys.executable,
            ...                 device="cpu", workdir=tempfile.mkdtemp(), startup_timeout=60)
            >>> srv.start().running, srv.engine.server_info().kind
            (True, 'api_v2')
            >>> srv.stop()
        """
        with self._lock:
            if self.running:
                return self
            script = self.gsv_root / self.script
            if script.is_file():
                self._script_path = None
            else:
                # No script in the folder: a pip install keeps it in site-packages.
                self._script_path = installed_script(self.python, Path(self.script).stem,
                                                     env=self._environment())
                if self._script_path is None:
                    raise EngineUnavailable(
                        f"{script} not found, and {self.python} has no installed "
                        f"{Path(self.script).stem} module; gsv_root must be the GPT-SoVITS "
                        f"folder that holds {self.script}, or the data folder of a pip-installed "
                        "GPT-SoVITS whose interpreter is given as python=")
            if _port_in_use(self.host, self.port):
                raise EngineUnavailable(f"port {self.port} on {self.host} is already in use; "
                                        "pick another port or stop what runs there")
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._write_config()
            log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
            log.write(f"\n==== rasv: starting {' '.join(self.command())} at "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            try:
                self._proc = subprocess.Popen(
                    self.command(), cwd=self.gsv_root, env=self._environment(),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    **popen_group_kwargs())
            except OSError as e:
                log.close()
                raise EngineUnavailable(f"cannot start {self.python}: {e}") from None
            self._log = log
            _live.add(self)
            proc = self._proc
        # A new process has empty caches and holds the weights of its config.
        self.engine.cache.reset()
        self.engine.assume_loaded(*self._started_with)
        try:
            self.engine.wait_ready(self.startup_timeout, alive=lambda: proc.poll() is None)
        except EngineUnavailable as e:
            code = proc.poll()
            self.stop()
            why = f"exited with status {code}" if code is not None else str(e)
            raise EngineUnavailable(
                f"GPT-SoVITS server {self.url} did not come up ({why}); last log lines:\n"
                f"{self.log_tail(15)}") from None
        return self

    def ensure_running(self) -> bool:
        """Start the server again if it died; True when it was restarted.

        Called by :attr:`engine` when the server cannot be reached. Gives up (returns False)
        after ``max_restarts`` restarts, so a server that crashes on every request does not
        loop for ever.

        Example:
            >>> import sys, tempfile
            >>> srv = GsvServer(tempfile.mkdtemp(), python=sys.executable,
            ...                 workdir=tempfile.mkdtemp())
            >>> srv.ensure_running()   # never started: nothing to bring back
            False
        """
        with self._lock:
            if self._proc is None:
                return False
            try:
                # A crashing server drops its connections a moment before it can be reaped.
                self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                return False  # alive: the failure was something else (a timeout, say)
            if self.restarts >= self.max_restarts:
                return False
            code = self._proc.returncode
            self._close_log(f"==== rasv: server exited with status {code}; restarting")
            self._proc = None
            self.restarts += 1
        self.start()
        return True

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop the server (polite signal, then force) and close its log. Safe to repeat.

        Example:
            >>> import sys, tempfile
            >>> srv = GsvServer(tempfile.mkdtemp(), python=sys.executable,
            ...                 workdir=tempfile.mkdtemp())
            >>> srv.stop(); srv.stop(); srv.running
            False
        """
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                code = terminate(proc, grace_s)
                self._close_log(f"==== rasv: stopped (status {code})")
            _live.discard(self)
        self.engine.close()

    def _close_log(self, line: str) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.write(f"{line}\n".encode())
                self._log.close()
            self._log = None

    def log_tail(self, n: int = 20) -> str:
        """The last ``n`` lines of the server log ('' before the first start).

        Example:
            >>> import sys, tempfile
            >>> srv = GsvServer(tempfile.mkdtemp(), python=sys.executable,
            ...                 workdir=tempfile.mkdtemp())
            >>> srv.log_tail()
            ''
        """
        return tail_lines(self.log_path, n)

    def __enter__(self) -> GsvServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def pool(cls, n: int, gsv_root: str | os.PathLike, *, devices: Sequence[str] | None = None,
             base_port: int | None = None, **kwargs: Any) -> ServerPool:
        """``n`` servers: one per device in ``devices`` (e.g. one per GPU), or ``n`` on one.

        Ports are ``base_port + i`` when given, else free ports. Start them with
        ``with GsvServer.pool(...) as pool:`` and hand ``pool.engines`` to the runner, which
        gives each engine whole checkpoint pairs.

        Example:
            >>> import sys, tempfile
            >>> p = GsvServer.pool(2, tempfile.mkdtemp(), devices=["cuda:0", "cuda:1"],
            ...                    base_port=9890, python=sys.executable)
            >>> [s.port for s in p], [s.device for s in p]
            ([9890, 9891], ['cuda:0', 'cuda:1'])
        """
        if n < 1:
            raise InvalidInput(f"a pool needs at least one server, got {n}")
        if devices is not None and len(devices) != n:
            raise InvalidInput(f"{n} servers but {len(devices)} devices; give one device each")
        servers = []
        for i in range(n):
            kw = dict(kwargs)
            if devices is not None:
                kw["device"] = devices[i]
            port = base_port + i if base_port is not None else None
            servers.append(cls(gsv_root, port, **kw))
        return ServerPool(servers)


class ServerPool:
    """Several :class:`GsvServer` processes started and stopped together.

    Example:
        >>> ServerPool([]).engines
        []
    """

    def __init__(self, servers: Sequence[GsvServer]) -> None:
        self.servers = list(servers)

    def __iter__(self) -> Iterator[GsvServer]:
        return iter(self.servers)

    def __len__(self) -> int:
        return len(self.servers)

    def __getitem__(self, i: int) -> GsvServer:
        return self.servers[i]

    @property
    def engines(self) -> list[GsvApiV2]:
        """One engine per server, for ``ws.tasks.run(task, pool.engines)``."""
        return [s.engine for s in self.servers]

    def start(self) -> ServerPool:
        """Start every server in parallel; if one fails, stop them all and raise.

        Example:
            >>> import sys, tempfile
            >>> from rasv.testing import make_gsv_root
            >>> pool = GsvServer.pool(2, make_gsv_root(tempfile.mkdtemp()), device="cpu",
            ...                       python=sys.executable, startup_timeout=60)
            >>> [s.running for s in pool.start()], len(pool.engines)
            ([True, True], 2)
            >>> pool.stop()
        """
        errors: list[BaseException] = []

        def run(s: GsvServer) -> None:
            try:
                s.start()
            except BaseException as e:  # collected and re-raised below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in self.servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop every server (safe to repeat).

        Example:
            >>> import sys, tempfile
            >>> pool = GsvServer.pool(2, tempfile.mkdtemp(), python=sys.executable)
            >>> pool.stop(); [s.running for s in pool]
            [False, False]
        """
        for s in self.servers:
            s.stop()

    def __enter__(self) -> ServerPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


__all__ = ["GsvServer", "ServerPool", "find_python", "free_port", "installed_script",
           "popen_group_kwargs", "tail_lines", "terminate", "write_tts_config"]
