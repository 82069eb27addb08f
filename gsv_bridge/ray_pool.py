"""``RayPool``: one engine per Ray actor, on any node of a Ray cluster, driven by rasv's runner.

Each actor builds its engine with a picklable zero-argument ``factory`` on its own node (a
GPT-SoVITS server it starts on its GPU, a server URL reachable from that node, espeak …);
``pool.engines`` are driver-side proxies implementing :class:`rasv.Engine`, so
``ws.tasks.run(task, pool.engines)`` schedules, retries, saves and resumes exactly as with
local engines, and only the driver opens the workspace (DuckDB stays single-writer).

Files travel by content: the proxy hashes a reference clip (or checkpoint) once, puts its
bytes into Ray's object store once, and sends the actor the hash and an object reference; the
actor keeps a node-local cache (``<cache_dir>/<sha256>/<file name>``) shared by the actors of
its node and pulls the bytes only when its node lacks them. The engine sees the cached copy,
so a server on another host reads a path on its own disk. A dead actor (or node) makes its
proxy raise :class:`rasv.EngineGone`: the runner hands the take to the other engines and
names the engine in an ``engine_down`` event.

Example:
    >>> import functools
    >>> from rasv.testing import FakeEngine, example
    >>> ex = example(clips=2, texts=["你好。", "再见。"], run=False)
    >>> pool = RayPool(2, functools.partial(FakeEngine, "fake"))   # starts a local Ray
    >>> ex.ws.tasks.run(ex.task, pool.engines).progress.done
    4
    >>> pool.close()
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import pickle
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasv.audio import file_lock, sha256_file
from rasv.engine import Audio, Capabilities, SynthesisRequest
from rasv.errors import (
    BackendUnavailable,
    EngineError,
    EngineGone,
    EngineUnavailable,
    InvalidInput,
)


def import_ray() -> Any:
    """Import Ray, or raise :class:`rasv.BackendUnavailable` naming the extra to install.

    Example:
        >>> import_ray().__name__
        'ray'
    """
    try:
        import ray
    except ImportError:
        raise BackendUnavailable(
            "Ray is not installed: pip install 'rasv[ray]' (on the driver and on every node)"
        ) from None
    return ray


def default_cache_dir() -> Path:
    """The node-local file cache an actor uses when the pool names none.

    Example:
        >>> default_cache_dir().name.startswith("rasv-ray-cache")
        True
    """
    who = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"rasv-ray-cache-{who}"


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (how files are named in the node-local cache).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.bin"); _ = open(p, "wb").write(b"abc")
        >>> file_sha256(p)[:12]
        'ba7816bf8f01'
    """
    return sha256_file(path)  # the same digest as the workspace's blob store


# --- actor side -------------------------------------------------------------------------------

#: What a proxy sends with a call: local path -> (sha256, file name, [object ref]). The ref
#: sits in a list so Ray hands it over unresolved and the bytes move only on a cache miss.
_Shipped = dict[str, tuple[str, str, list[Any]]]


