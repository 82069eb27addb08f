"""``GsvApiV1``: GPT-SoVITS's legacy ``api.py`` server as a rasv engine, with its limits declared.

Many users still run ``api.py``. It has no seed (a take cannot be reproduced), its
``inp_refs`` do not work with paths (no aux references), it names cut methods by punctuation,
it reloads both models on every switch, and it reports failures inside synthesis as HTTP 200
with an empty body. ``GsvApiV1`` sends what ``api.py`` can honour, declares the rest in its
capabilities, and treats the empty 200 as a failure (``research/gsv-bridge.md`` §1.6).

Example:
    >>> from rasv.testing import FakeGsvApiV1Server
    >>> with FakeGsvApiV1Server() as srv:
    ...     caps = GsvApiV1(srv.url).capabilities()
    >>> caps.seed, caps.aux_refs, caps.prompt_text_required
    (False, False, True)
"""

from __future__ import annotations

import os
from dataclasses import replace

from gsv_bridge.api_v2 import detect_server
from gsv_bridge.client import raise_for_reply
from gsv_bridge.common import (
    HttpEngine,
    check_output,
    check_text,
    checked_pair,
    read_timeout,
    server_paths,
)
from rasv.engine import Audio, Capabilities, SynthesisRequest, capabilities_for_version
from rasv.errors import AudioError, CapabilityError, EngineRequestError, EngineUnavailable
from rasv.models import Checkpoint

KIND = "gpt-sovits-api"

#: ``text_split_method`` as ``api.py``'s ``cut_punc`` (cut1/cut2 have no equivalent).
CUT_PUNC: dict[str, str] = {
    "cut0": "",
    "cut3": "。",
    "cut4": ".",
    "cut5": ",.;?!、，。？！；：…",
}
_STEPS = {"v3": (4, 8, 16, 32, 64, 128), "v4": (4, 8, 16, 32)}


