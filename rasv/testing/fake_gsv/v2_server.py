"""A fake GPT-SoVITS ``api_v2.py`` server (see :class:`FakeGsvServer`).

Example:
    >>> FakeGsvServer.routes["/tts"]
    ('GET', 'POST')
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

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
from rasv.testing.fake_gsv.request import TTS_FIELDS, coerce, type_error

_NEW_FIELDS = ("overlap_length", "min_chunk_length")  # added 2025-11
_CUT_METHODS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")
_PUNCT = set("，。？！、；：…,.?!;:~—-「」『』（）()[]\"' \t\n")
_SPLITS = set("，。？！,.?!~:：—…")
_REF_RANGE_MSG = "参考音频在3~10秒范围外，请更换！"
_LORA_BASE = {"v3": "GPT_SoVITS/pretrained_models/s2Gv3.pth",
              "v4": "GPT_SoVITS/pretrained_models/gsv-v4-pretrained/s2Gv4.pth"}


def _family(version: str) -> str:
    return "v1" if version == "v1" else "v2"


class FakeGsvServer(FakeServer):
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
        base_gpt, base_sovits = PRETRAINED.get(version, PRETRAINED["v2"])
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
                            call: Call) -> Reply:
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

    def _set_weights(self, kind: str, params: dict[str, Any]) -> Reply:
        """``/set_gpt_weights`` and ``/set_sovits_weights``: load ``weights_path`` as ``kind``."""
        path = params.get("weights_path")
        if path in (None, ""):
            return json_reply(400, {"message": f"{kind} weight path is required"})
        # GPT-SoVITS records the new path (memory and YAML) before it tries to load it.
        self.config["t2s_weights_path" if kind == "gpt" else "vits_weights_path"] = path
        self._save_config()
        err = self._try_load(kind, path)
        if err:
            return json_reply(400, {"message": f"change {kind} weight failed", "Exception": err})
        if kind == "gpt":
            self.gpt_path = path
        else:
            self.sovits_path = path
            self.version = self._sniff_version(path) or self.version
            self.config["version"] = self.version
            self._save_config()
        return json_reply(200, {"message": "success"})

    def _route_set_gpt_weights(self, method: str, params: dict[str, Any], raw: bytes,
                               call: Call) -> Reply:
        return self._set_weights("gpt", params)

    def _route_set_sovits_weights(self, method: str, params: dict[str, Any], raw: bytes,
                                  call: Call) -> Reply:
        return self._set_weights("sovits", params)

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
                               call: Call) -> Reply:
        path = params.get("refer_audio_path")
        err = "expected str, bytes or os.PathLike object, not NoneType" if not path else self._check_ref(path)
        if err:
            return json_reply(400, {"message": "set refer audio failed", "Exception": err})
        self._ref = {"path": path, "sovits": self.sovits_path}
        self.refer_sets.append(path)
        return json_reply(200, {"message": "success"})

    def _route_control(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> Reply:
        command = params.get("command")
        if command in (None, ""):
            return json_reply(400, {"message": "command is required"})
        if command == "restart":
            # The real server re-execs itself: the client sees the connection drop.
            threading.Thread(target=self.restart, daemon=True).start()
            return Reply(0, b"", drop=True)
        if command == "exit":
            def _exit() -> None:
                self.crash()
                if self.on_exit is not None:
                    self.on_exit()
            return Reply(500, b"Internal Server Error", "text/plain; charset=utf-8",
                          after=lambda: threading.Thread(target=_exit, daemon=True).start())
        return Reply(200, b"null")

    def _parse_tts(self, method: str, params: dict[str, Any], raw: bytes) -> tuple[dict[str, Any] | None, Reply | None]:
        if method == "GET":
            if params.get("text_lang") is None or params.get("prompt_lang") is None:
                # api_v2 lower-cases None before validating: an unhandled AttributeError.
                return None, Reply(500, b"Internal Server Error", "text/plain; charset=utf-8")
            req: dict[str, Any] = {}
            errors = []
            for name, (typ, default) in TTS_FIELDS.items():
                if name == "aux_ref_audio_paths":
                    req[name] = None  # a bare `list` is a body field for FastAPI, not a query
                    continue
                if name not in params:
                    req[name] = default
                    continue
                value, ok = coerce(params[name], typ, from_query=True)
                if not ok:
                    errors.append(type_error(name, params[name], typ, where="query"))
                req[name] = value
            if errors:
                return None, json_reply(422, {"detail": errors})
            req["text_lang"] = req["text_lang"].lower()
            req["prompt_lang"] = req["prompt_lang"].lower()
            return req, None
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            return None, json_reply(422, {"detail": [{"type": "json_invalid", "loc": ["body", 0],
                                                 "msg": "JSON decode error", "input": {}}]})
        if not isinstance(body, dict):
            return None, json_reply(422, {"detail": [{"type": "missing", "loc": ["body"],
                                                 "msg": "Field required", "input": None}]})
        req = {}
        errors = []
        for name, (typ, default) in TTS_FIELDS.items():
            if self.old and name in _NEW_FIELDS:
                continue
            if name not in body or body[name] is None:
                req[name] = default
                continue
            value, ok = coerce(body[name], typ, from_query=False)
            if self.old and name == "streaming_mode" and not isinstance(body[name], bool) \
                    and body[name] not in (0, 1):
                ok = False
            if not ok:
                errors.append(type_error(name, body[name], typ, where="body"))
            req[name] = value
        if errors:
            return None, json_reply(422, {"detail": errors})
        return req, None

    def _route_tts(self, method: str, params: dict[str, Any], raw: bytes, call: Call) -> Reply:
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
            return json_reply(400, {"message": "the value of streaming_mode must be 0, 1, 2, 3(int) "
                                          "or true/false(bool)"})
        if self.latency_s:
            time.sleep(self.latency_s)
        outcome = self._run_pipeline(req)
        if streaming:
            if isinstance(outcome, str):  # pipeline errors: 200, empty body, cut connection
                return Reply(200, b"", f"audio/{req['media_type']}", stream=True)
            samples, rate = outcome
            pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
            header = wav_bytes(np.zeros(0, dtype=np.float32), rate)
            return Reply(200, header + pcm, f"audio/{req['media_type']}", stream=True)
        if isinstance(outcome, str):
            return json_reply(400, {"message": "tts failed", "Exception": outcome})
        samples, rate = outcome
        return Reply(200, self._pack(samples, rate, req["media_type"]),
                      f"audio/{req['media_type']}")

    def _check_params(self, req: dict[str, Any]) -> Reply | None:
        if req["ref_audio_path"] in (None, ""):
            return json_reply(400, {"message": "ref_audio_path is required"})
        if req["text"] in (None, ""):
            return json_reply(400, {"message": "text is required"})
        for name in ("text_lang", "prompt_lang"):
            value = req[name]
            if value in (None, ""):
                return json_reply(400, {"message": f"{name} is required"})
            if value.lower() not in self.languages:
                return json_reply(400, {"message": f"{name}: {value} is not supported in version "
                                              f"{self.version}"})
        if req["media_type"] not in ("wav", "raw", "ogg", "aac"):
            return json_reply(400, {"message": f"media_type: {req['media_type']} is not supported"})
        if req["text_split_method"] not in _CUT_METHODS:
            return json_reply(400, {"message": f"text_split_method:{req['text_split_method']} is not "
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
        rate = rate_for(self.version, bool(req["super_sampling"]) and self.version == "v3",
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
        return wav_bytes(samples, rate)


__all__ = ["FakeGsvServer"]
