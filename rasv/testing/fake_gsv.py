"""Protocol-faithful fake GPT-SoVITS servers (``api_v2.py`` and the legacy ``api.py``).

Real HTTP on 127.0.0.1 with GPT-SoVITS's routes, validation order, messages and error shapes
(``research/gsv-bridge.md`` §0, §1), its quiet failures (HTTP 200 with one second of 16 kHz
silence, a silent fallback nobody sees, stale reference caches) and its habits (requests
served one at a time, the YAML config rewritten on every weight switch, a failed switch that
leaves the config pointing at the bad file). Audio is deterministic like
:class:`rasv.testing.FakeEngine`: its length follows the text and ``speed_factor``, the seed
and reference jitter it, and the sample rate follows the SoVITS version sniffed from the
checkpoint file.

Faults are queued with :meth:`FakeGsvServer.inject`; :meth:`~FakeGsvServer.crash` and
:meth:`~FakeGsvServer.restart` simulate a dead server. ``python -m rasv.testing.fake_gsv
--port N`` runs one as a process (it also takes ``api_v2.py``'s ``-a/-p/-c`` flags, so a
stand-in ``api_v2.py`` can delegate to it).

Example:
    >>> import json, urllib.request
    >>> with FakeGsvServer(latency_s=0.0) as srv:
    ...     doc = json.load(urllib.request.urlopen(srv.url + "/openapi.json"))
    >>> "/set_gpt_weights" in doc["paths"]
    True
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from rasv.langs import API_LANGS, V1_LANGS

#: ``TTS_Request``'s fields with their types and defaults (current GPT-SoVITS ``main``).
TTS_FIELDS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "text": (str, None),
    "text_lang": (str, None),
    "ref_audio_path": (str, None),
    "aux_ref_audio_paths": (list, None),
    "prompt_lang": (str, None),
    "prompt_text": (str, ""),
    "top_k": (int, 15),
    "top_p": (float, 1.0),
    "temperature": (float, 1.0),
    "text_split_method": (str, "cut5"),
    "batch_size": (int, 1),
    "batch_threshold": (float, 0.75),
    "split_bucket": (bool, True),
    "speed_factor": (float, 1.0),
    "fragment_interval": (float, 0.3),
    "seed": (int, -1),
    "media_type": (str, "wav"),
    "streaming_mode": ((bool, int), False),
    "parallel_infer": (bool, True),
    "repetition_penalty": (float, 1.35),
    "sample_steps": (int, 32),
    "super_sampling": (bool, False),
    "overlap_length": (int, 2),
    "min_chunk_length": (int, 16),
}
_NEW_FIELDS = ("overlap_length", "min_chunk_length")  # added 2025-11
_CUT_METHODS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")
_PUNCT = set("，。？！、；：…,.?!;:~—-「」『』（）()[]\"' \t\n")
_SPLITS = set("，。？！,.?!~:：—…")
_REF_RANGE_MSG = "参考音频在3~10秒范围外，请更换！"
_PRETRAINED = {
    "v1": ("GPT_SoVITS/pretrained_models/s1bert25hz-2kh-longer-epoch=68e-step=50232.ckpt",
           "GPT_SoVITS/pretrained_models/s2G488k.pth"),
    "v2": ("GPT_SoVITS/pretrained_models/gsv-v2final-pretrained/"
           "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
           "GPT_SoVITS/pretrained_models/gsv-v2final-pretrained/s2G2333k.pth"),
    "v3": ("GPT_SoVITS/pretrained_models/s1v3.ckpt", "GPT_SoVITS/pretrained_models/s2Gv3.pth"),
    "v4": ("GPT_SoVITS/pretrained_models/s1v3.ckpt",
           "GPT_SoVITS/pretrained_models/gsv-v4-pretrained/s2Gv4.pth"),
    "v2Pro": ("GPT_SoVITS/pretrained_models/s1v3.ckpt",
              "GPT_SoVITS/pretrained_models/v2Pro/s2Gv2Pro.pth"),
    "v2ProPlus": ("GPT_SoVITS/pretrained_models/s1v3.ckpt",
                  "GPT_SoVITS/pretrained_models/v2Pro/s2Gv2ProPlus.pth"),
}
_LORA_BASE = {"v3": "GPT_SoVITS/pretrained_models/s2Gv3.pth",
              "v4": "GPT_SoVITS/pretrained_models/gsv-v4-pretrained/s2Gv4.pth"}


def _rate_for(version: str, super_sampling: bool, ap_bwe: bool) -> int:
    if version == "v3":
        return 48000 if (super_sampling and ap_bwe) else 24000
    if version == "v4":
        return 48000
    return 32000


def _family(version: str) -> str:
    return "v1" if version == "v1" else "v2"


@dataclass
class Call:
    """One request the fake server received."""

    method: str
    route: str
    params: dict[str, Any]
    body: Any
    status: int = 0
    arrived: float = 0.0
    finished: float = 0.0


@dataclass
class Fault:
    """A queued fault: ``kind`` is one of ``400 422 500 silence drop timeout crash``."""

    kind: str
    route: str = "/tts"
    seconds: float = 0.0


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    drop: bool = False  # close the connection without a reply
    stream: bool = False  # close after the body (no Content-Length)
    after: Callable[[], None] | None = None


def _json(status: int, payload: Any) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _silence_16k() -> bytes:
    return _wav_bytes(np.zeros(16000, dtype=np.float32), 16000)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.fake.verbose:
            sys.stderr.write("fake-gsv: " + (format % args) + "\n")

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every reply (uvicorn sets it too).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, add=True)
        if self.server.fake.keepalive_timeout:
            self.connection.settimeout(self.server.fake.keepalive_timeout)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        raw = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            raw = self.rfile.read(length)
        reply = fake._dispatch(method, parts.path, params, raw)
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if reply.stream:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        if reply.after is not None:
            reply.after()

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: _FakeBase) -> None:
        self.fake = fake
        super().__init__(addr, _Handler)


class _FakeBase:
    """Shared machinery: the HTTP server thread, serialisation, faults, call log."""

    routes: dict[str, tuple[str, ...]] = {}

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, root: str | os.PathLike | None = None,
                 latency_s: float = 0.0, switch_latency_s: float = 0.0,
                 seconds_per_unit: float = 0.12, keepalive_timeout: float | None = 5.0,
                 verbose: bool = False) -> None:
        self.host = host
        self.port = port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fake-gsv-")
            root = self._tmp.name
        self.root = Path(root)
        self.latency_s = latency_s
        self.switch_latency_s = switch_latency_s
        self.seconds_per_unit = seconds_per_unit
        self.keepalive_timeout = keepalive_timeout
        self.verbose = verbose
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.fail_paths: set[str] = set()
        self.max_concurrent = 0
        self._arrived = 0
        self._serial = threading.Lock()  # api_v2 blocks its event loop: one request at a time
        self._state = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.on_exit: Callable[[], None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the server accepts connections."""
        return self._httpd is not None

    def start(self) -> _FakeBase:
        """Bind (a free port unless one was given) and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._httpd = _HttpServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-gsv-{self.port}", daemon=True)
        self._thread.start()
        return self

    def crash(self) -> None:
        """Die like a crashed server: stop listening and cut every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._state:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def restart(self) -> None:
        """Come back on the same port with fresh caches and the weights from the config."""
        self.crash()
        self._reset_after_restart()
        self.start()

    def stop(self) -> None:
        """Stop serving and remove the temporary root, if one was made."""
        self.crash()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> _FakeBase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reset_after_restart(self) -> None:
        pass

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._state:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # -- faults --------------------------------------------------------------------------------

    def inject(self, kind: str, *, route: str = "/tts", times: int = 1, seconds: float = 0.0) -> None:
        """Queue a fault for the next ``times`` requests to ``route``.

        Kinds: ``400``, ``422``, ``500`` (error replies), ``silence`` (200 with 1 s of 16 kHz
        zeros), ``drop`` (close the connection without replying), ``timeout`` (sleep
        ``seconds`` before answering normally), ``crash`` (the server dies mid-request).
        """
        if kind not in ("400", "422", "500", "silence", "drop", "timeout", "crash"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._state:
            self.faults.extend(Fault(kind, route, seconds) for _ in range(times))

    def fail_weights(self, path: str | os.PathLike) -> None:
        """Make loading this (server-side) checkpoint path fail."""
        self.fail_paths.add(os.path.normpath(str(self._resolve(path))))

    def _take_fault(self, route: str) -> Fault | None:
        with self._state:
            for i, f in enumerate(self.faults):
                if f.route == route:
                    return self.faults.pop(i)
        return None

    def calls_to(self, route: str) -> list[Call]:
        """The calls made to one route, oldest first."""
        return [c for c in self.calls if c.route == route]

    def _resolve(self, path: str | os.PathLike) -> Path:
        p = Path(str(path))
        return p if p.is_absolute() else self.root / p

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, method: str, route: str, params: dict[str, Any], raw: bytes) -> _Reply:
        call = Call(method, route, dict(params), None, arrived=time.monotonic())
        with self._state:
            self._arrived += 1
            self.max_concurrent = max(self.max_concurrent, self._arrived)
            self.calls.append(call)
        try:
            with self._serial:
                reply = self._handle(method, route, params, raw, call)
        finally:
            with self._state:
                self._arrived -= 1
        call.status = 0 if reply.drop else reply.status
        call.finished = time.monotonic()
        return reply

    def _handle(self, method: str, route: str, params: dict[str, Any], raw: bytes,
                call: Call) -> _Reply:
        methods = self.routes.get(route)
        if methods is None:
            return _json(404, {"detail": "Not Found"})
        if method not in methods:
            return _json(405, {"detail": "Method Not Allowed"})
        if route != "/openapi.json":
            fault = self._take_fault(route)
            if fault is not None:
                early = self._apply_fault(fault)
                if early is not None:
                    return early
        return getattr(self, "_route_" + (route.strip("/").replace(".", "_") or "root"))(
            method, params, raw, call)

    def _apply_fault(self, fault: Fault) -> _Reply | None:
        if fault.kind == "400":
            return _json(400, {"message": "tts failed", "Exception": "injected failure"})
        if fault.kind == "422":
            return _json(422, {"detail": [{"type": "int_parsing", "loc": ["body", "top_k"],
                                           "msg": "Input should be a valid integer",
                                           "input": "x"}]})
        if fault.kind == "500":
            return _Reply(500, b"Internal Server Error", "text/plain; charset=utf-8")
        if fault.kind == "silence":
            return _Reply(200, _silence_16k(), "audio/wav")
        if fault.kind == "drop":
            return _Reply(0, b"", drop=True)
        if fault.kind == "crash":
            threading.Thread(target=self.crash, daemon=True).start()
            return _Reply(0, b"", drop=True)
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
        return None

    def _route_docs(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> _Reply:
        return _Reply(200, b"<!doctype html><title>FastAPI - Swagger UI</title>", "text/html")

    def _openapi(self, paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> _Reply:
        doc = {"openapi": "3.1.0", "info": {"title": "FastAPI", "version": "0.1.0"},
               "paths": paths, "components": {"schemas": schemas}}
        return _json(200, doc)

    def _audio(self, req: dict[str, Any], rate: int, pair: tuple[str | None, str | None],
               salt: object = None) -> np.ndarray:
        """Deterministic speech-like samples for a request (same inputs → same samples)."""
        from rasv.engine import SynthesisRequest
        from rasv.testing.fake_engine import FakeEngine

        eng = FakeEngine(sample_rate=rate, seconds_per_unit=self.seconds_per_unit)
        eng.current = pair
        fields = {k: req[k] for k in ("text", "ref_audio_path", "prompt_text", "top_k", "top_p",
                                      "temperature", "speed_factor", "seed",
                                      "repetition_penalty") if k in req}
        fields["aux_ref_audio_paths"] = tuple(req.get("aux_ref_audio_paths") or ())
        if salt is not None:
            fields["seed"] = hash((fields.get("seed"), salt)) & 0x7FFFFFFF
        sreq = SynthesisRequest(text_lang="auto", prompt_lang="auto", **fields)
        return eng.synthesize(sreq).samples


class FakeGsvServer(_FakeBase):
    """A fake GPT-SoVITS ``api_v2.py`` server.

    Args:
        host, port: where to listen (port 0: a free port).
        root: the server's working directory (relative paths resolve against it); a
            temporary folder by default.
        config_path: its ``tts_infer.yaml``; read at start (``custom`` block) and rewritten
            on every weight switch, like the real server. Default ``<root>/tts_infer.yaml``.
        version: the version of the weights loaded at start when the config names none.
        gpt, sovits: weights to load at start (server-side paths).
        latency_s: seconds each ``/tts`` takes (requests are served one at a time).
        switch_latency_s: seconds each weight switch takes.
        seconds_per_unit: speech length per spoken unit at speed 1.
        ap_bwe: whether v3 super-sampling works (GPT-SoVITS silently stays at 24 kHz without
            the AP-BWE weights).
        old: behave like a pre-2025-11 server (no ``overlap_length``, boolean streaming,
            ``top_k`` default 5).
        keepalive_timeout: idle seconds before a keep-alive connection is closed (uvicorn: 5).

    Attributes worth asserting on: ``calls``, ``max_concurrent`` (requests that were ever
    inside the server at once), ``gpt_path`` / ``sovits_path`` / ``version`` (what is loaded),
    ``stale_ref_uses`` / ``stale_prompt_uses`` (syntheses that reused a reference or prompt
    cache computed under other weights: GPT-SoVITS's cache bugs, which a good client avoids).

    Example:
        >>> import json, urllib.request, urllib.error
        >>> with FakeGsvServer(latency_s=0.01) as srv:
        ...     try:
        ...         urllib.request.urlopen(srv.url + "/tts?text=hi&text_lang=xx&prompt_lang=en"
        ...                                "&ref_audio_path=r.wav")
        ...     except urllib.error.HTTPError as e:
        ...         print(e.code, json.load(e)["message"])
        400 text_lang: xx is not supported in version v2
    """

    routes = {
        "/tts": ("GET", "POST"),
        "/set_gpt_weights": ("GET",),
        "/set_sovits_weights": ("GET",),
        "/set_refer_audio": ("GET",),
        "/control": ("GET",),
        "/openapi.json": ("GET",),
        "/docs": ("GET",),
    }

    def __init__(self, *, config_path: str | os.PathLike | None = None, version: str = "v2",
                 gpt: str | os.PathLike | None = None, sovits: str | os.PathLike | None = None,
                 ap_bwe: bool = True, old: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_path = Path(config_path) if config_path else self.root / "tts_infer.yaml"
        self.ap_bwe = ap_bwe
        self.old = old
        self.default_version = version
        self.stale_ref_uses = 0
        self.stale_prompt_uses = 0
        self.refer_sets: list[str] = []
        self.config: dict[str, Any] = {}
        self.gpt_path: str | None = None
        self.sovits_path: str | None = None
        self.version = version
        self._ref: dict[str, Any] = {}
        self._prompt: dict[str, Any] = {}
        self._load_config(gpt, sovits)

    # -- config and weights ----------------------------------------------------------------------

    def _load_config(self, gpt: Any = None, sovits: Any = None) -> None:
        import yaml

        data: dict[str, Any] = {}
        if self.config_path.is_file():
            data = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
        custom = dict(data.get("custom") or {})
        version = custom.get("version") or self.default_version
        base_gpt, base_sovits = _PRETRAINED.get(version, _PRETRAINED["v2"])
        custom.setdefault("device", "cpu")
        custom.setdefault("is_half", False)
        custom["version"] = version
        if gpt is not None:
            custom["t2s_weights_path"] = str(gpt)
        if sovits is not None:
            custom["vits_weights_path"] = str(sovits)
        custom.setdefault("t2s_weights_path", base_gpt)
        custom.setdefault("vits_weights_path", base_sovits)
        custom.setdefault("bert_base_path", "GPT_SoVITS/pretrained_models/chinese-roberta-wwm-ext-large")
        custom.setdefault("cnhuhbert_base_path", "GPT_SoVITS/pretrained_models/chinese-hubert-base")
        self.config = custom
        # Like GPT-SoVITS, a configured path that does not exist silently becomes the base.
        g = custom["t2s_weights_path"]
        self.gpt_path = g if self._resolve(g).is_file() else base_gpt
        s = custom["vits_weights_path"]
        if self._resolve(s).is_file():
            self.sovits_path = s
            self.version = self._sniff_version(s) or version
        else:
            self.sovits_path = base_sovits
            self.version = version
        self.config["version"] = self.version
        self._save_config()

    def _save_config(self) -> None:
        import yaml

        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {}
        if self.config_path.is_file():
            data = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
        data["custom"] = dict(self.config)
        self.config_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                    encoding="utf-8")

    def _sniff_version(self, path: str) -> str | None:
        from rasv.errors import CheckpointError
        from rasv.models.checkpoints import sniff

        try:
            return sniff(self._resolve(path)).version
        except CheckpointError:
            return None

    def _reset_after_restart(self) -> None:
        self._ref = {}
        self._prompt = {}
        self._load_config()

    @property
    def languages(self) -> tuple[str, ...]:
        """The language codes the loaded version accepts."""
        return V1_LANGS if self.version == "v1" else API_LANGS

    def _try_load(self, kind: str, path: str) -> str | None:
        """Load a checkpoint; return an error text, or None on success."""
        from rasv.errors import CheckpointError
        from rasv.models.checkpoints import sniff

        if self.switch_latency_s:
            time.sleep(self.switch_latency_s)
        p = self._resolve(path)
        if os.path.normpath(str(p)) in self.fail_paths:
            return "injected load failure"
        try:
            ck = sniff(p)
        except CheckpointError as e:
            return f"[Errno 2] {e}" if "not found" in str(e) else f"UnpicklingError: {e}"
        if ck.kind != kind:
            return f"KeyError: 'weight' ({p.name} is a {ck.kind} checkpoint)"
        if kind == "sovits" and ck.lora and ck.version in _LORA_BASE:
            base = self._resolve(_LORA_BASE[ck.version])
            if not base.is_file():
                return f"FileNotFoundError: {base} not exists (needed to merge the LoRA)"
        return None

    # -- routes ---------------------------------------------------------------------------------

    def _route_openapi_json(self, method: str, params: dict[str, Any], raw: bytes,
                            call: Call) -> _Reply:
        props: dict[str, Any] = {}
        for name, (typ, default) in TTS_FIELDS.items():
            if self.old and name in _NEW_FIELDS:
                continue
            tname = {str: "string", int: "integer", float: "number", bool: "boolean",
                     list: "array"}.get(typ if isinstance(typ, type) else bool, "string")
            prop: dict[str, Any] = {"type": tname, "title": name.replace("_", " ").title()}
            if default is not None:
                prop["default"] = default
            if name == "top_k" and self.old:
                prop["default"] = 5
            props[name] = prop
        schemas = {"TTS_Request": {"type": "object", "title": "TTS_Request", "properties": props}}
        paths = {
            "/tts": {"get": {"summary": "Tts Get Endpoint"}, "post": {"summary": "Tts Post Endpoint"}},
            "/control": {"get": {"summary": "Control"}},
            "/set_refer_audio": {"get": {"summary": "Set Refer Aduio"}},
            "/set_gpt_weights": {"get": {"summary": "Set Gpt Weights"}},
            "/set_sovits_weights": {"get": {"summary": "Set Sovits Weights"}},
        }
        return self._openapi(paths, schemas)

    def _route_set_gpt_weights(self, method: str, params: dict[str, Any], raw: bytes,
                               call: Call) -> _Reply:
        path = params.get("weights_path")
        if path in (None, ""):
            return _json(400, {"message": "gpt weight path is required"})
        # GPT-SoVITS records the new path (memory and YAML) before it tries to load it.
        self.config["t2s_weights_path"] = path
        self._save_config()
        err = self._try_load("gpt", path)
        if err:
            return _json(400, {"message": "change gpt weight failed", "Exception": err})
        self.gpt_path = path
        return _json(200, {"message": "success"})

    def _route_set_sovits_weights(self, method: str, params: dict[str, Any], raw: bytes,
                                  call: Call) -> _Reply:
        path = params.get("weights_path")
        if path in (None, ""):
            return _json(400, {"message": "sovits weight path is required"})
        self.config["vits_weights_path"] = path
        self._save_config()
        err = self._try_load("sovits", path)
        if err:
            return _json(400, {"message": "change sovits weight failed", "Exception": err})
        self.sovits_path = path
        self.version = self._sniff_version(path) or self.version
        self.config["version"] = self.version
        self._save_config()
        return _json(200, {"message": "success"})

    def _check_ref(self, path: str) -> str | None:
        from rasv.audio.files import info
        from rasv.errors import AudioError

        p = self._resolve(path)
        if not p.is_file():
            return f"{path} not exists"
        try:
            n = int(round(info(p).duration_s * 16000))
        except AudioError as e:
            return str(e)
        if n > 160000 or n < 48000:
            return _REF_RANGE_MSG
        return None

    def _route_set_refer_audio(self, method: str, params: dict[str, Any], raw: bytes,
                               call: Call) -> _Reply:
        path = params.get("refer_audio_path")
        err = "expected str, bytes or os.PathLike object, not NoneType" if not path else self._check_ref(path)
        if err:
            return _json(400, {"message": "set refer audio failed", "Exception": err})
        self._ref = {"path": path, "sovits": self.sovits_path}
        self.refer_sets.append(path)
        return _json(200, {"message": "success"})

    def _route_control(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> _Reply:
        command = params.get("command")
        if command in (None, ""):
            return _json(400, {"message": "command is required"})
        if command == "restart":
            # The real server re-execs itself: the client sees the connection drop.
            threading.Thread(target=self.restart, daemon=True).start()
            return _Reply(0, b"", drop=True)
        if command == "exit":
            def _exit() -> None:
                self.crash()
                if self.on_exit is not None:
                    self.on_exit()
            return _Reply(500, b"Internal Server Error", "text/plain; charset=utf-8",
                          after=lambda: threading.Thread(target=_exit, daemon=True).start())
        return _Reply(200, b"null")

    def _parse_tts(self, method: str, params: dict[str, Any], raw: bytes) -> tuple[dict[str, Any] | None, _Reply | None]:
        if method == "GET":
            if params.get("text_lang") is None or params.get("prompt_lang") is None:
                # api_v2 lower-cases None before validating: an unhandled AttributeError.
                return None, _Reply(500, b"Internal Server Error", "text/plain; charset=utf-8")
            req: dict[str, Any] = {}
            errors = []
            for name, (typ, default) in TTS_FIELDS.items():
                if name == "aux_ref_audio_paths":
                    req[name] = None  # a bare `list` is a body field for FastAPI, not a query
                    continue
                if name not in params:
                    req[name] = default
                    continue
                value, ok = _coerce(params[name], typ, from_query=True)
                if not ok:
                    errors.append(_type_error(name, params[name], typ, where="query"))
                req[name] = value
            if errors:
                return None, _json(422, {"detail": errors})
            req["text_lang"] = req["text_lang"].lower()
            req["prompt_lang"] = req["prompt_lang"].lower()
            return req, None
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            return None, _json(422, {"detail": [{"type": "json_invalid", "loc": ["body", 0],
                                                 "msg": "JSON decode error", "input": {}}]})
        if not isinstance(body, dict):
            return None, _json(422, {"detail": [{"type": "missing", "loc": ["body"],
                                                 "msg": "Field required", "input": None}]})
        req = {}
        errors = []
        for name, (typ, default) in TTS_FIELDS.items():
            if self.old and name in _NEW_FIELDS:
                continue
            if name not in body or body[name] is None:
                req[name] = default
                continue
            value, ok = _coerce(body[name], typ, from_query=False)
            if self.old and name == "streaming_mode" and not isinstance(body[name], bool) \
                    and body[name] not in (0, 1):
                ok = False
            if not ok:
                errors.append(_type_error(name, body[name], typ, where="body"))
            req[name] = value
        if errors:
            return None, _json(422, {"detail": errors})
        return req, None

    def _route_tts(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> _Reply:
        req, bad = self._parse_tts(method, params, raw)
        call.body = req if method == "POST" else None
        if bad is not None:
            return bad
        assert req is not None
        err = self._check_params(req)
        if err is not None:
            return err
        streaming = req["streaming_mode"]
        if streaming not in (0, 1, 2, 3) or (self.old and streaming not in (0, 1)):
            return _json(400, {"message": "the value of streaming_mode must be 0, 1, 2, 3(int) "
                                          "or true/false(bool)"})
        if self.latency_s:
            time.sleep(self.latency_s)
        outcome = self._run_pipeline(req)
        if streaming:
            if isinstance(outcome, str):  # pipeline errors: 200, empty body, cut connection
                return _Reply(200, b"", f"audio/{req['media_type']}", stream=True)
            samples, rate = outcome
            pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
            header = _wav_bytes(np.zeros(0, dtype=np.float32), rate)
            return _Reply(200, header + pcm, f"audio/{req['media_type']}", stream=True)
        if isinstance(outcome, str):
            return _json(400, {"message": "tts failed", "Exception": outcome})
        samples, rate = outcome
        return _Reply(200, self._pack(samples, rate, req["media_type"]),
                      f"audio/{req['media_type']}")

    def _check_params(self, req: dict[str, Any]) -> _Reply | None:
        if req["ref_audio_path"] in (None, ""):
            return _json(400, {"message": "ref_audio_path is required"})
        if req["text"] in (None, ""):
            return _json(400, {"message": "text is required"})
        for name in ("text_lang", "prompt_lang"):
            value = req[name]
            if value in (None, ""):
                return _json(400, {"message": f"{name} is required"})
            if value.lower() not in self.languages:
                return _json(400, {"message": f"{name}: {value} is not supported in version "
                                              f"{self.version}"})
        if req["media_type"] not in ("wav", "raw", "ogg", "aac"):
            return _json(400, {"message": f"media_type: {req['media_type']} is not supported"})
        if req["text_split_method"] not in _CUT_METHODS:
            return _json(400, {"message": f"text_split_method:{req['text_split_method']} is not "
                                          "supported"})
        return None

    def _run_pipeline(self, req: dict[str, Any]) -> tuple[np.ndarray, int] | str:
        """What ``TTS.run`` does, as far as a client can observe it."""
        for name in ("text_lang", "prompt_lang"):
            if name == "prompt_lang" and not req["prompt_text"]:
                continue
            if req[name] not in self.languages:
                return ""  # an assert with no message: POST does not lower-case
        use_vocoder = self.version in ("v3", "v4")
        if not req["prompt_text"] and use_vocoder:
            return "prompt_text cannot be empty when using SoVITS_V3"
        ref = req["ref_audio_path"]
        if ref != self._ref.get("path") or (self.version.startswith("v2Pro")
                                            and self._ref.get("pro") is not True):
            err = self._check_ref(ref)
            if err:
                return err
            self._ref = {"path": ref, "sovits": self.sovits_path,
                         "pro": self.version.startswith("v2Pro")}
        elif self._ref.get("sovits") != self.sovits_path:
            self.stale_ref_uses += 1
        if req["prompt_text"]:
            prompt = req["prompt_text"].strip("\n")
            if prompt[-1] not in _SPLITS:
                prompt += "." if req["prompt_lang"] == "en" else "。"
            if self._prompt.get("text") != prompt:
                self._prompt = {"text": prompt, "family": _family(self.version)}
            elif self._prompt.get("family") != _family(self.version):
                self.stale_prompt_uses += 1
        text = req["text"]
        if all(ch in _PUNCT for ch in text):
            return "请输入有效文本"
        if not any(ch.isalnum() for ch in text):
            # Symbols only: preprocessing leaves nothing, TTS.run yields 1 s of 16 kHz zeros.
            return np.zeros(16000, dtype=np.float32), 16000
        rate = _rate_for(self.version, bool(req["super_sampling"]) and self.version == "v3",
                         self.ap_bwe)
        return self._audio(req, rate, (self.gpt_path, self.sovits_path)), rate

    def _pack(self, samples: np.ndarray, rate: int, media_type: str) -> bytes:
        if media_type == "raw":
            return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        if media_type == "ogg":
            import soundfile as sf

            buf = io.BytesIO()
            sf.write(buf, samples, rate, format="OGG")
            return buf.getvalue()
        return _wav_bytes(samples, rate)


def _coerce(value: Any, typ: Any, *, from_query: bool) -> tuple[Any, bool]:
    """Pydantic-like lax coercion: returns ``(value, ok)``."""
    types = typ if isinstance(typ, tuple) else (typ,)
    if from_query and isinstance(value, str):
        if bool in types:
            low = value.lower()
            if low in ("true", "1", "yes", "on"):
                return (1 if int in types and low == "1" else True), True
            if low in ("false", "0", "no", "off"):
                return (0 if int in types and low == "0" else False), True
        if int in types:
            try:
                return int(value), True
            except ValueError:
                pass
        if float in types:
            try:
                return float(value), True
            except ValueError:
                return value, False
        if str in types:
            return value, True
        return value, False
    if str in types:
        return value, isinstance(value, str)
    if list in types:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value, ok
    if bool in types and int not in types:
        if isinstance(value, bool):
            return value, True
        if isinstance(value, int) and value in (0, 1):
            return bool(value), True
        return value, False
    if int in types:
        if isinstance(value, bool):
            return value, True
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and value.is_integer():
            return int(value), True
        return value, False
    if float in types:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), True
        return value, False
    return value, True


def _type_error(name: str, value: Any, typ: Any, *, where: str) -> dict[str, Any]:
    types = typ if isinstance(typ, tuple) else (typ,)
    word = {str: "a valid string", int: "a valid integer", float: "a valid number",
            bool: "a valid boolean", list: "a valid list"}[types[0]]
    return {"type": "type_error", "loc": [where, name], "msg": f"Input should be {word}",
            "input": value}


class FakeGsvApiV1Server(_FakeBase):
    """A fake legacy GPT-SoVITS ``api.py`` server.

    Faithful to its habits: every reply to ``/`` is a 200 stream, so failures inside
    synthesis (missing reference file, bad language) give a 200 with an empty body; there is
    no seed, so two identical requests give different audio; ``/set_model`` needs both paths
    and reloads both; ``/change_refer`` overwrites all three reference fields.

    Example:
        >>> with FakeGsvApiV1Server() as srv:
        ...     srv.url.startswith("http://127.0.0.1:")
        True
    """

    routes = {
        "/": ("GET", "POST"),
        "/set_model": ("GET", "POST"),
        "/change_refer": ("GET", "POST"),
        "/control": ("GET", "POST"),
        "/openapi.json": ("GET",),
        "/docs": ("GET",),
    }

    def __init__(self, *, version: str = "v2", gpt: str | None = None, sovits: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.gpt_path = gpt or _PRETRAINED["v1"][0]
        self.sovits_path = sovits or _PRETRAINED["v1"][1]
        self.default_ref: dict[str, Any] = {"refer_wav_path": None, "prompt_text": None,
                                            "prompt_language": None}
        self._counter = 0
        self.model_loads = 0

    def _args(self, method: str, params: dict[str, Any], raw: bytes) -> dict[str, Any]:
        if method == "POST":
            try:
                body = json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, ValueError):
                body = {}
            return body if isinstance(body, dict) else {}
        return dict(params)

    def _route_openapi_json(self, method: str, params: dict[str, Any], raw: bytes,
                            call: Call) -> _Reply:
        paths = {r: {m.lower(): {"summary": r} for m in ms} for r, ms in self.routes.items()
                 if r not in ("/openapi.json", "/docs")}
        return self._openapi(paths, {})

    def _route_set_model(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> _Reply:
        args = self._args(method, params, raw)
        call.body = args
        gpt, sovits = args.get("gpt_model_path"), args.get("sovits_model_path")
        if not gpt or not sovits:
            return _json(400, {"code": 400, "message": "gpt_model_path or sovits_model_path is empty"})
        from rasv.errors import CheckpointError
        from rasv.models.checkpoints import sniff

        if self.switch_latency_s:
            time.sleep(self.switch_latency_s)
        for path in (gpt, sovits):
            if os.path.normpath(str(self._resolve(path))) in self.fail_paths:
                return _json(400, {"code": 400, "message": f"injected load failure: {path}"})
        try:
            ck_g, ck_s = sniff(self._resolve(gpt)), sniff(self._resolve(sovits))
            if ck_g.kind != "gpt" or ck_s.kind != "sovits":
                raise CheckpointError("wrong checkpoint kind")
        except CheckpointError as e:
            return _json(400, {"code": 400, "message": str(e)})
        self.gpt_path, self.sovits_path = gpt, sovits
        self.version = ck_s.version or self.version
        self.model_loads += 1
        return _json(200, {"code": 0, "message": "Success"})

    def _route_change_refer(self, method: str, params: dict[str, Any], raw: bytes,
                            call: Call) -> _Reply:
        args = self._args(method, params, raw)
        call.body = args
        keys = ("refer_wav_path", "prompt_text", "prompt_language")
        if all(args.get(k) in (None, "") for k in keys):
            return _json(400, {"code": 400, "message": "未指定参考音频"})
        # api.py's logic bug: any call overwrites all three fields.
        self.default_ref = {k: args.get(k) for k in keys}
        return _json(200, {"code": 0, "message": "Success"})

    def _route_control(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> _Reply:
        args = self._args(method, params, raw)
        if args.get("command") == "exit":
            return _Reply(0, b"", drop=True, after=self.crash)
        if args.get("command") == "restart":
            threading.Thread(target=self.restart, daemon=True).start()
            return _Reply(0, b"", drop=True)
        return _json(400, {"code": 400, "message": "command not found"})

    def _route_root(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> _Reply:
        args = self._args(method, params, raw)
        call.body = args
        keys = ("refer_wav_path", "prompt_text", "prompt_language")
        if any(args.get(k) in (None, "") for k in keys):
            if self.default_ref["refer_wav_path"] is None:
                return _json(400, {"code": 400, "message": "未指定参考音频且接口无预设"})
            args.update(self.default_ref)
        if self.latency_s:
            time.sleep(self.latency_s)
        langs = set(V1_LANGS if self.version == "v1" else API_LANGS) | {
            "中文", "英文", "日文", "韩文", "粤语"}
        ref = self._resolve(args["refer_wav_path"])
        text = str(args.get("text") or "")
        ok = (ref.is_file() and str(args.get("text_language", "")).lower() in langs
              and str(args.get("prompt_language", "")).lower() in langs and text.strip())
        if not ok:
            # Work happens inside the streamed generator, after the 200 is sent.
            return _Reply(200, b"", "audio/wav", stream=True)
        self._counter += 1
        rate = _rate_for(self.version, bool(args.get("if_sr")) and self.version == "v3", True)
        req = {"text": text, "ref_audio_path": args["refer_wav_path"],
               "prompt_text": args.get("prompt_text") or "",
               "top_k": int(args.get("top_k", 15)), "top_p": float(args.get("top_p", 1.0)),
               "temperature": float(args.get("temperature", 1.0)),
               "speed_factor": float(args.get("speed", 1.0)), "seed": -1}
        samples = self._audio(req, rate, (self.gpt_path, self.sovits_path),
                              salt=(self._counter, random.random()))
        return _Reply(200, _wav_bytes(samples, rate), "audio/wav", stream=True)


# --- running as a process ---------------------------------------------------------------------


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
    srv: _FakeBase
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

        def dispatch(method: str, route: str, params: dict[str, Any], raw: bytes) -> _Reply:
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


__all__ = ["Call", "Fault", "FakeGsvApiV1Server", "FakeGsvServer", "TTS_FIELDS", "main"]

if __name__ == "__main__":
    main()
