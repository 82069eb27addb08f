"""``GsvApiV2``: GPT-SoVITS's ``api_v2.py`` HTTP server as a rasv engine.

What it does for you, following ``research/gsv-bridge.md``:

- sends every ``/tts`` as a non-streaming JSON POST with lowercase language codes, the
  explicit seed and the aux references in the body;
- checks the 3–10 s reference rule, the model version's languages and the prompt-text rule
  before sending, and maps local paths to the server's (``path_map``);
- switches weights only when they change, re-primes the reference cache after a SoVITS
  switch (GPT-SoVITS keys it by path and does not invalidate it), and after a failed switch
  switches back to the last good weights (the server keeps pointing at the bad file);
- reads the version of the loaded SoVITS file from its header, so capabilities and the
  expected sample rate follow the model;
- treats the 200 + 1 s of 16 kHz silence reply and any unexpected sample rate as failures;
- keeps one request in flight per server, with a read timeout that grows with the text.

Example:
    >>> from rasv.testing import FakeGsvServer
    >>> with FakeGsvServer() as srv:
    ...     eng = GsvApiV2(srv.url)
    ...     eng.server_info().kind
    'api_v2'
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gsv_bridge.client import HttpClient, Reply, raise_for_reply
from gsv_bridge.common import (
    HttpEngine,
    check_output,
    check_text,
    checked_pair,
    local_checkpoint,
    read_timeout,
    server_paths,
)
from gsv_bridge.protocol import CacheState, after_take, prepare, throwaway_body
from rasv.engine import Audio, Capabilities, SynthesisRequest, capabilities_for_version
from rasv.errors import (
    AudioError,
    CapabilityError,
    EngineRequestError,
    EngineUnavailable,
    NotAnEngine,
    RasvError,
)
from rasv.models import Checkpoint

KIND = "gpt-sovits"


@dataclass(frozen=True)
class ServerInfo:
    """What ``/openapi.json`` says about a GPT-SoVITS server.

    ``kind`` is ``api_v2`` or ``api`` (the legacy ``api.py``); for ``api_v2``,
    ``top_k_default`` (5 before 2025-12, then 15), ``sample_steps`` (2025-03 and later) and
    ``streaming_modes`` (int modes 2/3, 2025-11 and later) date the server.

    Example:
        >>> ServerInfo("api_v2", top_k_default=15).describe()
        'api_v2 (top_k default 15)'
    """

    kind: str
    top_k_default: int | None = None
    sample_steps: bool = True
    streaming_modes: bool = True

    def describe(self) -> str:
        """A short description recorded with each take."""
        if self.kind != "api_v2":
            return self.kind
        return f"api_v2 (top_k default {self.top_k_default})"


def detect_server(client: HttpClient, timeout: float = 10.0) -> ServerInfo:
    """Ask a server's ``/openapi.json`` which GPT-SoVITS API it is.

    Raises:
        EngineUnavailable: the server cannot be reached.
        NotAnEngine: it answers, but is not a GPT-SoVITS API server.
    """
    reply = client.request("GET", "/openapi.json", timeout=timeout)
    doc = reply.json() if reply.status == 200 else None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise NotAnEngine(
            f"{client.url} is not a GPT-SoVITS API server (no FastAPI /openapi.json; "
            f"HTTP {reply.status})", status=reply.status, body=reply.text(), transient=False)
    paths = doc["paths"]
    if "/tts" in paths and "/set_gpt_weights" in paths:
        props = (doc.get("components", {}).get("schemas", {}).get("TTS_Request", {})
                 .get("properties", {}))
        top_k = props.get("top_k", {}).get("default")
        return ServerInfo(
            "api_v2",
            top_k_default=int(top_k) if isinstance(top_k, (int, float)) else None,
            sample_steps="sample_steps" in props or not props,
            streaming_modes="overlap_length" in props or not props,
        )
    if "/set_model" in paths and "/change_refer" in paths:
        return ServerInfo("api")
    raise NotAnEngine(
        f"{client.url} is a web API but not GPT-SoVITS's api_v2.py or api.py "
        f"(routes: {', '.join(sorted(paths)[:8])})", status=200, transient=False)


class GsvApiV2(HttpEngine):
    """A GPT-SoVITS ``api_v2.py`` server as an :class:`rasv.Engine`.

    Args:
        url: the server, e.g. ``http://127.0.0.1:9880``.
        path_map: ``{local_prefix: server_prefix}`` when the server sees the workspace and the
            checkpoints under other paths (a container, a VM, Colab).
        timeout: base seconds to wait for a synthesis; ``timeout_per_unit`` more per spoken
            unit of text (long texts take minutes on slow GPUs).
        switch_timeout: seconds to wait for a weight switch (v3/v4 LoRA merges are slow).
        connect_timeout: seconds to wait for the TCP connection.
        version: the SoVITS version to assume when the loaded weights cannot be sniffed
            locally (server-only paths, or weights loaded before this client connected).

    The engine's ``name`` is the URL; its ``kind`` (``gpt-sovits``) enters take ids, so the
    same take made in-process is recognised as the same.

    Example:
        >>> from rasv.testing import FakeGsvServer
        >>> with FakeGsvServer() as srv:
        ...     GsvApiV2(srv.url).capabilities().sample_rate
        32000
    """

    kind = KIND

    def _init_state(self) -> None:
        self._info: ServerInfo | None = None
        self._loaded: dict[str, str | None] = {"gpt": None, "sovits": None}
        self._ckpt: dict[str, Checkpoint | None] = {"gpt": None, "sovits": None}
        #: What the server has cached (see :mod:`gsv_bridge.protocol`); ``cache.counts``
        #: counts the reference loads, warm-ups and prompt resets done for it.
        self.cache = CacheState()
        #: Weight switches sent to the server, by kind (``gpt``, ``sovits``).
        self.switches: dict[str, int] = {"gpt": 0, "sovits": 0}
        #: Called when the server cannot be reached; returns True if it was (re)started.
        #: :class:`gsv_bridge.GsvServer` sets it so a crashed server comes back.
        self.on_unavailable: Callable[[], bool] | None = None

    # -- server --------------------------------------------------------------------------------

    def server_info(self, *, refresh: bool = False) -> ServerInfo:
        """Detect (once) which GPT-SoVITS API answers at the URL.

        Raises:
            CapabilityError: the server is the legacy ``api.py`` (use ``GsvApiV1``).

        Example:
            >>> from rasv.testing import FakeGsvServer
            >>> srv = FakeGsvServer().start()   # a stand-in for a running api_v2.py
            >>> eng = GsvApiV2(srv.url)
            >>> eng.server_info().kind
            'api_v2'
            >>> srv.stop()
        """
        if self._info is None or refresh:
            with self._client.lock:
                info = detect_server(self._client)
            if info.kind != "api_v2":
                raise CapabilityError(
                    f"{self.url} runs GPT-SoVITS's legacy api.py, not api_v2.py; use "
                    "gsv_bridge.GsvApiV1 for it, or start api_v2.py (gsv_bridge.GsvServer)")
            self._info = info
        return self._info

    def wait_ready(self, timeout: float = 300.0, *, poll_s: float = 0.25,
                   alive: Callable[[], bool] | None = None) -> ServerInfo:
        """Poll ``/openapi.json`` until the server answers (it has no health endpoint).

        Args:
            timeout: seconds before giving up with :class:`~rasv.EngineUnavailable`.
            alive: optional check that the server process still runs (stop waiting if not).

        Example:
            >>> from rasv.testing import FakeGsvServer
            >>> srv = FakeGsvServer().start()   # a stand-in for a running api_v2.py
            >>> eng = GsvApiV2(srv.url)
            >>> eng.wait_ready(timeout=10).kind
            'api_v2'
            >>> srv.stop()
            >>> try:
            ...     eng.wait_ready(timeout=0.3, poll_s=0.1)
            ... except EngineUnavailable:
            ...     print("gone")
            gone
        """
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while True:
            try:
                return self.server_info(refresh=True)
            except EngineUnavailable as e:
                last = e
            if alive is not None and not alive():
                raise EngineUnavailable(f"{self.url}: the server process exited while starting")
            if time.monotonic() >= deadline:
                raise EngineUnavailable(
                    f"{self.url} did not answer /openapi.json within {timeout:.0f} s ({last})")
            time.sleep(poll_s)

    def restart(self, timeout: float = 300.0) -> None:
        """Ask the server to restart itself (``/control?command=restart``) and wait for it.

        GPT-SoVITS re-executes itself and comes back with the last weights set (it saves
        them in its config), so the loaded pair is kept. Useful every few hundred requests:
        the server's host memory grows with every request (GPT-SoVITS issue #1218).

        Example:
            >>> from rasv.testing import FakeGsvServer
            >>> srv = FakeGsvServer().start()   # a stand-in for a running api_v2.py
            >>> eng = GsvApiV2(srv.url)
            >>> eng.restart(timeout=10); eng.server_info().kind
            'api_v2'
            >>> srv.stop()
        """
        with self._client.lock:
            # The server re-execs itself without replying.
            with contextlib.suppress(EngineUnavailable):
                self._client.request("GET", "/control", params={"command": "restart"},
                                     timeout=10.0)
            self._client.close()
        time.sleep(0.2)
        self.wait_ready(timeout)
        self.cache.reset()  # a fresh process: nothing cached, first-use models unbuilt

    def close(self) -> None:
        """Close the connection (the engine reconnects on next use).

        Example:
            >>> from rasv.testing import FakeGsvServer
            >>> srv = FakeGsvServer().start()   # a stand-in for a running api_v2.py
            >>> eng = GsvApiV2(srv.url)
            >>> eng.close(); eng.server_info().kind   # connects again
            'api_v2'
            >>> srv.stop()
        """
        self._client.close()

    # -- engine protocol -----------------------------------------------------------------------

    @property
    def loaded(self) -> tuple[str | None, str | None]:
        """The local ``(gpt, sovits)`` paths this engine loaded (None: unknown or untouched)."""
        return self._loaded["gpt"], self._loaded["sovits"]

    def capabilities(self) -> Capabilities:
        """Capabilities of the loaded model version (v2-like while the version is unknown).

        Example:
            >>> caps = GsvApiV2("http://127.0.0.1:9880", version="v4").capabilities()
            >>> caps.version, caps.sample_rate, caps.aux_refs
            ('v4', 48000, False)
        """
        caps = capabilities_for_version(self._version, kind=KIND)
        notes = [caps.notes] if caps.notes else []
        if self._version is None:
            notes.append("model version unknown until weights are loaded with load()")
        info = self._info
        if info is not None and not info.sample_steps:
            caps = replace(caps, params=caps.params - {"sample_steps", "super_sampling"})
            notes.append("server predates sample_steps/super_sampling (2025-03)")
        return replace(caps, notes="; ".join(n for n in notes if n))

    def load(self, gpt: str | os.PathLike | None, sovits: str | os.PathLike | None) -> None:
        """Switch to these checkpoints (local paths); a no-op for those already loaded.

        ``None`` leaves that model as it is. After a SoVITS switch the next synthesis first
        re-primes the server's reference cache. If a switch fails, the previous weights are
        loaded again and :class:`~rasv.EngineRequestError` says what happened.

        Raises:
            CheckpointError: a local file that is missing, unreadable or of the wrong kind.
            CapabilityError: a v1 GPT paired with a v2+ SoVITS, or the reverse.
            EngineRequestError: the server refused the weights.
            EngineUnavailable: the server cannot be reached.

        Example:
            >>> from rasv.testing import FakeGsvServer, make_checkpoint_pair
            >>> gpt, sovits = make_checkpoint_pair()
            >>> srv = FakeGsvServer().start()   # a stand-in for a running api_v2.py
            >>> eng = GsvApiV2(srv.url)
            >>> eng.load(gpt, sovits); eng.version, len(srv.calls_to("/set_sovits_weights"))
            ('v2ProPlus', 1)
            >>> eng.load(gpt, sovits); len(srv.calls_to("/set_sovits_weights"))   # no-op
            1
            >>> srv.stop()
        """
        g, s = checked_pair(gpt, sovits, self.path_map, (self._ckpt["gpt"], self._ckpt["sovits"]))
        with self._client.lock:
            self.server_info()
            if gpt is not None:
                self._switch("gpt", str(gpt), g)
            if sovits is not None:
                self._switch("sovits", str(sovits), s)

    def assume_loaded(self, gpt: str | os.PathLike | None, sovits: str | os.PathLike | None) -> None:
        """Record weights the server already holds (it was started with them); no request.

        Unknown or unreadable files are recorded as unknown, so the next :meth:`load` of
        them switches for real.

        Example:
            >>> import os, tempfile
            >>> from rasv.testing import make_checkpoint
            >>> d = tempfile.mkdtemp()
            >>> s = make_checkpoint(os.path.join(d, "ann_e8_s96.pth"), version="v2Pro")
            >>> eng = GsvApiV2("http://127.0.0.1:9"); eng.assume_loaded(None, s)
            >>> eng.loaded[1] == s, eng.version
            (True, 'v2Pro')
        """
        for kind, path in (("gpt", gpt), ("sovits", sovits)):
            ck = None
            if path is not None:
                try:
                    ck = local_checkpoint(path, self.path_map, kind)
                except RasvError:
                    path = None
            self._loaded[kind] = None if path is None else str(path)
            self._ckpt[kind] = ck
            if kind == "sovits" and ck is not None and ck.version:
                self._version = ck.version

    def _switch(self, kind: str, local: str, ck: Checkpoint | None) -> None:
        if self._loaded[kind] == local:
            return
        route = f"/set_{'gpt' if kind == 'gpt' else 'sovits'}_weights"
        self.switches[kind] += 1
        try:
            reply = self._call("GET", route,
                               params={"weights_path": self.path_map.to_server(local)},
                               timeout=self.switch_timeout)
        except EngineUnavailable:
            # The switch may still complete on the server: what it holds is unknown now, so
            # the next load() sends the switch again instead of trusting the old state.
            self._loaded[kind] = None
            self._ckpt[kind] = None
            raise
        if reply.status == 200:
            self._after_switch(kind, local, ck)
            return
        # GPT-SoVITS has already written the bad path into its config; a later inference
        # error would reload from it and leave no model at all. Switch back explicitly.
        previous = self._loaded[kind]
        note = "the server's previous weights are unknown; load() good weights before going on"
        if previous is not None:
            back = self._call("GET", route,
                              params={"weights_path": self.path_map.to_server(previous)},
                              timeout=self.switch_timeout)
            if back.status == 200:
                note = f"switched back to {Path(previous).name}"
            else:
                self._loaded[kind] = None
                self._ckpt[kind] = None
                note = f"switching back to {Path(previous).name} failed too"
        try:
            raise_for_reply(reply, f"{self.url}{route}", what={"weights_path": local})
        except EngineRequestError as e:
            raise EngineRequestError(
                f"{self.url} could not load {kind.upper()} weights {Path(local).name}: "
                f"{_detail(reply)} ({note})",
                status=e.status, body=e.body, request={"weights_path": local}, transient=False,
            ) from None

    def _after_switch(self, kind: str, local: str, ck: Checkpoint | None) -> None:
        self._loaded[kind] = local
        self._ckpt[kind] = ck
        if kind == "sovits":
            # The reference must be loaded again under this model before the next take
            # (protocol.plan compares the model it was loaded under).
            self._version = (ck.version if ck is not None and ck.version else None) or self.version_hint

    def synthesize(self, req: SynthesisRequest) -> Audio:
        """Synthesize one request (non-streaming WAV) and check the reply.

        Raises:
            ReferenceOutOfRange / CapabilityError / InvalidInput / AudioError: refused before
                sending (permanent).
            EngineRequestError: the server refused (4xx, permanent), failed (5xx, transient)
                or answered with failure-shaped audio.
            EngineUnavailable: unreachable, dropped connection, or no reply in time.

        Example:
            >>> from rasv.testing import FakeGsvServer, make_checkpoint_pair, make_request
            >>> gpt, sovits = make_checkpoint_pair()
            >>> srv = FakeGsvServer().start()   # a stand-in for a running api_v2.py
            >>> eng = GsvApiV2(srv.url)
            >>> eng.load(gpt, sovits)
            >>> audio = eng.synthesize(make_request(seed=7))
            >>> audio.sample_rate, audio.samples.dtype, srv.calls_to("/tts")[-1].body["seed"]
            (32000, dtype('float32'), 7)
            >>> srv.stop()
        """
        try:
            return self._synthesize(req)
        except EngineUnavailable:
            if self.on_unavailable is None or not self.on_unavailable():
                raise
        # The server was restarted under us: it has our weights (saved in its config) and
        # empty caches. Try once more.
        self._client.close()
        self.cache.reset()
        return self._synthesize(req)

    def _synthesize(self, req: SynthesisRequest) -> Audio:
        caps = self.capabilities()
        caps.check(req)
        check_text(req)
        ref, aux = server_paths(req, caps, self.path_map)
        body = req.to_api_body()
        body.update(ref_audio_path=ref, aux_ref_audio_paths=aux, media_type="wav",
                    streaming_mode=False)
        with self._client.lock:
            self.server_info()
            self._prepare(ref, req, body)
            try:
                reply = self._call("POST", "/tts", json_body=body, what=req,
                                   timeout=read_timeout(req.text, self.timeout,
                                                        self.timeout_per_unit))
            except BaseException:
                self.cache.prompt_unknown = True
                raise
            if reply.status == 200:
                after_take(self.cache, prompt_text=req.prompt_text, prompt_lang=req.prompt_lang,
                           version=self._version)
            else:
                self.cache.prompt_unknown = True
        raise_for_reply(reply, f"{self.url}/tts", what=req)
        try:
            audio = Audio.from_bytes(reply.body)
        except AudioError as e:
            raise EngineRequestError(
                f"{self.url}/tts answered 200 with a body that is not audio ({e})",
                status=200, body=reply.text(300), request=req, transient=True) from None
        check_output(audio, caps, super_sampling=req.super_sampling, who=f"{self.url}/tts",
                     request=req)
        meta = {"engine": self.name, "server": self._info.describe() if self._info else None,
                "version": self._version, "seed": req.seed, "gpt": self._loaded["gpt"],
                "sovits": self._loaded["sovits"]}
        return Audio(audio.samples, audio.sample_rate, meta=meta)

    def _prepare(self, ref: str, req: SynthesisRequest, body: dict[str, Any]) -> None:
        """Bring the server's caches to where this take's audio depends on nothing else."""

        def load_ref() -> None:
            reply = self._call("GET", "/set_refer_audio", params={"refer_audio_path": ref},
                               timeout=read_timeout("", self.timeout, 0))
            if reply.status != 200:
                raise_for_reply(reply, f"{self.url}/set_refer_audio", what=req)
                raise EngineRequestError(  # a 2xx other than 200: not what api_v2 says
                    f"{self.url}/set_refer_audio answered HTTP {reply.status}",
                    status=reply.status, request=req, transient=True)

        def throwaway() -> None:
            reply = self._call("POST", "/tts", json_body=throwaway_body(ref, body),
                               timeout=read_timeout("你好", self.timeout, 0))
            if reply.status != 200:
                raise_for_reply(reply, f"{self.url}/tts (warm-up)", what=req)
            try:
                check_output(Audio.from_bytes(reply.body), self.capabilities(),
                             super_sampling=False, who=f"{self.url}/tts (warm-up)", request=req)
            except AudioError as e:
                raise EngineRequestError(
                    f"{self.url}/tts (warm-up) answered 200 with a body that is not audio "
                    f"({e})", status=200, request=req, transient=True) from None

        prepare(self.cache, ref=ref, sovits=self._loaded["sovits"], prompt_text=req.prompt_text,
                prompt_lang=req.prompt_lang, version=self._version, load_ref=load_ref,
                throwaway=throwaway)

    def _call(self, method: str, route: str, *, params: dict[str, Any] | None = None,
              json_body: Any = None, timeout: float, what: Any = None) -> Reply:
        return self._client.request(method, route, params=params, json_body=json_body,
                                    timeout=timeout, what=what)


def _detail(reply: Reply) -> str:
    payload = reply.json()
    if isinstance(payload, dict) and "message" in payload:
        exc = payload.get("Exception")
        return f"{payload['message']}: {exc}" if exc else str(payload["message"])
    return reply.text(200) or f"HTTP {reply.status}"


__all__ = ["GsvApiV2", "ServerInfo", "detect_server"]