class GsvApiV1(HttpEngine):
    """A legacy GPT-SoVITS ``api.py`` server as an :class:`rasv.Engine`.

    Args:
        url: the server, e.g. ``http://127.0.0.1:9880``.
        path_map: ``{local_prefix: server_prefix}`` as for :class:`GsvApiV2`.
        timeout, timeout_per_unit, switch_timeout, connect_timeout: as for ``GsvApiV2``.
        version: SoVITS version to assume until weights are loaded through this engine.

    Its ``kind`` (``gpt-sovits-api``) differs from ``GsvApiV2``'s: ``api.py`` runs a different
    inference path, so its takes are never mistaken for ``api_v2`` ones.

    Example:
        >>> GsvApiV1("http://127.0.0.1:9880").name
        'http://127.0.0.1:9880'
    """

    kind = KIND

    def _init_state(self) -> None:
        self._checked = False
        self._loaded: tuple[str | None, str | None] = (None, None)
        self._ckpt: tuple[Checkpoint | None, Checkpoint | None] = (None, None)

    def _check_server(self) -> None:
        if self._checked:
            return
        info = detect_server(self._client)
        if info.kind != "api":
            raise CapabilityError(f"{self.url} runs GPT-SoVITS's api_v2.py; use gsv_bridge.GsvApiV2")
        self._checked = True

    def capabilities(self) -> Capabilities:
        """What ``api.py`` honours for the loaded model version.

        Example:
            >>> sorted(GsvApiV1("http://x:1", version="v2").capabilities().params)
            ['speed_factor', 'temperature', 'text_split_method', 'top_k', 'top_p']
        """
        base = capabilities_for_version(self._version, kind=KIND)
        params = {"top_k", "top_p", "temperature", "speed_factor", "text_split_method"}
        if self._version in ("v3", "v4"):
            params.add("sample_steps")
        if self._version == "v3":
            params.add("super_sampling")
        notes = ["legacy api.py: no seed (takes are not reproducible), no auxiliary references, "
                 "cut1/cut2 unavailable, repetition_penalty and batching fixed"]
        if self._version is None:
            notes.append("model version unknown until weights are loaded with load()")
        return replace(base, params=frozenset(params), aux_refs=False, seed=False,
                       prompt_text_required=True, notes="; ".join(notes))

    def load(self, gpt: str | os.PathLike | None, sovits: str | os.PathLike | None) -> None:
        """Load a checkpoint pair with ``/set_model`` (which always reloads both).

        A ``None`` keeps that model as it is, which ``api.py`` can only do when this engine
        loaded it (``/set_model`` needs both paths).

        Raises:
            CapabilityError: one path is None and the server's current one is unknown.
            EngineRequestError: the server refused the weights (the previous pair is loaded
                back when known).

        Example:
            >>> from rasv.testing import FakeGsvApiV1Server, make_checkpoint_pair
            >>> gpt, sovits = make_checkpoint_pair()
            >>> srv = FakeGsvApiV1Server().start()   # a stand-in for a running api.py
            >>> eng = GsvApiV1(srv.url)
            >>> eng.load(gpt, sovits); eng.version, len(srv.calls_to("/set_model"))
            ('v2ProPlus', 1)
            >>> srv.stop()
        """
        cur_g, cur_s = self._loaded
        new_g = str(gpt) if gpt is not None else cur_g
        new_s = str(sovits) if sovits is not None else cur_s
        if (new_g, new_s) == self._loaded:
            return
        if new_g is None or new_s is None:
            raise CapabilityError(
                "api.py's /set_model needs both a GPT and a SoVITS checkpoint, and the one not "
                "given is unknown to this engine; pass both")
        g, s = checked_pair(new_g, new_s, self.path_map)
        with self._client.lock:
            self._check_server()
            try:
                reply = self._set_model(new_g, new_s)
            except EngineUnavailable:
                self._loaded, self._ckpt = (None, None), (None, None)  # unknown now
                raise
            if reply.status == 200:
                self._loaded, self._ckpt = (new_g, new_s), (g, s)
                self._version = (s.version if s is not None else None) or self.version_hint
                return
            note = "the previous models are unknown"
            if cur_g is not None and cur_s is not None:
                back = self._set_model(cur_g, cur_s)
                note = ("loaded the previous pair again" if back.status == 200
                        else "loading the previous pair failed too")
                if back.status != 200:
                    self._loaded, self._ckpt = (None, None), (None, None)
            try:
                raise_for_reply(reply, f"{self.url}/set_model")
            except EngineRequestError as e:
                raise EngineRequestError(f"{e} ({note})", status=e.status, body=e.body,
                                         request={"gpt": new_g, "sovits": new_s},
                                         transient=False) from None

    def _set_model(self, gpt: str, sovits: str):  # noqa: ANN202
        return self._client.request(
            "POST", "/set_model",
            json_body={"gpt_model_path": self.path_map.to_server(gpt),
                       "sovits_model_path": self.path_map.to_server(sovits)},
            timeout=self.switch_timeout)

    def synthesize(self, req: SynthesisRequest) -> Audio:
        """Synthesize with ``GET``-equivalent keys posted to ``/`` and check the reply.

        The request's seed is not sent (``api.py`` has none); it is kept in the audio's
        ``meta`` as ``seed_ignored``.

        Raises:
            CapabilityError: cut1/cut2, aux references, a sample_steps value the model would
                silently replace, or an empty prompt text.
            EngineRequestError: an error reply, or the empty 200 that ``api.py`` sends when
                synthesis fails.

        Example:
            >>> from rasv.testing import FakeGsvApiV1Server, make_checkpoint_pair, make_request
            >>> gpt, sovits = make_checkpoint_pair()
            >>> srv = FakeGsvApiV1Server().start()   # a stand-in for a running api.py
            >>> eng = GsvApiV1(srv.url)
            >>> eng.load(gpt, sovits)
            >>> audio = eng.synthesize(make_request(seed=7))
            >>> audio.meta["seed_ignored"], "seed" in srv.calls_to("/")[-1].body
            (7, False)
            >>> srv.stop()
        """
        caps = self.capabilities()
        caps.check(req)
        check_text(req)
        if req.text_split_method not in CUT_PUNC:
            raise CapabilityError(
                f"api.py cannot split text like {req.text_split_method}; use cut0, cut3, cut4 "
                "or cut5 (or api_v2.py)")
        steps = _STEPS.get(self._version or "")
        if steps and req.sample_steps not in steps:
            raise CapabilityError(
                f"api.py replaces sample_steps {req.sample_steps} for {self._version} models; "
                f"use one of {', '.join(map(str, steps))}")
        ref, _ = server_paths(req, caps, self.path_map)
        body = {
            "refer_wav_path": ref,
            "prompt_text": req.prompt_text,
            "prompt_language": req.prompt_lang,
            "text": req.text,
            "text_language": req.text_lang,
            "cut_punc": CUT_PUNC[req.text_split_method],
            "top_k": req.top_k,
            "top_p": req.top_p,
            "temperature": req.temperature,
            "speed": req.speed_factor,
            "sample_steps": req.sample_steps,
            "if_sr": bool(req.super_sampling),
        }
        with self._client.lock:
            self._check_server()
            reply = self._client.request("POST", "/", json_body=body, what=req,
                                         timeout=read_timeout(req.text, self.timeout,
                                                              self.timeout_per_unit))
        raise_for_reply(reply, f"{self.url}/", what=req)
        if not reply.body:
            raise EngineRequestError(
                f"{self.url}/ answered 200 with no audio: api.py failed inside synthesis (see "
                "its console: a missing reference file, a bad language or out of memory)",
                status=200, request=req, transient=True)
        try:
            audio = Audio.from_bytes(reply.body)
        except AudioError as e:
            raise EngineRequestError(f"{self.url}/ answered with a cut-off or unreadable "
                                     f"stream ({e})", status=200, request=req,
                                     transient=True) from None
        check_output(audio, caps, super_sampling=req.super_sampling, who=f"{self.url}/",
                     request=req)
        meta = {"engine": self.name, "server": "api", "version": self._version,
                "seed_ignored": req.seed, "gpt": self._loaded[0], "sovits": self._loaded[1]}
        return Audio(audio.samples, audio.sample_rate, meta=meta)

    def close(self) -> None:
        """Close the connection (the engine reconnects on next use).

        Example:
            >>> eng = GsvApiV1("http://127.0.0.1:9880")
            >>> eng.close(); eng.close()   # safe to call twice
        """
        self._client.close()


__all__ = ["CUT_PUNC", "GsvApiV1"]
