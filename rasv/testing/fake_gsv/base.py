"""What the fake GPT-SoVITS servers share: HTTP serving, faults, the call log, audio.

:class:`FakeServer` serves routes named ``_route_<path>`` one request at a time (as
``api_v2.py``'s blocked event loop does), records every :class:`Call`, and applies queued
:class:`Fault` s; :mod:`~rasv.testing.fake_gsv.v2_server` and
:mod:`~rasv.testing.fake_gsv.v1_server` add the routes of each API.

Example:
    >>> import urllib.request, urllib.error
    >>> with FakeServer() as srv:
    ...     try:
    ...         urllib.request.urlopen(srv.url + "/nothing")
    ...     except urllib.error.HTTPError as e:
    ...         print(e.code, srv.calls_to("/nothing")[0].status)
    404 404
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from rasv.serving.http import KeepAliveHandler

#: The pretrained (GPT, SoVITS) weights of each version, as GPT-SoVITS's config names them.
PRETRAINED = {
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


def rate_for(version: str, super_sampling: bool, ap_bwe: bool) -> int:
    """The sample rate GPT-SoVITS answers with for a SoVITS ``version``.

    Example:
        >>> rate_for("v2", False, True), rate_for("v3", True, True), rate_for("v3", True, False)
        (32000, 48000, 24000)
    """
    if version == "v3":
        return 48000 if (super_sampling and ap_bwe) else 24000
    if version == "v4":
        return 48000
    return 32000


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
    until: threading.Event | None = None  # ``timeout``: answer once set (``seconds`` at most)


@dataclass
class Reply:
    """What a route answers: status, body, and how the connection ends."""

    status: int
    body: bytes
    content_type: str = "application/json"
    drop: bool = False  # close the connection without a reply
    stream: bool = False  # close after the body (no Content-Length)
    after: Callable[[], None] | None = None


def json_reply(status: int, payload: Any) -> Reply:
    """A JSON reply, non-ASCII kept as is (like FastAPI's).

    Example:
        >>> json_reply(400, {"message": "参考"}).body.decode()
        '{"message": "参考"}'
    """
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """``samples`` as a 16-bit PCM WAV file.

    Example:
        >>> wav_bytes(np.zeros(10, dtype=np.float32), 16000)[:4]
        b'RIFF'
    """
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def silence_16k() -> bytes:
    """One second of 16 kHz zeros: GPT-SoVITS's quiet answer to some failures.

    Example:
        >>> len(silence_16k()) > 32000
        True
    """
    return wav_bytes(np.zeros(16000, dtype=np.float32), 16000)


class _Handler(KeepAliveHandler):
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.fake.verbose:
            sys.stderr.write("fake-gsv: " + (format % args) + "\n")

    def setup(self) -> None:
        super().setup()  # no Nagle delay, as uvicorn
        self.server.fake._track(self.connection, add=True)
        if self.server.fake.keepalive_timeout:
            self.connection.settimeout(self.server.fake.keepalive_timeout)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def serve(self, method: str) -> None:
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


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(addr, _Handler)


class FakeServer:
    """Shared machinery of the fakes: HTTP server thread, serialisation, faults, call log."""

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

    def start(self) -> FakeServer:
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

    def restart(self, *, rebind_s: float = 10.0) -> None:
        """Come back on the same port with fresh caches and the weights from the config.

        Rebinding is retried for up to ``rebind_s`` seconds: between the old socket's close
        and the new bind another process's outgoing connection can hold the port for a moment,
        as it can for the real server's re-exec.
        """
        self.crash()
        self._reset_after_restart()
        deadline = time.monotonic() + rebind_s
        while True:
            try:
                self.start()
                return
            except OSError as e:
                if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop serving and remove the temporary root, if one was made."""
        self.crash()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> FakeServer:
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

    def inject(self, kind: str, *, route: str = "/tts", times: int = 1, seconds: float = 0.0,
               until: threading.Event | None = None) -> None:
        """Queue a fault for the next ``times`` requests to ``route``.

        Kinds: ``400``, ``422``, ``500`` (error replies), ``silence`` (200 with 1 s of 16 kHz
        zeros), ``drop`` (close the connection without replying), ``timeout`` (sleep
        ``seconds`` before answering normally; with ``until``, answer as soon as that event
        is set, so a test can hold a reply until its client has given up instead of racing
        it), ``crash`` (the server dies mid-request).
        """
        if kind not in ("400", "422", "500", "silence", "drop", "timeout", "crash"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._state:
            self.faults.extend(Fault(kind, route, seconds, until) for _ in range(times))

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

    def _dispatch(self, method: str, route: str, params: dict[str, Any], raw: bytes) -> Reply:
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
                call: Call) -> Reply:
        methods = self.routes.get(route)
        if methods is None:
            return json_reply(404, {"detail": "Not Found"})
        if method not in methods:
            return json_reply(405, {"detail": "Method Not Allowed"})
        if route != "/openapi.json":
            fault = self._take_fault(route)
            if fault is not None:
                early = self._apply_fault(fault)
                if early is not None:
                    return early
        return getattr(self, "_route_" + (route.strip("/").replace(".", "_") or "root"))(
            method, params, raw, call)

    def _apply_fault(self, fault: Fault) -> Reply | None:
        if fault.kind == "400":
            return json_reply(400, {"message": "tts failed", "Exception": "injected failure"})
        if fault.kind == "422":
            return json_reply(422, {"detail": [{"type": "int_parsing", "loc": ["body", "top_k"],
                                           "msg": "Input should be a valid integer",
                                           "input": "x"}]})
        if fault.kind == "500":
            return Reply(500, b"Internal Server Error", "text/plain; charset=utf-8")
        if fault.kind == "silence":
            return Reply(200, silence_16k(), "audio/wav")
        if fault.kind == "drop":
            return Reply(0, b"", drop=True)
        if fault.kind == "crash":
            threading.Thread(target=self.crash, daemon=True).start()
            return Reply(0, b"", drop=True)
        if fault.kind == "timeout":
            if fault.until is not None:
                fault.until.wait(fault.seconds)
            else:
                time.sleep(fault.seconds)
        return None

    def _route_docs(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> Reply:
        return Reply(200, b"<!doctype html><title>FastAPI - Swagger UI</title>", "text/html")

    def _openapi(self, paths: dict[str, dict[str, Any]], schemas: dict[str, Any]) -> Reply:
        doc = {"openapi": "3.1.0", "info": {"title": "FastAPI", "version": "0.1.0"},
               "paths": paths, "components": {"schemas": schemas}}
        return json_reply(200, doc)

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


__all__ = [
    "PRETRAINED",
    "Call",
    "Fault",
    "FakeServer",
    "Reply",
    "json_reply",
    "rate_for",
    "silence_16k",
    "wav_bytes",
]
