"""Serving (``rasv api``): a workspace's products as voices for other apps over HTTP.

``serve_api(ws, engines)`` starts the server; each product is a voice named
``"<role label>/<product name>"``, spoken through OpenAI-, GSVI- and api_v2-compatible
routes. See ``docs/serving.md``.

Modules, leaves first: ``encode`` (offline audio formats), ``catalog`` (products as voices,
cached presets, workspace-only paths), ``scheduler`` (jobs over the engine pool) and
``record`` (the ``api_requests`` log) ← ``speech`` (the three request shapes) ← ``service``
(:class:`ApiService`: request → chunks → jobs → joined audio) ← ``http``
(:class:`ApiServer`: routes, auth, limits, error shapes). rasv never speaks HTTP to an
engine itself: engines (``gsv_bridge.GsvApiV2`` …) are handed in.

Example:
    >>> import rasv, tempfile, json, urllib.request
    >>> from rasv.testing import FakeEngine
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> with serve_api(ws, [FakeEngine()], port=0, block=False) as srv:
    ...     json.load(urllib.request.urlopen(srv.url + "/health"))["status"]
    'ok'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rasv.serving.catalog import Catalog, Voice
from rasv.serving.encode import FORMATS, encode
from rasv.serving.http import ApiServer, is_loopback
from rasv.serving.record import Recorder, Served
from rasv.serving.scheduler import Job, Scheduler
from rasv.serving.service import ApiService, plan_chunks
from rasv.serving.speech import Speech

if TYPE_CHECKING:
    from rasv.engine import Engine
    from rasv.workspace import Workspace


def serve_api(ws: Workspace, engines: Sequence[Engine], *, host: str = "127.0.0.1",
              port: int = 9881, api_key: str | None = None, block: bool = True,
              max_body: int = 256 * 1024, **options: Any) -> ApiServer:
    """Serve the workspace's products on ``engines`` over HTTP.

    Args:
        ws: the workspace whose products are the voices.
        engines: engines to synthesize with (``gsv_bridge.GsvApiV2`` …), one request in
            flight on each.
        host: where to listen; anything but loopback needs ``api_key``.
        port: TCP port (0: a free one; read ``.url``).
        api_key: require ``Authorization: Bearer <api_key>`` on every request.
        block: serve until interrupted (True), or start in the background and return the
            running server (False; stop it with ``.stop()`` or a ``with`` block).
        max_body: the largest request body in bytes.
        options: :class:`ApiService` settings (``max_chars``, ``timeout_s``, ``max_queue`` …).

    Raises:
        InvalidInput: a non-loopback host without an API key.

    Example:
        >>> import rasv, tempfile, json, urllib.request
        >>> from rasv.testing import FakeEngine
        >>> ws = rasv.open(tempfile.mkdtemp())
        >>> with rasv.serve_api(ws, [FakeEngine()], port=0, block=False) as srv:
        ...     json.load(urllib.request.urlopen(srv.url + "/v1/audio/voices"))
        {'voices': []}
    """
    server = ApiServer(ApiService(ws, engines, **options), host=host, port=port,
                       api_key=api_key, max_body=max_body)
    if block:
        server.serve_forever()
        return server
    return server.start()


__all__ = [
    "FORMATS",
    "ApiServer",
    "ApiService",
    "Catalog",
    "Job",
    "Recorder",
    "Scheduler",
    "Served",
    "Speech",
    "Voice",
    "encode",
    "is_loopback",
    "plan_chunks",
    "serve_api",
]
