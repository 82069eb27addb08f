"""The HTTP front of the API: routes, auth, limits and error shapes (stdlib ``http.server``).

The standard library's threading server is enough here: every request spends its time
waiting for an engine, not in Python, and it adds no dependency. Routes:

==========================  ==========================================================
``POST /v1/audio/speech``   OpenAI speech (errors in OpenAI's ``{"error": {...}}`` shape)
``GET /v1/models``          the model names OpenAI clients may send (any is accepted)
``GET /v1/audio/voices``    every voice: ``"<role label>/<product name>"``
``GET /character_list``     GSVI: ``{"<role label>": ["<product name>", ...]}``
``GET|POST /tts``           GSVI (``character``) or api_v2 (``product``) requests
``GET /products``           the products with their voice names and settings
``GET /health``             engines, loaded checkpoints, queue
==========================  ==========================================================

Nothing else is served: no route reads a workspace file. With an API key every request
needs ``Authorization: Bearer KEY``; without one the server only binds loopback.

Example:
    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("localhost")
    (True, False, True)
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rasv.errors import (
    CapabilityError,
    EngineError,
    EngineRequestError,
    EngineUnavailable,
    InvalidInput,
    NoEngine,
    NotFound,
    QueueFull,
    TakeTimeout,
)
from rasv.serving.service import ApiService

#: Model names listed by ``/v1/models`` (OpenAI clients often insist on one of theirs).
MODELS = ("rasv", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")
_SPEECH_ROUTES = ("/v1/audio/speech", "/tts")

#: (exception classes, HTTP status, error code), first match wins: a class must stand before
#: any base it derives from. Anything else is ``500 server_error``.
_STATUS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int, str], ...] = (
    (QueueFull, 503, "queue_full"),
    (NoEngine, 503, "no_engine"),
    (NotFound, 404, "voice_not_found"),
    ((InvalidInput, CapabilityError), 400, "invalid_request"),
    (TakeTimeout, 504, "timeout"),
    (EngineUnavailable, 503, "engine_unavailable"),
    ((EngineRequestError, EngineError), 502, "engine_error"),
)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    Example:
        >>> is_loopback("::1"), is_loopback("192.168.1.5")
        (True, False)
    """
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def error_status(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and a short error code for an exception.

    Example:
        >>> from rasv.errors import InvalidInput, ProductNotFound
        >>> error_status(InvalidInput("x")), error_status(ProductNotFound(3))
        ((400, 'invalid_request'), (404, 'voice_not_found'))
    """
    for kinds, status, code in _STATUS:
        if isinstance(exc, kinds):
            return status, code
    return 500, "server_error"


class HttpError(Exception):
    """A refusal decided by the HTTP layer itself (auth, size, route)."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class KeepAliveHandler(BaseHTTPRequestHandler):
    """An HTTP/1.1 keep-alive request handler that hands GET, POST and PUT to :meth:`serve`.

    Replies leave as soon as they are written (no Nagle delay). A subclass answers in
    ``serve(method)``; rasv's API server and the fake GPT-SoVITS servers are two.

    Example:
        >>> import threading, urllib.request
        >>> class Hello(KeepAliveHandler):
        ...     def serve(self, method):
        ...         self.send_response(200); self.send_header("Content-Length", "2")
        ...         self.end_headers(); self.wfile.write(method[:2].encode())
        >>> srv = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        >>> threading.Thread(target=srv.serve_forever, daemon=True).start()
        >>> urllib.request.urlopen(f"http://127.0.0.1:{srv.server_port}/").read()
        b'GE'
        >>> srv.shutdown(); srv.server_close()
    """

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK can hold the body back ~40 ms on a keep-alive connection.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def serve(self, method: str) -> None:
        """Answer one request made with ``method``."""
        raise NotImplementedError

    def do_GET(self) -> None:  # noqa: N802
        self.serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self.serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self.serve("PUT")


class _Handler(KeepAliveHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # requests go to the api_requests table, not stderr

    def do_DELETE(self) -> None:  # noqa: N802
        self.serve("DELETE")

    # -- plumbing ----------------------------------------------------------------------------

    def serve(self, method: str) -> None:
        # Counted from request to log row: stop() waits for the count before the last flush.
        with self.server.idle:
            self.server.active += 1
        try:
            self._serve(method)
        finally:
            with self.server.idle:
                self.server.active -= 1
                self.server.idle.notify_all()

    def _serve(self, method: str) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        route = parts.path.rstrip("/") or "/"
        api = "openai" if route.startswith("/v1/") else "tts"
        svc = self.server.service
        sp, jobs = None, []
        try:
            body = self._body(method)  # read first: an unread body would poison keep-alive
            self._auth()
            if route == "/v1/audio/speech":
                self._allow(method, "POST")
                sp = svc.openai(self._json(body))
            elif route == "/tts":
                self._allow(method, "GET", "POST")
                args = self._json(body) if method == "POST" else _query(parts.query)
                if not isinstance(args, dict):
                    raise InvalidInput("the body must be a JSON object")
                if args.get("product") not in (None, ""):
                    api = "api_v2"
                    sp = svc.api_v2(args)
                elif args.get("character") not in (None, ""):
                    api = "gsvi"
                    sp = svc.gsvi(args)
                else:
                    raise InvalidInput("name a voice: product=<id or name> (api_v2 fields) or "
                                       "character=<role>&emotion=<product> (GSVI)")
            else:
                self._allow(method, "GET")
                self._send_json(200, self._listing(route))
                return
            api = sp.api
            jobs = svc.submit(sp)
            if sp.stream and sp.fmt in ("wav", "raw", "pcm"):
                self._send_stream(svc.stream(sp, jobs), "audio/wav" if sp.fmt == "wav"
                                  else "audio/pcm")
            else:
                data, mime = svc.audio(sp, jobs)
                self._send(200, data, mime)
            status, error = 200, None
        except Exception as e:  # every failure becomes a clear reply, never a dropped line
            status, error = self._fail(api, e)
        if route in _SPEECH_ROUTES:
            svc.record(api=api, route=route, status=status,
                       seconds=time.monotonic() - started, sp=sp, jobs=jobs, error=error,
                       client=self.client_address[0] if self.client_address else None)

    def _fail(self, api: str, e: Exception) -> tuple[int, str]:
        if isinstance(e, HttpError):
            status, code = e.status, e.code
        elif isinstance(e, (BrokenPipeError, ConnectionResetError)):
            self.close_connection = True
            return 499, "client closed the connection"
        else:
            status, code = error_status(e)
        message = str(e) or type(e).__name__
        headers = {}
        if isinstance(e, QueueFull):
            headers["Retry-After"] = str(int(e.retry_after_s))
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if api == "openai":
            payload = {"error": {"message": message, "type": "invalid_request_error"
                                 if status < 500 else "server_error", "param": None,
                                 "code": code}}
        else:
            payload = {"message": message, "code": code}
        try:
            if getattr(self, "_streaming", False):
                self.close_connection = True  # a stream cannot change its status any more
            else:
                self._send_json(status, payload, headers)
        except OSError:
            self.close_connection = True
        return status, message

    def _auth(self) -> None:
        key = self.server.api_key
        if not key:
            return
        got = self.headers.get("Authorization", "")
        scheme, _, token = got.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                 key.encode()):
            raise HttpError(401, "missing or wrong API key: send 'Authorization: Bearer KEY'",
                            "invalid_api_key")

    def _allow(self, method: str, *allowed: str) -> None:
        if method not in allowed:
            raise HttpError(405, f"{method} is not allowed here; use {' or '.join(allowed)}",
                            "method_not_allowed")

    def _body(self, method: str) -> bytes:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise HttpError(411, "send the body with a Content-Length", "length_required")
        if length is None:
            if method == "POST":
                raise HttpError(411, "send the body with a Content-Length", "length_required")
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "bad Content-Length", "invalid_request") from None
        if n < 0 or n > self.server.max_body:
            self.close_connection = True  # the unread body must not be taken for a request
            raise HttpError(413, f"the body is {n} bytes; this server takes at most "
                                 f"{self.server.max_body}", "body_too_large")
        return self.rfile.read(n) if n else b""

    @staticmethod
    def _json(body: bytes) -> Any:
        if not body.strip():
            raise InvalidInput("the body is empty; send a JSON object")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise InvalidInput(f"the body is not valid JSON ({e})") from None

    def _listing(self, route: str) -> Any:
        svc = self.server.service
        if route == "/health":
            return {"status": "ok", **svc.scheduler.health(),
                    "voices": len(svc.servable()), "uptime_s": round(time.time() - svc.started)}
        if route == "/v1/models":
            return {"object": "list", "data": [{"id": m, "object": "model", "created": 0,
                                                "owned_by": "rasv"} for m in MODELS]}
        if route == "/v1/audio/voices":
            return {"voices": [{"id": v.voice, "name": v.voice, "role": v.role,
                                "product": v.name, "product_id": v.product_id,
                                "score": v.score} for v in svc.servable()]}
        if route == "/character_list":
            out: dict[str, list[str]] = {}
            for v in svc.servable():
                out.setdefault(v.role, []).append(v.name)
            return out
        if route == "/products":
            kinds = svc.scheduler.kinds()
            return {"products": [{"id": v.product_id, "voice": v.voice, "role": v.role,
                                  "name": v.name, "engine_kind": v.engine_kind,
                                  "score": v.score, "servable": v.engine_kind in kinds}
                                 for v in svc.catalog.voices()]}
        raise HttpError(404, f"no route {route}; see /health, /v1/audio/voices, /products",
                        "not_found")

    # -- replies -----------------------------------------------------------------------------

    def _send(self, status: int, data: bytes, mime: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8", headers)

    def _send_stream(self, chunks: Iterator[bytes], mime: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", mime)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._streaming = True
        for piece in chunks:
            if piece:
                self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self._streaming = False


def _query(qs: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, vs in parse_qs(qs, keep_blank_values=True).items():
        out[k] = vs if k == "aux_ref_audio_paths" else vs[-1]
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many clients connect at once; the default 5 resets them

    def __init__(self, addr: tuple[str, int], service: ApiService, api_key: str | None,
                 max_body: int) -> None:
        self.service = service
        self.api_key = api_key
        self.max_body = max_body
        self.active = 0  # requests between arrival and their log row
        self.idle = threading.Condition()
        super().__init__(addr, _Handler)


class ApiServer:
    """An HTTP server in front of an :class:`ApiService` (see the module docstring).

    Args:
        service: the serving core (workspace, engines).
        host: where to listen; anything but loopback needs ``api_key``.
        port: 0 picks a free port.
        api_key: when set, every request needs ``Authorization: Bearer <api_key>``.
        max_body: the largest request body in bytes.

    Raises:
        InvalidInput: a non-loopback host without an API key.
    """

    def __init__(self, service: ApiService, *, host: str = "127.0.0.1", port: int = 9881,
                 api_key: str | None = None, max_body: int = 256 * 1024) -> None:
        if not is_loopback(host) and not api_key:
            raise InvalidInput(f"binding {host} lets other machines use your engines; give "
                               "an API key (--api-key) or bind 127.0.0.1")
        self.service = service
        self.httpd = _Server((host, int(port)), service, api_key or None, int(max_body))
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> ApiServer:
        """Start the service and serve in a background thread (a started server stays as is)."""
        if self._thread is not None:
            # ``with serve_api(..., block=False)`` enters a server that is already started: a
            # second loop on the one socket would outlive stop() and spin on the closed socket.
            return self
        self.service.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="rasv-api-http")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Start the service and serve in this thread until interrupted."""
        self.service.start()
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, the engine workers and the request log."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self.httpd.server_close()
        # A request logs itself after its reply has left: once the jobs still waiting have
        # failed, let the requests being answered do so before the log's last flush (a stop
        # right after a reply used to lose its row).
        self.service.close(settle=self._until_answered)

    def _until_answered(self) -> None:
        with self.httpd.idle:
            self.httpd.idle.wait_for(lambda: self.httpd.active == 0, timeout=10)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["MODELS", "ApiServer", "HttpError", "KeepAliveHandler", "error_status", "is_loopback"]
