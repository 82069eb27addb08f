"""Checks shared by the GPT-SoVITS engines: before sending, and on the audio that comes back.

GPT-SoVITS fails quietly in ways a grid must not record as takes: HTTP 200 with one second
of 16 kHz zeros when inference crashes, 24 kHz instead of 48 kHz when the super-sampling
weights are missing, auxiliary references silently skipped when a path is wrong. These
helpers turn each into a clear error. :class:`HttpEngine` holds what the two HTTP engines
(``api_v2.py`` and ``api.py``) share: the URL, path map, time-outs and the loaded version.

Example:
    >>> import numpy as np
    >>> from rasv import Audio, capabilities_for_version
    >>> check_output(Audio(np.zeros(16000, dtype=np.float32), 16000),
    ...              capabilities_for_version("v2"), super_sampling=False, who="srv")
    Traceback (most recent call last):
    ...
    rasv.errors.EngineRequestError: srv answered with 1 s of 16 kHz silence, GPT-SoVITS's sign that inference failed (out of memory, a model error, or text with nothing to speak); see the server log
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_bridge.client import HttpClient
from gsv_bridge.paths import PathMap
from rasv.engine import (
    Audio,
    Capabilities,
    SynthesisRequest,
    capabilities_for_version,
    check_reference,
)
from rasv.errors import AudioError, CapabilityError, EngineRequestError, InvalidInput
from rasv.langs import count_units

if TYPE_CHECKING:
    from rasv.models import Checkpoint

#: Output rates a GPT-SoVITS model can produce (v1/v2/Pro 32 kHz, v3 24/48 kHz, v4 48 kHz).
GSV_RATES = (24000, 32000, 48000)


def expected_rate(caps: Capabilities, super_sampling: bool) -> int | None:
    """The sample rate a request must come back at, or None when the version is unknown.

    Example:
        >>> from rasv import capabilities_for_version
        >>> expected_rate(capabilities_for_version("v3"), True), expected_rate(
        ...     capabilities_for_version("v3"), False)
        (48000, 24000)
    """
    if caps.version is None:
        return None
    if caps.version == "v3" and super_sampling:
        return 48000
    return caps.sample_rate


def check_text(req: SynthesisRequest) -> None:
    """Refuse text with nothing speakable (GPT-SoVITS answers 400 or a silent 200).

    Example:
        >>> check_text(SynthesisRequest(text="。。。", text_lang="zh", ref_audio_path="r"))
        Traceback (most recent call last):
        ...
        rasv.errors.InvalidInput: text '。。。' has nothing to speak (only punctuation or symbols)
    """
    if not any(ch.isalnum() for ch in req.text):
        raise InvalidInput(f"text {req.text[:40]!r} has nothing to speak (only punctuation or symbols)")


def server_paths(req: SynthesisRequest, caps: Capabilities, path_map: PathMap) -> tuple[str, list[str]]:
    """Check the reference (3–10 s) and aux clips locally; return their server-side paths.

    A path that exists locally is checked; a missing one is an error, unless a path map is
    in use and does not cover it (then it is taken to be a path on the server).

    Example:
        >>> import tempfile, os, numpy as np
        >>> from rasv.audio import write_wav
        >>> from rasv import capabilities_for_version
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "r.wav")
        >>> write_wav(p, np.zeros(16000 * 4, dtype=np.float32), 16000)
        >>> req = SynthesisRequest(text="hi", text_lang="en", ref_audio_path=p)
        >>> server_paths(req, capabilities_for_version("v2"), PathMap({d: "/srv"}))
        ('/srv/r.wav', [])
    """
    ref = req.ref_audio_path
    if _is_local(ref, path_map):
        _check_reference_cached(ref, caps)
    aux = []
    for p in req.aux_ref_audio_paths:
        if _is_local(p, path_map) and not Path(p).is_file():
            raise AudioError(f"auxiliary reference clip not found: {p}")
        aux.append(path_map.to_server(p))
    return path_map.to_server(ref), aux


_checked: dict[tuple[str, int, int, tuple[float, float] | None], float | None] = {}


def _check_reference_cached(path: str, caps: Capabilities) -> None:
    # A grid sends the same few clips thousands of times; read each header once per version
    # of the file (size and modification time), not once per request.
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns, caps.ref_duration_s)
    if key in _checked:
        return
    check_reference(path, caps)
    if len(_checked) > 4096:
        _checked.clear()
    _checked[key] = None


def _is_local(path: str, path_map: PathMap) -> bool:
    if Path(path).is_file():
        return True
    if not path_map or path_map.maps(path):
        raise AudioError(f"reference clip not found: {path}")
    return False


def check_output(audio: Audio, caps: Capabilities, *, super_sampling: bool, who: str,
                 request: object = None) -> None:
    """Raise :class:`~rasv.EngineRequestError` for GPT-SoVITS's failure-shaped replies.

    The 1 s / 16 kHz silent reply is transient (a retry may succeed, e.g. after an
    out-of-memory); a wrong sample rate is permanent (missing super-sampling weights, a
    model other than the one loaded).
    """
    if audio.sample_rate == 16000 and audio.is_silent():
        speed = getattr(request, "speed_factor", 1.0)
        if isinstance(speed, (int, float)) and speed > 1.0:
            # The same request fails the same way again: do not retry it.
            raise EngineRequestError(
                f"{who} answered with {audio.duration_s:g} s of 16 kHz silence for "
                f"speed_factor {speed:g}: this GPT-SoVITS build fails on speed_factor > 1 "
                "(the PyPI gpt-sovits-cpufast fork does); use 1.0 or slower on it",
                status=200, request=request, transient=False,
            )
        raise EngineRequestError(
            f"{who} answered with {audio.duration_s:g} s of 16 kHz silence, GPT-SoVITS's sign "
            "that inference failed (out of memory, a model error, or text with nothing to "
            "speak); see the server log",
            status=200, request=request, transient=True,
        )
    want = expected_rate(caps, super_sampling)
    if want is not None and audio.sample_rate != want:
        hint = ""
        if caps.version == "v3" and super_sampling and audio.sample_rate == 24000:
            hint = ("; super_sampling had no effect: the AP-BWE weights "
                    "(tools/AP_BWE_main/24kto48k/g_24kto48k.zip) are missing on the server")
        raise EngineRequestError(
            f"{who} answered at {audio.sample_rate} Hz but a {caps.version} model gives "
            f"{want} Hz{hint}",
            status=200, request=request, transient=False,
        )
    if want is None and audio.sample_rate not in GSV_RATES:
        raise EngineRequestError(
            f"{who} answered at {audio.sample_rate} Hz, a rate no GPT-SoVITS model produces",
            status=200, request=request, transient=False,
        )
    if audio.samples.size == 0:
        raise EngineRequestError(f"{who} answered with empty audio", status=200,
                                 request=request, transient=True)


def read_timeout(text: str, base_s: float, per_unit_s: float) -> float:
    """Seconds to wait for a synthesis: a base plus a share per spoken unit of text.

    Example:
        >>> read_timeout("你好世界", 30.0, 2.0)
        38.0
    """
    return base_s + per_unit_s * max(count_units(text), 1)


def local_checkpoint(path: str | os.PathLike, path_map: PathMap, kind: str):  # noqa: ANN201
    """Sniff a checkpoint given by local path; None when it lives only on the server.

    Raises:
        CheckpointError: a local file that is missing (and not server-only), unreadable, or
            of the other kind (a ``.ckpt`` given as SoVITS weights …).
    """
    from rasv.errors import CheckpointError
    from rasv.models import sniff

    p = Path(path)
    if not p.exists() and path_map and not path_map.maps(p):
        return None
    ck = sniff(p)
    if ck.kind != kind:
        raise CheckpointError(f"{p.name} is a {ck.kind.upper()} checkpoint, not {kind.upper()} weights")
    return ck


def check_pair(gpt: Checkpoint | None, sovits: Checkpoint | None) -> None:
    """Refuse a v1 GPT with a v2+ SoVITS (or the reverse): their phoneme sets differ.

    Example:
        >>> from rasv.models import Checkpoint
        >>> g = Checkpoint("/w/g.ckpt", "g.ckpt", "gpt", 1, 0.0, version="v1")
        >>> check_pair(g, Checkpoint("/w/s.pth", "s.pth", "sovits", 1, 0.0, version="v2"))
        Traceback (most recent call last):
        ...
        rasv.errors.CapabilityError: GPT g.ckpt is a v1 model but SoVITS s.pth is v2; v1 and v2+ models use different phoneme sets, pair them as they were trained
    """
    if gpt is None or sovits is None or gpt.version is None or sovits.version is None:
        return
    if (gpt.version == "v1") != (sovits.version == "v1"):
        raise CapabilityError(
            f"GPT {gpt.name} is a {gpt.version} model but SoVITS {sovits.name} is "
            f"{sovits.version}; v1 and v2+ models use different phoneme sets, pair them as "
            "they were trained")


def checked_pair(gpt: str | os.PathLike | None, sovits: str | os.PathLike | None,
                 path_map: PathMap, loaded: tuple[Checkpoint | None, Checkpoint | None] = (None, None),
                 ) -> tuple[Checkpoint | None, Checkpoint | None]:
    """Sniff the checkpoints a ``load`` names and refuse them paired with what stays loaded.

    A ``None`` path keeps that side's ``loaded`` checkpoint for the pair check; the result is
    the sniffed (GPT, SoVITS), None where not given or known only to the server.

    Example:
        >>> import tempfile, os
        >>> from rasv.testing import make_checkpoint
        >>> from gsv_bridge.paths import PathMap
        >>> d = tempfile.mkdtemp()
        >>> g = make_checkpoint(os.path.join(d, "a-e1.ckpt"), version="v1")
        >>> s = make_checkpoint(os.path.join(d, "a_e1_s9.pth"), version="v2")
        >>> checked_pair(g, None, PathMap())[0].kind
        'gpt'
        >>> checked_pair(g, s, PathMap())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        rasv.errors.CapabilityError: GPT a-e1.ckpt is a v1 model but SoVITS a_e1_s9.pth is v2
    """
    g = local_checkpoint(gpt, path_map, "gpt") if gpt is not None else None
    s = local_checkpoint(sovits, path_map, "sovits") if sovits is not None else None
    check_pair(g or loaded[0], s or loaded[1])
    return g, s


class HttpEngine:
    """The connection settings and loaded version shared by :class:`GsvApiV2` and :class:`GsvApiV1`.

    Each engine documents the arguments; it keeps its own per-connection state in
    ``_init_state``, which the constructor calls last.

    Example:
        >>> from gsv_bridge import GsvApiV2
        >>> eng = GsvApiV2("http://127.0.0.1:9880/", timeout=30, version="v2")
        >>> eng, eng.url, eng.timeout
        (GsvApiV2('http://127.0.0.1:9880', version='v2'), 'http://127.0.0.1:9880', 30)
    """

    def __init__(self, url: str = "http://127.0.0.1:9880", *,
                 path_map: Mapping[str | os.PathLike, str | os.PathLike] | PathMap | None = None,
                 timeout: float = 60.0, timeout_per_unit: float = 1.5,
                 switch_timeout: float = 600.0, connect_timeout: float = 5.0,
                 version: str | None = None) -> None:
        self._client = HttpClient(url, connect_timeout=connect_timeout)
        self.name = self.url = self._client.url
        self.path_map = path_map if isinstance(path_map, PathMap) else PathMap(path_map)
        self.timeout = timeout
        self.timeout_per_unit = timeout_per_unit
        self.switch_timeout = switch_timeout
        if version is not None:
            capabilities_for_version(version)  # validates the name
        self.version_hint = version
        self._version: str | None = version
        self._init_state()

    def _init_state(self) -> None:
        """Set the engine's own state (what it loaded, what it knows of the server)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, version={self._version!r})"

    @property
    def version(self) -> str | None:
        """The version of the loaded SoVITS model (None while unknown)."""
        return self._version


__all__ = ["GSV_RATES", "HttpEngine", "check_output", "check_pair", "check_text", "checked_pair",
           "expected_rate",
           "local_checkpoint", "read_timeout", "server_paths"]
