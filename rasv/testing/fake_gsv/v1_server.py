"""A fake legacy GPT-SoVITS ``api.py`` server (see :class:`FakeGsvApiV1Server`).

Example:
    >>> sorted(FakeGsvApiV1Server.routes)[:2]
    ['/', '/change_refer']
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any

from rasv.langs import API_LANGS, V1_LANGS
from rasv.testing.fake_gsv.base import (
    PRETRAINED,
    Call,
    FakeServer,
    Reply,
    json_reply,
    rate_for,
    wav_bytes,
)


class FakeGsvApiV1Server(FakeServer):
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
        self.gpt_path = gpt or PRETRAINED["v1"][0]
        self.sovits_path = sovits or PRETRAINED["v1"][1]
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
                            call: Call) -> Reply:
        paths = {r: {m.lower(): {"summary": r} for m in ms} for r, ms in self.routes.items()
                 if r not in ("/openapi.json", "/docs")}
        return self._openapi(paths, {})

    def _route_set_model(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> Reply:
        args = self._args(method, params, raw)
        call.body = args
        gpt, sovits = args.get("gpt_model_path"), args.get("sovits_model_path")
        if not gpt or not sovits:
            return json_reply(400, {"code": 400, "message": "gpt_model_path or sovits_model_path is empty"})
        from rasv.errors import CheckpointError
        from rasv.models.checkpoints import sniff

        if self.switch_latency_s:
            time.sleep(self.switch_latency_s)
        for path in (gpt, sovits):
            if os.path.normpath(str(self._resolve(path))) in self.fail_paths:
                return json_reply(400, {"code": 400, "message": f"injected load failure: {path}"})
        try:
            ck_g, ck_s = sniff(self._resolve(gpt)), sniff(self._resolve(sovits))
            if ck_g.kind != "gpt" or ck_s.kind != "sovits":
                raise CheckpointError("wrong checkpoint kind")
        except CheckpointError as e:
            return json_reply(400, {"code": 400, "message": str(e)})
        self.gpt_path, self.sovits_path = gpt, sovits
        self.version = ck_s.version or self.version
        self.model_loads += 1
        return json_reply(200, {"code": 0, "message": "Success"})

    def _route_change_refer(self, method: str, params: dict[str, Any], raw: bytes,
                            call: Call) -> Reply:
        args = self._args(method, params, raw)
        call.body = args
        keys = ("refer_wav_path", "prompt_text", "prompt_language")
        if all(args.get(k) in (None, "") for k in keys):
            return json_reply(400, {"code": 400, "message": "未指定参考音频"})
        # api.py's logic bug: any call overwrites all three fields.
        self.default_ref = {k: args.get(k) for k in keys}
        return json_reply(200, {"code": 0, "message": "Success"})

    def _route_control(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> Reply:
        args = self._args(method, params, raw)
        if args.get("command") == "exit":
            return Reply(0, b"", drop=True, after=self.crash)
        if args.get("command") == "restart":
            threading.Thread(target=self.restart, daemon=True).start()
            return Reply(0, b"", drop=True)
        return json_reply(400, {"code": 400, "message": "command not found"})

    def _route_root(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> Reply:
        args = self._args(method, params, raw)
        call.body = args
        keys = ("refer_wav_path", "prompt_text", "prompt_language")
        if any(args.get(k) in (None, "") for k in keys):
            if self.default_ref["refer_wav_path"] is None:
                return json_reply(400, {"code": 400, "message": "未指定参考音频且接口无预设"})
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
            return Reply(200, b"", "audio/wav", stream=True)
        self._counter += 1
        rate = rate_for(self.version, bool(args.get("if_sr")) and self.version == "v3", True)
        req = {"text": text, "ref_audio_path": args["refer_wav_path"],
               "prompt_text": args.get("prompt_text") or "",
               "top_k": int(args.get("top_k", 15)), "top_p": float(args.get("top_p", 1.0)),
               "temperature": float(args.get("temperature", 1.0)),
               "speed_factor": float(args.get("speed", 1.0)), "seed": -1}
        samples = self._audio(req, rate, (self.gpt_path, self.sovits_path),
                              salt=(self._counter, random.random()))
        return Reply(200, wav_bytes(samples, rate), "audio/wav", stream=True)


__all__ = ["FakeGsvApiV1Server"]
