"""A small keep-alive HTTP client for GPT-SoVITS servers, with rasv's error mapping.

``http.client`` on one persistent connection keeps the per-request overhead far below a
TTS call; a lock keeps one request in flight per server, which ``api_v2`` needs (it
serialises requests itself and mixes voices when streamed requests overlap). Connection
problems become :class:`~rasv.EngineUnavailable` (transient); HTTP error replies become
:class:`~rasv.EngineRequestError` with the status, the body and the request.

Example:
    >>> c = HttpClient("http://127.0.0.1:9")
    >>> c.host, c.port, c.base_path
    ('127.0.0.1', 9, '')
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from rasv.errors import EngineRequestError, EngineUnavailable, InvalidInput


@dataclass(frozen=True)
class Reply:
    """An HTTP reply: status, content type and body bytes.

    Example:
        >>> Reply(200, "application/json", b'{"message": "success"}').json()["message"]
        'success'
    """

    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when it is not JSON)."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self, limit: int = 2000) -> str:
        """The body as text, shortened to ``limit`` characters."""
        t = self.body[: limit * 4].decode("utf-8", errors="replace")
        return t if len(t) <= limit else t[:limit] + "…"


class HttpClient:
    """One keep-alive connection to one server; thread-safe (one request at a time).

    Args:
        url: ``http://host:port`` (an optional path prefix is kept, e.g. behind a proxy).
        connect_timeout: seconds to wait for the TCP connection.

    Example:
        >>> HttpClient("http://localhost:9880/gsv").base_path
        '/gsv'
    """

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"not an http(s) server address: {url!r}")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.connect_timeout = connect_timeout
        self.lock = threading.RLock()
        self._conn: http.client.HTTPConnection | None = None
        self._used = False

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.connect_timeout)
            self._used = False
        return self._conn

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, timeout: float = 30.0, what: Any = None) -> Reply:
        """Send one request and read the whole reply.

        A connection that the server closed while idle (keep-alive expiry) is reopened once
        transparently; any other connection failure raises :class:`~rasv.EngineUnavailable`.

        Args:
            method: ``GET`` or ``POST``.
            path: the route, e.g. ``/tts``.
            params: query parameters.
            json_body: a JSON-serialisable body (POST).
            timeout: seconds to wait for the reply once sent.
            what: the request object attached to errors (for the runner's records).
        """
        target = self.base_path + path
        if params:
            target += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        body = None
        headers = {"Accept": "*/*"}
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        with self.lock:
            for attempt in (0, 1):
                conn = self._connection()
                reused = self._used
                try:
                    if conn.sock is None:
                        conn.connect()
                    conn.sock.settimeout(timeout)
                    conn.request(method, target, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self._used = True
                    if resp.will_close:
                        self.close()
                    return Reply(resp.status, resp.getheader("Content-Type", "") or "", data)
                except TimeoutError:
                    self.close()
                    raise EngineUnavailable(
                        f"{self.url}{path} gave no reply within {timeout:.0f} s; the server may "
                        "still be busy with it (GPT-SoVITS cannot cancel a request)"
                    ) from None
                except ConnectionRefusedError:
                    self.close()
                    raise EngineUnavailable(
                        f"cannot connect to {self.url}: connection refused (is the server running?)"
                    ) from None
                except (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError, ConnectionAbortedError) as e:
                    self.close()
                    if reused and attempt == 0:
                        continue  # the server closed an idle keep-alive connection: reopen once
                    raise EngineUnavailable(
                        f"{self.url}{path}: the server dropped the connection "
                        f"({type(e).__name__}); it may have crashed or restarted"
                    ) from None
                except (OSError, http.client.HTTPException) as e:
                    self.close()
                    raise EngineUnavailable(f"cannot reach {self.url}: {e}") from None
            raise AssertionError("unreachable")  # pragma: no cover


def raise_for_reply(reply: Reply, url: str, *, what: Any = None) -> None:
    """Turn a non-200 reply into :class:`~rasv.EngineRequestError` with one clear sentence.

    GPT-SoVITS answers ``{"message": ..., "Exception": ...}`` (400), FastAPI
    ``{"detail": [...]}`` (422) or plain text (500). 5xx and 429 are transient.

    Example:
        >>> try:
        ...     raise_for_reply(Reply(400, "application/json",
        ...         b'{"message": "text is required"}'), "http://x/tts")
        ... except EngineRequestError as e:
        ...     print(e, e.status, e.transient)
        http://x/tts refused the request: text is required 400 False
    """
    if reply.status == 200:
        return
    payload = reply.json()
    if isinstance(payload, dict) and "message" in payload:
        detail = str(payload["message"])
        exc = payload.get("Exception")
        if exc not in (None, ""):
            detail += f": {exc}"
        elif detail == "tts failed":
            detail += " (no reason given; GPT-SoVITS gives none for an upper-case language code)"
    elif isinstance(payload, dict) and isinstance(payload.get("detail"), list):
        parts = []
        for d in payload["detail"]:
            if isinstance(d, dict):
                loc = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                parts.append(f"{loc}: {d.get('msg', '')}".strip(": "))
        detail = "invalid request fields (" + "; ".join(parts) + ")"
    else:
        detail = reply.text(300) or "empty reply"
    transient = reply.status >= 500 or reply.status == 429
    verb = "failed on" if transient else "refused"
    raise EngineRequestError(
        f"{url} {verb} the request: {detail}",
        status=reply.status,
        body=reply.text(),
        request=what,
        transient=transient,
    )


__all__ = ["HttpClient", "Reply", "raise_for_reply"]
