"""``GsvInProcess``: GPT-SoVITS's ``TTS_infer_pack.TTS`` in a child process, as a rasv engine.

Same semantics as ``api_v2`` without HTTP: the child runs under GPT-SoVITS's own interpreter
(its torch, its CUDA), from its root folder, and talks to rasv over a line protocol on its
stdin/stdout (:mod:`gsv_bridge._tts_worker`). A child keeps GPT-SoVITS's memory leaks and
CUDA state out of the notebook; it is restarted (with the same weights) after a crash or a
timeout, since GPT-SoVITS cannot cancel a synthesis.

Example:
    >>> import sys, tempfile
    >>> eng = GsvInProcess(tempfile.mkdtemp(), python=sys.executable, device="cpu")
    >>> eng.kind, eng.capabilities().sample_rate
    ('gpt-sovits', 32000)
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gsv_bridge.api_v2 import KIND
from gsv_bridge.common import (
    check_output,
    check_text,
    checked_pair,
    local_checkpoint,
    read_timeout,
    server_paths,
)
from gsv_bridge.paths import PathMap
from gsv_bridge.protocol import CacheState, after_take, prepare, throwaway_body
from gsv_bridge.server import (
    find_python,
    popen_group_kwargs,
    split_device,
    tail_lines,
    terminate,
    write_tts_config,
)
from rasv.engine import Audio, Capabilities, SynthesisRequest, capabilities_for_version
from rasv.errors import CapabilityError, EngineRequestError, EngineUnavailable, InvalidInput
from rasv.models import Checkpoint

_WORKER = Path(__file__).with_name("_tts_worker.py")
_EOF = object()


class GsvInProcess:
    """GPT-SoVITS's in-process ``TTS`` pipeline in a child process.

    Args:
        gsv_root: the GPT-SoVITS folder (``GPT_SoVITS/TTS_infer_pack`` inside).
        python: GPT-SoVITS's interpreter (default as for :class:`GsvServer`).
        device: ``cuda``, ``cuda:N``, ``cpu`` or ``mps``.
        is_half: fp16 (default: on for CUDA).
        version: model version for the default (pretrained) weights.
        gpt, sovits: checkpoints to start with (default: the pretrained pair).
        workdir: folder for the child's config and log (default: a new temporary folder).
        timeout, timeout_per_unit: seconds to wait for a synthesis (base + per spoken unit).
        startup_timeout: seconds to wait for the models to load.
        switch_timeout: seconds to wait for a weight switch.
        env: extra environment variables for the child.

    Its ``kind`` is ``gpt-sovits``, like :class:`GsvApiV2`'s: the same pipeline, so the same
    take ids.

    Example:
        >>> import sys, tempfile
        >>> GsvInProcess(tempfile.mkdtemp(), python=sys.executable).running
        False
    """

    kind = KIND

    def __init__(self, gsv_root: str | os.PathLike, *, python: str | os.PathLike | None = None,
                 device: str = "cuda", is_half: bool | None = None, version: str = "v2",
                 gpt: str | os.PathLike | None = None, sovits: str | os.PathLike | None = None,
                 workdir: str | os.PathLike | None = None, timeout: float = 60.0,
                 timeout_per_unit: float = 1.5, startup_timeout: float = 600.0,
                 switch_timeout: float = 600.0, env: dict[str, str] | None = None) -> None:
        self.gsv_root = Path(gsv_root).expanduser().resolve()
        if not self.gsv_root.is_dir():
            raise InvalidInput(f"GPT-SoVITS folder not found: {self.gsv_root}")
        capabilities_for_version(version)
        self.python = str(python) if python else find_python(self.gsv_root)
        self.device = device
        self.is_half = device.startswith("cuda") if is_half is None else bool(is_half)
        self.version_hint = version
        self.timeout = timeout
        self.timeout_per_unit = timeout_per_unit
        self.startup_timeout = startup_timeout
        self.switch_timeout = switch_timeout
        self.env = dict(env or {})
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rasv-gsv-inproc-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.config_path = self.workdir / "tts_infer.yaml"
        self.log_path = self.workdir / "worker.log"
        self.name = f"inprocess:{self.gsv_root}"
        self._want: dict[str, str | None] = {"gpt": None if gpt is None else str(gpt),
                                             "sovits": None if sovits is None else str(sovits)}
        self._ckpt: dict[str, Checkpoint | None] = {"gpt": None, "sovits": None}
        for kind in ("gpt", "sovits"):
            if self._want[kind]:
                self._ckpt[kind] = local_checkpoint(self._want[kind], PathMap(), kind)
        self._version: str | None = (self._ckpt["sovits"].version if self._ckpt["sovits"]
                                     else version)
        self._proc: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[Any] = queue.Queue()
        self._lock = threading.RLock()
        self._log = None
        self._starts = 0
        #: What the child has cached (see :mod:`gsv_bridge.protocol`).
        self.cache = CacheState()
        #: Weight switches sent to the child, by kind (``gpt``, ``sovits``).
        self.switches: dict[str, int] = {"gpt": 0, "sovits": 0}

    def __repr__(self) -> str:
        return f"<GsvInProcess {self.gsv_root} {self.device} version={self._version}>"

    # -- child process -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def restarts(self) -> int:
        """How many times the child was started again (after a crash or a timeout)."""
        return max(0, self._starts - 1)

    def start(self) -> GsvInProcess:
        """Start the child and wait until GPT-SoVITS has loaded its models.

        Raises:
            EngineUnavailable: the interpreter or ``TTS_infer_pack`` is missing, loading
                failed, or it took longer than ``startup_timeout`` (log lines included).

        Example:
            >>> import sys, tempfile
            >>> eng = GsvInProcess(tempfile.mkdtemp(), python=sys.executable, device="cpu")
            >>> try:   # an empty folder has no GPT_SoVITS/TTS_infer_pack
            ...     eng.start()
            ... except EngineUnavailable as e:
            ...     print("TTS_infer_pack" in str(e))
            True
            >>> eng.close()
        """
        with self._lock:
            if self.running:
                return self
            self.workdir.mkdir(parents=True, exist_ok=True)
            device, gpu = split_device(self.device)
            write_tts_config(self.config_path, gsv_root=self.gsv_root, device=device,
                             is_half=self.is_half, version=self._version or self.version_hint,
                             gpt=self._want["gpt"], sovits=self._want["sovits"])
            env = dict(os.environ)
            env.update(self.env)
            env.setdefault("PYTHONUNBUFFERED", "1")
            env.setdefault("PYTHONIOENCODING", "utf-8")
            # A pip-installed GPT-SoVITS reads its data folder from here (a checkout ignores it).
            env["GPT_SOVITS_DATA_DIR"] = str(self.gsv_root)
            if gpu is not None:
                env["CUDA_VISIBLE_DEVICES"] = gpu
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - open for the child's life
            try:
                self._proc = subprocess.Popen(
                    [self.python, "-u", str(_WORKER), "--gsv-root", str(self.gsv_root),
                     "--config", str(self.config_path)],
                    cwd=self.gsv_root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=self._log, **popen_group_kwargs())
            except OSError as e:
                self._close_log()
                raise EngineUnavailable(f"cannot start {self.python}: {e}") from None
            self._starts += 1
            self.cache.reset()
            self._replies = queue.Queue()
            threading.Thread(target=self._reader, args=(self._proc, self._replies),
                             daemon=True, name="gsv-inprocess-reader").start()
            try:
                msg, _ = self._receive(self.startup_timeout, "start-up")
            except EngineUnavailable as e:
                self._kill()
                raise EngineUnavailable(f"{e}; last log lines:\n{self.log_tail(15)}") from None
            if not msg.get("ok"):
                self._kill()
                raise EngineUnavailable(
                    f"GPT-SoVITS's TTS could not start in {self.gsv_root}: {msg.get('error')}; "
                    f"last log lines:\n{self.log_tail(15)}")
            return self

    @staticmethod
    def _reader(proc: subprocess.Popen[bytes], replies: queue.Queue[Any]) -> None:
        out = proc.stdout
        assert out is not None
        try:
            for line in iter(out.readline, b""):
                try:
                    msg = json.loads(line.decode("utf-8"))
                except ValueError:
                    continue  # stray bytes cannot happen by design; skip rather than stall
                payload = b""
                n = int(msg.get("nbytes") or 0)
                while len(payload) < n:
                    chunk = out.read(n - len(payload))
                    if not chunk:
                        break
                    payload += chunk
                replies.put((msg, payload))
        finally:
            replies.put(_EOF)

    def _receive(self, timeout: float, what: str) -> tuple[dict[str, Any], bytes]:
        try:
            item = self._replies.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            raise EngineUnavailable(
                f"GPT-SoVITS in-process {what} gave no answer within {timeout:.0f} s; the child "
                "was stopped and will be started again on the next request") from None
        if item is _EOF:
            code = self._proc.poll() if self._proc else None
            self._kill()
            raise EngineUnavailable(
                f"the GPT-SoVITS child process ended during {what} (status {code}); see "
                f"{self.log_path}")
        return item

    def _request(self, cmd: dict[str, Any], timeout: float, what: str) -> tuple[dict[str, Any], bytes]:
        if not self.running:
            self._kill()
            self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            proc.stdin.write((json.dumps(cmd, ensure_ascii=False) + "\n").encode("utf-8"))
            proc.stdin.flush()
        except OSError:
            self._kill()
            raise EngineUnavailable(f"the GPT-SoVITS child process is gone (see {self.log_path})") from None
        return self._receive(timeout, what)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            terminate(proc, grace_s=5.0)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def log_tail(self, n: int = 20) -> str:
        """The last ``n`` lines of the child's log (GPT-SoVITS's console output).

        Example:
            >>> import sys, tempfile
            >>> eng = GsvInProcess(tempfile.mkdtemp(), python=sys.executable, device="cpu")
            >>> eng.log_tail()   # nothing started yet
            ''
            >>> eng.close()
        """
        return tail_lines(self.log_path, n)

    def stop(self) -> None:
        """Ask the child to exit, then make sure it has. Safe to repeat.

        Example:
            >>> import sys, tempfile
            >>> eng = GsvInProcess(tempfile.mkdtemp(), python=sys.executable, device="cpu")
            >>> eng.stop(); eng.stop(); eng.running
            False
            >>> eng.close()
        """
        with self._lock:
            if self.running:
                with contextlib.suppress(EngineUnavailable, OSError):
                    self._request({"op": "exit"}, 10.0, "exit")
            self._kill()

    def close(self) -> None:
        """Stop the child and remove the temporary work folder (if rasv made it).

        Example:
            >>> import sys, tempfile
            >>> eng = GsvInProcess(tempfile.mkdtemp(), python=sys.executable, device="cpu")
            >>> work = eng.workdir; eng.close(); work.exists()
            False
        """
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> GsvInProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- engine protocol -----------------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """The version of the loaded SoVITS model."""
        return self._version

    def capabilities(self) -> Capabilities:
        """Capabilities of the loaded model version.

        Example:
            >>> import sys, tempfile
            >>> eng = GsvInProcess(tempfile.mkdtemp(), python=sys.executable, version="v3")
            >>> caps = eng.capabilities(); eng.close()
            >>> caps.version, caps.sample_rate, "sample_steps" in caps.params
            ('v3', 24000, True)
        """
        caps = capabilities_for_version(self._version, kind=KIND)
        return replace(caps, notes="; ".join(
            n for n in (caps.notes, "in-process TTS_infer_pack pipeline") if n))

    def load(self, gpt: str | os.PathLike | None, sovits: str | os.PathLike | None) -> None:
        """Switch checkpoints (local paths); unchanged ones are not reloaded.

        Raises:
            CheckpointError: a missing, unreadable or wrong-kind file.
            CapabilityError: a v1 model paired with a v2+ one.
            EngineRequestError: GPT-SoVITS failed to load it (the previous weights are
                loaded again).

        Example:
            >>> import os, sys, tempfile
            >>> from rasv.testing import make_checkpoint
            >>> d = tempfile.mkdtemp()
            >>> gpt = make_checkpoint(os.path.join(d, "ann-e10.ckpt"))
            >>> v1 = make_checkpoint(os.path.join(d, "old_e5_s50.pth"), version="v1")
            >>> eng = GsvInProcess(d, python=sys.executable)
            >>> try:   # refused before any process starts
            ...     eng.load(gpt, v1)
            ... except CapabilityError as e:
            ...     print("phoneme" in str(e))
            True
            >>> eng.close()
        """
        g, s = checked_pair(gpt, sovits, PathMap(), (self._ckpt["gpt"], self._ckpt["sovits"]))
        with self._lock:
            if not self.running:
                # A fresh child loads the wanted weights from its config at start.
                if gpt is not None:
                    self._want["gpt"], self._ckpt["gpt"] = str(gpt), g
                if sovits is not None:
                    self._want["sovits"], self._ckpt["sovits"] = str(sovits), s
                    self._version = (s.version if s else None) or self.version_hint
                self.start()
                return
            for kind, path, ck in (("gpt", gpt, g), ("sovits", sovits, s)):
                if path is None or self._want[kind] == str(path):
                    continue
                self.switches[kind] += 1
                msg, _ = self._request({"op": "load", "kind": kind, "path": str(path)},
                                       self.switch_timeout, f"loading {kind} weights")
                if msg.get("ok"):
                    self._want[kind], self._ckpt[kind] = str(path), ck
                    if kind == "sovits":
                        self._version = (ck.version if ck else None) or msg.get("version") \
                            or self.version_hint
                    continue
                previous = self._want[kind]
                note = "no previous weights to go back to"
                if previous is not None:
                    back, _ = self._request({"op": "load", "kind": kind, "path": previous},
                                            self.switch_timeout, f"reloading {kind} weights")
                    note = (f"loaded {Path(previous).name} again" if back.get("ok")
                            else f"loading {Path(previous).name} again failed too")
                raise EngineRequestError(
                    f"GPT-SoVITS could not load {kind.upper()} weights {Path(str(path)).name}: "
                    f"{msg.get('error')} ({note})", request={"weights_path": str(path)},
                    body=msg.get("trace"), transient=False)

    def _prepare(self, ref: str, req: SynthesisRequest, inputs: dict[str, Any]) -> None:
        """Bring the child's caches to where this take depends on nothing else (protocol)."""

        def load_ref() -> None:
            msg, _ = self._request({"op": "set_ref", "path": ref},
                                   read_timeout("", self.timeout, 0), "loading the reference")
            if not msg.get("ok"):
                raise EngineRequestError(f"GPT-SoVITS could not load the reference: "
                                         f"{msg.get('error')}", body=msg.get("trace"),
                                         request=req, transient=False)

        def throwaway() -> None:
            body = throwaway_body(ref, inputs)
            body.pop("media_type", None)
            msg, payload = self._request({"op": "run", "inputs": body},
                                         read_timeout("你好", self.timeout, 0), "warm-up")
            if not msg.get("ok") or not payload:
                raise EngineRequestError(f"GPT-SoVITS's warm-up synthesis failed: "
                                         f"{msg.get('error') or 'no audio'}",
                                         body=msg.get("trace"), request=req, transient=True)

        prepare(self.cache, ref=ref, sovits=self._want["sovits"], prompt_text=req.prompt_text,
                prompt_lang=req.prompt_lang, version=self._version, load_ref=load_ref,
                throwaway=throwaway)

    def synthesize(self, req: SynthesisRequest) -> Audio:
        """Run ``TTS.run`` on the request, consuming its generator fully.

        Raises:
            ReferenceOutOfRange / CapabilityError / InvalidInput / AudioError: refused before
                running (permanent).
            EngineRequestError: GPT-SoVITS raised, or returned failure-shaped audio.
            EngineUnavailable: the child died or timed out (it restarts on the next call).

        Example:
            >>> import os, sys, tempfile
            >>> from rasv.testing import make_checkpoint, make_gsv_root, make_request
            >>> d = tempfile.mkdtemp()
            >>> gpt = make_checkpoint(os.path.join(d, "ann-e10.ckpt"))
            >>> sovits = make_checkpoint(os.path.join(d, "ann_e8_s96.pth"), version="v2Pro")
            >>> with GsvInProcess(make_gsv_root(os.path.join(d, "GPT-SoVITS")),
            ...                   python=sys.executable, device="cpu", startup_timeout=60) as eng:
            ...     eng.load(gpt, sovits)
            ...     a = eng.synthesize(make_request(d, seed=7))
            >>> a.sample_rate, a.meta["version"], a.duration_s > 0.5
            (32000, 'v2Pro', True)
        """
        caps = self.capabilities()
        caps.check(req)
        check_text(req)
        if req.streaming_mode:
            raise CapabilityError("the in-process engine renders whole takes (streaming_mode 0)")
        ref, aux = server_paths(req, caps, PathMap())
        inputs = req.to_api_body()
        inputs.update(ref_audio_path=ref, aux_ref_audio_paths=aux, streaming_mode=False,
                      return_fragment=False, fixed_length_chunk=False)
        inputs.pop("media_type", None)
        with self._lock:
            if not self.running:
                self._kill()
                self.start()
            self._prepare(ref, req, inputs)
            self.cache.prompt_unknown = True
            msg, payload = self._request({"op": "run", "inputs": inputs},
                                         read_timeout(req.text, self.timeout, self.timeout_per_unit),
                                         "synthesis")
            if msg.get("ok"):
                after_take(self.cache, prompt_text=req.prompt_text, prompt_lang=req.prompt_lang,
                           version=self._version)
        if not msg.get("ok"):
            kind = msg.get("type", "")
            # Errors raised before inference (bad reference, language, prompt) are permanent;
            # errors inside it (out of memory …) may pass.
            transient = kind in ("RuntimeError", "OutOfMemoryError", "CudaError")
            raise EngineRequestError(f"GPT-SoVITS failed: {msg.get('error')}", body=msg.get("trace"),
                                     request=req, transient=transient)
        if not msg.get("sr"):
            raise EngineRequestError("GPT-SoVITS returned no audio", request=req, transient=True)
        samples = np.frombuffer(payload, dtype=np.int16)
        audio = Audio(samples, int(msg["sr"]))
        check_output(audio, caps, super_sampling=req.super_sampling, who="GPT-SoVITS (in-process)",
                     request=req)
        meta = {"engine": self.name, "version": self._version, "seed": req.seed,
                "gpt": self._want["gpt"], "sovits": self._want["sovits"]}
        return Audio(audio.samples, audio.sample_rate, meta=meta)


__all__ = ["GsvInProcess"]