class _EngineHost:
    """The body of one actor: its engine, the node-local file cache, and counters."""

    def __init__(self, factory: Callable[[], Any], cache_dir: str | None) -> None:
        self.cache = Path(cache_dir) if cache_dir else default_cache_dir()
        self.cache.mkdir(parents=True, exist_ok=True)
        # A factory that fails is reported by describe(), so the driver can say why.
        self.failed: str | None = None
        self.made: Any = None
        self.engine: Any = None
        try:
            self.made = factory()
            if callable(getattr(self.made, "synthesize", None)):
                self.engine = self.made
            else:
                # What owns an engine, such as a GsvServer: start it on this node's GPU.
                start = getattr(self.made, "start", None)
                if callable(start):
                    start()
                self.engine = self.made.engine
        except Exception as e:
            self.failed = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        self.fetched = 0
        self.fetched_bytes = 0
        self.hits = 0
        self.loads: list[tuple[str | None, str | None]] = []

    def describe(self) -> dict[str, Any]:
        import ray

        return {"name": str(getattr(self.engine, "name", "") or type(self.engine).__name__),
                "ip": ray.util.get_node_ip_address(), "pid": os.getpid(),
                "failed": self.failed}

    def stats(self) -> dict[str, Any]:
        return {"fetched": self.fetched, "fetched_bytes": self.fetched_bytes, "hits": self.hits,
                "loads": list(self.loads), "cwd": os.getcwd(), "pid": os.getpid(),
                "cache": str(self.cache)}

    def local_copy(self, sha: str, name: str, box: list[Any]) -> str:
        """The node's cached copy of a file, pulled from the object store on a miss."""
        folder = self.cache / sha
        path = folder / name
        if path.is_file():
            self.hits += 1
            return str(path)
        import ray

        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(folder / ".lock"):
            if path.is_file():  # another actor of this node pulled it meanwhile
                self.hits += 1
                return str(path)
            data = ray.get(box[0])
            if hashlib.sha256(data).hexdigest() != sha:
                raise EngineError(f"{name}: the bytes received do not match their hash")
            tmp = folder / f".tmp-{os.getpid()}-{name}"
            tmp.write_bytes(data)
            os.replace(tmp, path)
        self.fetched += 1
        self.fetched_bytes += len(data)
        return str(path)

    def _map(self, files: _Shipped, path: str | None) -> str | None:
        if path is None or path not in files:
            return path
        return self.local_copy(*files[path])

    def call(self, method: str, args: tuple, files: _Shipped) -> tuple[str, Any]:
        """Run one engine method with its paths mapped to this node. Errors come back as
        values, so the driver re-raises the engine's own exception (and its transience)."""
        try:
            if method == "capabilities":
                return "ok", self.engine.capabilities()
            if method == "load":
                gpt, sovits = (self._map(files, p) for p in args)
                self.engine.load(None if gpt is None else Path(gpt),
                                 None if sovits is None else Path(sovits))
                self.loads.append((gpt, sovits))
                return "ok", None
            if method == "synthesize":
                (req,) = args
                req = req.replace(
                    ref_audio_path=self._map(files, req.ref_audio_path),
                    aux_ref_audio_paths=tuple(self._map(files, p)
                                              for p in req.aux_ref_audio_paths))
                return "ok", self.engine.synthesize(req)
            raise InvalidInput(f"unknown engine method {method!r}")
        except Exception as e:  # handed back to the driver, which raises it
            return "error", _portable(e)

    def close(self) -> None:
        for obj in (self.made, self.engine):
            for name in ("stop", "close"):
                fn = getattr(obj, name, None)
                if callable(fn):
                    with contextlib.suppress(Exception):
                        fn()
                    break


