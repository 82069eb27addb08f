"""Low-level espeak-ng synthesis through the library that the PyPI package ``espeakng-loader``
ships (ctypes; no system espeak needed).

espeak-ng keeps global state, so every call holds one process-wide lock. Output is 16-bit
mono at the library's rate (22050 Hz).

Example:
    >>> x, sr = synth("hello world", voice="en-us")
    >>> sr, x.dtype, 0.3 < len(x) / sr < 3.0
    (22050, dtype('float32'), True)
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from rasv.errors import BackendUnavailable, InvalidInput

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)

_lock = threading.Lock()
_state: dict[str, object] = {}
_chunks: list[np.ndarray] = []


@_CALLBACK
def _on_audio(wav, numsamples, events):  # type: ignore[no-untyped-def]
    if numsamples > 0 and wav:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
    return 0  # 0 = continue synthesis


def _library() -> tuple[ctypes.CDLL, int]:
    if "lib" in _state:
        return _state["lib"], _state["rate"]  # type: ignore[return-value]
    try:
        import espeakng_loader
    except ImportError:
        raise BackendUnavailable(
            "espeak-ng is not available: pip install espeakng-loader"
        ) from None
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
    except OSError as e:
        raise BackendUnavailable(f"cannot load the espeak-ng library: {e}") from None
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    lib.espeak_Synth.restype = ctypes.c_int
    data = espeakng_loader.get_data_path().encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
    if rate <= 0:
        raise BackendUnavailable(f"espeak-ng failed to initialise (data at {data.decode()})")
    lib.espeak_SetSynthCallback(_on_audio)
    _state["lib"], _state["rate"] = lib, rate
    return lib, rate


def synth(text: str, voice: str = "en-us", *, rate_wpm: int = 175, pitch: int = 50,
          pitch_range: int = 50, volume: int = 100) -> tuple[np.ndarray, int]:
    """Speak ``text`` with an espeak-ng voice; return ``(float32 samples, sample_rate)``.

    Args:
        text: UTF-8 text.
        voice: an espeak-ng voice, optionally with a variant: ``cmn``, ``en-us+f3``, ``ja``.
        rate_wpm: speaking rate in words per minute (80–450).
        pitch: base pitch, 0–100 (50 is the voice's default).
        pitch_range: pitch variation, 0–100.
        volume: 0–200.

    Raises:
        InvalidInput: unknown voice or out-of-range values.
        BackendUnavailable: the library cannot be loaded.

    Example:
        >>> x, sr = synth("你好", voice="cmn")
        >>> len(x) > 0
        True
    """
    if not 80 <= rate_wpm <= 450:
        raise InvalidInput(f"espeak rate must be 80–450 words per minute, got {rate_wpm}")
    with _lock:
        lib, sr = _library()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InvalidInput(f"espeak-ng has no voice {voice!r}")
        for param, value in ((_PARAM_RATE, rate_wpm), (_PARAM_PITCH, pitch),
                             (_PARAM_RANGE, pitch_range), (_PARAM_VOLUME, volume)):
            lib.espeak_SetParameter(param, int(max(0, value)), 0)
        _chunks.clear()
        raw = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(raw)
        err = lib.espeak_Synth(buf, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise InvalidInput(f"espeak-ng could not speak the text (error {err})")
        pcm = np.concatenate(_chunks) if _chunks else np.zeros(0, dtype=np.int16)
        _chunks.clear()
    return (pcm.astype(np.float32) / 32768.0), int(sr)


__all__ = ["synth"]