def _portable(e: Exception) -> Exception:
    """``e`` if it survives pickling, else an EngineError with its message and transience."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:
        err = EngineError(f"{type(e).__name__}: {e}")
        err.transient = bool(getattr(e, "transient", False))
        return err


# --- driver side ------------------------------------------------------------------------------


class _Shipper:
    """Content hashes of the driver's files, and their bytes in the object store (an LRU
    bounded in bytes: a dropped ref is put again if an actor needs it later)."""

    def __init__(self, ray: Any, max_bytes: int) -> None:
        self.ray = ray
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.hashes: dict[tuple[str, int, int], str] = {}
        self.refs: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self.held = 0
        self.puts = 0

    def entry(self, path: str) -> tuple[str, str, list[Any]] | None:
        """(sha256, name, [ref]) for a file the driver has; None for a path it lacks, which
        goes to the engine unchanged (a path that only exists on the engine's node)."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            return None
        if not p.is_file():
            return None
        key = (str(p), st.st_size, st.st_mtime_ns)
        with self.lock:
            sha = self.hashes.get(key)
        if sha is None:
            sha = file_sha256(p)
            with self.lock:
                self.hashes[key] = sha
        with self.lock:
            hit = self.refs.get(sha)
            if hit is not None:
                self.refs.move_to_end(sha)
                return sha, p.name, [hit[0]]
        data = p.read_bytes()
        ref = self.ray.put(data)
        with self.lock:
            if sha not in self.refs:
                self.puts += 1
                self.refs[sha] = (ref, len(data))
                self.held += len(data)
            while self.held > self.max_bytes and len(self.refs) > 1:
                _, (_, size) = self.refs.popitem(last=False)
                self.held -= size
        return sha, p.name, [ref]

    def clear(self) -> None:
        with self.lock:
            self.refs.clear()
            self.held = 0


class RayEngine:
    """The driver's stand-in for one actor's engine; implements :class:`rasv.Engine`.

    Made by :class:`RayPool`; ``name`` is the engine's own name and the actor's node
    (``fake@10.0.0.7``), so takes and ``engine_down`` events say where they were made.
    """

    def __init__(self, pool: RayPool, actor: Any, name: str, node_ip: str) -> None:
        self._pool = pool
        self._actor = actor
        self.name = name
        self.node_ip = node_ip
        self.gone: str | None = None

    def __repr__(self) -> str:
        return f"RayEngine({self.name!r})"

    def _call(self, method: str, args: tuple, paths: list[str | None]) -> Any:
        if self.gone is not None:
            raise EngineGone(self.gone)
        ray = self._pool._ray
        files: _Shipped = {}
        for p in paths:
            if p is not None and p not in files:
                entry = self._pool._shipper.entry(p)
                if entry is not None:
                    files[p] = entry
        try:
            status, value = ray.get(self._actor.call.remote(method, args, files))
        except ray.exceptions.ActorUnavailableError as e:
            # The actor may come back (its node is restarting, a network blip): retry later.
            raise EngineUnavailable(f"{self.name} is unreachable for now: {_first_line(e)}") \
                from None
        except ray.exceptions.RayActorError as e:
            self.gone = f"{self.name}: its Ray actor died ({_first_line(e)})"
            raise EngineGone(self.gone) from None
        except ray.exceptions.RayTaskError as e:
            # The actor's own code failed outside the engine (a bug, not the server): the
            # same call would fail again, so the take records it.
            raise EngineError(f"{self.name}: {_cause(e)}") from None
        except ray.exceptions.RayError as e:
            # Lost objects, a node restarting: another try (maybe on another engine) may work.
            raise EngineUnavailable(f"{self.name}: {_first_line(e)}") from None
        if status == "error":
            raise value
        return value

    def capabilities(self) -> Capabilities:
        """The capabilities the actor's engine reports (after its last load).

        Example:
            >>> from gsv_bridge import EspeakEngine
            >>> with RayPool(1, EspeakEngine) as pool:
            ...     pool.engines[0].capabilities().kind
            'espeak'
        """
        return self._call("capabilities", (), [])

    def load(self, gpt: str | os.PathLike | None, sovits: str | os.PathLike | None) -> None:
        """Ship the checkpoints to the actor's node (by hash) and load them there.

        Example:
            >>> import functools, os, tempfile
            >>> from rasv.testing import FakeEngine, make_checkpoint
            >>> d = tempfile.mkdtemp()
            >>> gpt = make_checkpoint(os.path.join(d, "a-e5.ckpt"))
            >>> with RayPool(1, functools.partial(FakeEngine, "f"), cache_dir=d + "/c") as pool:
            ...     pool.engines[0].load(gpt, None)
            ...     [os.path.basename(g) for g, _ in pool.stats()[0].loads]
            ['a-e5.ckpt']
        """
        g = None if gpt is None else os.fspath(gpt)
        s = None if sovits is None else os.fspath(sovits)
        self._call("load", (g, s), [g, s])

    def synthesize(self, req: SynthesisRequest) -> Audio:
        """Ship the reference and aux clips (by hash) and synthesize on the actor.

        Example:
            >>> import functools
            >>> from rasv.testing import FakeEngine, make_request
            >>> with RayPool(1, functools.partial(FakeEngine, "f")) as pool:
            ...     pool.engines[0].synthesize(make_request()).sample_rate
            32000
        """
        return self._call("synthesize", (req,), [req.ref_audio_path, *req.aux_ref_audio_paths])


def _first_line(e: BaseException) -> str:
    lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
    return lines[0].strip() if lines else type(e).__name__


@dataclass(frozen=True)
class ActorStats:
    """What one actor did: files pulled from the object store, cache hits, loads, cwd.

    Example:
        >>> ActorStats("fake@127.0.0.1", "127.0.0.1", 1, 2, 100, 5, (), "/", "/c").fetched
        2
    """

    name: str
    node_ip: str
    pid: int
    fetched: int
    fetched_bytes: int
    hits: int
    loads: tuple[tuple[str | None, str | None], ...]
    cwd: str
    cache: str


def start_local_ray(num_cpus: int | None = None, *, attempts: int = 3) -> str:
    """Start a one-node Ray for this process on loopback; return its address.

    No dashboard, quiet logs, no idle workers started ahead (each costs seconds of CPU on a
    small machine). Ray gives its helper processes a fixed 15 s to come up, which a busy
    machine can miss; such a start is tried again, up to ``attempts`` times. A Ray already
    running in this process is kept.

    Raises:
        BackendUnavailable: Ray is not installed.
        EngineUnavailable: Ray did not start.

    Example:
        >>> start_local_ray(2).count(":")
        1
    """
    ray = import_ray()
    for attempt in range(1, attempts + 1):
        if ray.is_initialized():
            break
        try:
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
                     include_dashboard=False, _node_ip_address="127.0.0.1",
                     logging_level=logging.ERROR, log_to_driver=False,
                     _system_config={"prestart_worker_first_driver": False,
                                     "enable_worker_prestart": False})
        except Exception as e:  # Ray raises a bare Exception when its node misses the window
            with contextlib.suppress(Exception):
                ray.shutdown()
            if "timed out during startup" not in str(e) or attempt == attempts:
                raise EngineUnavailable(f"a local Ray did not start: {_first_line(e)}") from None
    return str(ray.get_runtime_context().gcs_address)


class RayPool:
    """``n`` engines built by ``factory`` in Ray actors; ``pool.engines`` for ``ws.tasks.run``.

    Args:
        n: how many actors (engines); with ``per_node``, at most this many (None: no cap).
        factory: a picklable zero-argument callable run inside each actor that returns an
            engine (``functools.partial(GsvApiV2, url)``, ``EspeakEngine``), or something
            with ``.engine``, ``.start()`` and ``.stop()`` (``functools.partial(GsvServer,
            root, device="cuda")``), which the actor starts and, on close, stops.
        address: the Ray cluster (``"10.0.0.5:6379"``, ``"auto"``); None uses the Ray this
            process already runs, else ``$RAY_ADDRESS``, else starts a local one on loopback.
        num_gpus: GPUs each actor reserves (Ray sets ``CUDA_VISIBLE_DEVICES`` in it).
        num_cpus: CPUs each actor reserves.
        per_node: this many actors on every live node that has the resources.
        cache_dir: the node-local file cache on every node (default: the system temp folder).
        startup_timeout: seconds to wait for every actor to build its engine.
        max_shipped_bytes: how many bytes of files the driver keeps in the object store.

    Raises:
        BackendUnavailable: Ray is not installed.
        EngineUnavailable: an actor could not be placed or its factory failed.

    Example:
        >>> import functools
        >>> from rasv.testing import FakeEngine
        >>> with RayPool(2, functools.partial(FakeEngine, "fake")) as pool:
        ...     sorted(e.name.split("@")[0] for e in pool.engines)
        ['fake', 'fake']
    """

    def __init__(self, n: int | None, factory: Callable[[], Any], *, address: str | None = None,
                 num_gpus: float = 0, num_cpus: float = 1, per_node: int | None = None,
                 cache_dir: str | os.PathLike | None = None, startup_timeout: float = 300.0,
                 max_shipped_bytes: int = 1 << 30) -> None:
        ray = import_ray()
        if not callable(factory):
            raise InvalidInput("factory must be a zero-argument callable that builds an engine")
        for label, value, none_ok in (("n", n, per_node is not None),
                                      ("per_node", per_node, True)):
            if value is None and none_ok:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{label} must be a whole number >= 1, got {value!r}")
        if num_gpus < 0 or num_cpus < 0:
            raise InvalidInput("num_gpus and num_cpus must be >= 0")
        self._ray = ray
        self._actors: list[Any] = []
        self._shipper = _Shipper(ray, max_shipped_bytes)
        self.engines: list[RayEngine] = []
        if not ray.is_initialized():
            # Ray's own convention: RAY_ADDRESS names the cluster when the caller names none.
            address = address or os.environ.get("RAY_ADDRESS") or None
            if address is None:
                want = math.ceil((n or per_node or 1) * num_cpus)
                start_local_ray(max(want, os.cpu_count() or 1))
            else:
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        host = ray.remote(_EngineHost)
        cache = None if cache_dir is None else os.fspath(cache_dir)
        if per_node is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            nodes = [nd for nd in ray.nodes() if nd.get("Alive")
                     and nd["Resources"].get("CPU", 0) >= num_cpus * per_node
                     and nd["Resources"].get("GPU", 0) >= num_gpus * per_node]
            if not nodes:
                raise EngineUnavailable(
                    f"no live node of the Ray cluster has {num_cpus * per_node:g} CPU(s) and "
                    f"{num_gpus * per_node:g} GPU(s) for {per_node} engine(s)")
            strategies = [NodeAffinitySchedulingStrategy(nd["NodeID"], soft=False)
                          for nd in nodes for _ in range(per_node)]
            if n is not None:
                strategies = strategies[:n]
        else:
            have = ray.cluster_resources()
            for res, each in (("CPU", num_cpus), ("GPU", num_gpus)):
                if n * each > have.get(res, 0):
                    raise EngineUnavailable(
                        f"{n} engines at {each:g} {res} each do not fit: the Ray cluster has "
                        f"{have.get(res, 0):g} {res} in all (ask for fewer, or num_{res.lower()}s=0"
                        " for engines that wait on a server)")
            strategies = ["SPREAD"] * n
        self._actors = [host.options(num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=0,
                                     max_concurrency=1, scheduling_strategy=s
                                     ).remote(factory, cache)
                        for s in strategies]
        try:
            infos = ray.get([a.describe.remote() for a in self._actors],
                            timeout=startup_timeout)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise EngineUnavailable(
                f"the Ray actors did not start within {startup_timeout:g} s: the cluster may "
                f"lack {num_gpus:g} GPU(s) / {num_cpus:g} CPU(s) free per engine "
                f"(ray status shows what it has)") from None
        except Exception as e:
            self.close()
            raise EngineUnavailable(f"an engine could not be built in its Ray actor: "
                                    f"{_cause(e)}") from None
        failed = [f"{i['failed']} (on {i['ip']})" for i in infos if i["failed"]]
        if failed:
            self.close()
            raise EngineUnavailable(f"the engine factory failed in {len(failed)} of "
                                    f"{len(infos)} Ray actor(s): {failed[0]}")
        names = [f"{i['name']}@{i['ip']}" for i in infos]
        for k, (actor, info, name) in enumerate(zip(self._actors, infos, names, strict=True)):
            if names.count(name) > 1:
                name = f"{name}#{names[:k + 1].count(name)}"
            self.engines.append(RayEngine(self, actor, name, info["ip"]))

    def __repr__(self) -> str:
        return f"RayPool({[e.name for e in self.engines]!r})"

    def __len__(self) -> int:
        return len(self.engines)

    def stats(self) -> list[ActorStats]:
        """Per live actor: files pulled, cache hits, loads, working directory.

        Example:
            >>> import functools
            >>> from rasv.testing import FakeEngine
            >>> with RayPool(1, functools.partial(FakeEngine, "fake")) as pool:
            ...     [s.fetched for s in pool.stats()]
            [0]
        """
        out = []
        for eng in self.engines:
            if eng.gone is not None:
                continue
            try:
                s = self._ray.get(eng._actor.stats.remote())
            except self._ray.exceptions.RayActorError:
                continue
            out.append(ActorStats(name=eng.name, node_ip=eng.node_ip, pid=s["pid"],
                                  fetched=s["fetched"], fetched_bytes=s["fetched_bytes"],
                                  hits=s["hits"], loads=tuple(map(tuple, s["loads"])),
                                  cwd=s["cwd"], cache=s["cache"]))
        return out

    def kill(self, i: int) -> None:
        """Kill actor ``i`` now, as a lost node would (for drills and tests).

        Example:
            >>> import functools
            >>> from rasv.testing import FakeEngine
            >>> with RayPool(1, functools.partial(FakeEngine, "fake")) as pool:
            ...     pool.kill(0); pool.stats()
            []
        """
        ray, actor = self._ray, self.engines[i]._actor
        ray.kill(actor, no_restart=True)
        # ray.kill returns before the actor is gone; wait until a call finds it dead.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                ray.get(actor.describe.remote(), timeout=5)
            except ray.exceptions.RayActorError:
                return
            except ray.exceptions.GetTimeoutError:
                continue
            time.sleep(0.05)

    def close(self) -> None:
        """End the actors (stopping what their factories started); Ray itself stays up.

        Example:
            >>> import functools
            >>> from rasv.testing import FakeEngine
            >>> pool = RayPool(1, functools.partial(FakeEngine, "fake")); pool.close()
            >>> pool.engines
            []
        """
        ray = self._ray
        actors, self._actors, self.engines = self._actors, [], []
        if actors:
            with contextlib.suppress(Exception):
                ray.get([a.close.remote() for a in actors], timeout=60)
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a, no_restart=True)
        self._shipper.clear()

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spec_pools(specs: Sequence[str], *, address: str | None = None,
               per_node: int | None = None) -> list[RayPool]:
    """One :class:`RayPool` per engine spec (``--engine`` text), each built in its actors.

    Each spec gets one actor, or ``per_node`` on every node (a loopback URL then means each
    node's own server). A bad spec is refused before any actor starts.

    Example:
        >>> spec_pools(["fake", "nonsense"])
        Traceback (most recent call last):
        ...
        rasv.errors.InvalidInput: --engine 'nonsense' is not an engine: give a GPT-SoVITS api_v2 URL (http://127.0.0.1:9880), 'espeak', or 'fake'
    """
    import functools

    from gsv_bridge.factory import build_engine

    for i, spec in enumerate(specs):
        build_engine(spec, i)
    pools: list[RayPool] = []
    try:
        for i, spec in enumerate(specs):
            pools.append(RayPool(None if per_node else 1, functools.partial(build_engine, spec, i),
                                 address=address, per_node=per_node))
    except BaseException:
        for p in pools:
            p.close()
        raise
    return pools


def _cause(e: BaseException) -> str:
    """The user's error inside a RayTaskError (the factory's own message), else its text."""
    cause = getattr(e, "cause", None)
    return _first_line(cause) if cause is not None else _first_line(e)


__all__ = ["ActorStats", "RayEngine", "RayPool", "default_cache_dir", "file_sha256",
           "import_ray", "spec_pools", "start_local_ray"]
