"""Calling an engine with a timeout, and how the runner reads an engine's failures.

An engine takes one request at a time (GPT-SoVITS's ``api_v2`` blocks its event loop), yet
the runner must be able to give up on a request that hangs. :class:`Caller` makes an
engine's requests on a thread of its own: the runner stops waiting after the timeout, and
the next request is only sent once the abandoned one has returned.

Example:
    >>> from rasv.engine import SynthesisRequest
    >>> from rasv.testing import FakeEngine
    >>> caller = Caller(FakeEngine(), "fake")
    >>> audio = caller.call(SynthesisRequest(text="hi", text_lang="en", ref_audio_path="r.wav",
    ...                                      prompt_text="", prompt_lang="en"), timeout=30)
    >>> audio.sample_rate > 0
    True
    >>> caller.close()
"""

from __future__ import annotations

import threading
from typing import Any

from rasv.engine import SynthesisRequest
from rasv.errors import EngineError, RasvError, TakeTimeout


class SilentAudio(EngineError):
    """All-zero audio: GPT-SoVITS answers some inference errors with silence."""

    transient = True


class EngineStuck(EngineError):
    """An engine still busy with a request the runner gave up on."""


def is_transient(e: BaseException) -> bool:
    """Whether retrying the request that raised ``e`` may succeed (the error says so).

    Example:
        >>> is_transient(SilentAudio("x")), is_transient(ValueError("x"))
        (True, False)
    """
    return bool(getattr(e, "transient", False))


def reason(e: BaseException | None) -> str:
    """``e`` as a short line for a take's record or an event (rasv errors without a class).

    Example:
        >>> reason(EngineStuck("busy")), reason(ValueError("bad")), reason(None)
        ('busy', 'ValueError: bad', '')
    """
    if e is None:
        return ""
    text = str(e).strip()
    if isinstance(e, RasvError):
        return text or type(e).__name__
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Caller:
    """One thread that makes an engine's requests, so a request can be given up on."""

    def __init__(self, engine: Any, name: str) -> None:
        self.engine = engine
        self.name = name
        self.cv = threading.Condition()
        self.request: SynthesisRequest | None = None
        self.sent = 0  # sequence number of the last request handed over
        self.answered = 0  # sequence number of the last request answered
        self.result: tuple[bool, Any] = (False, None)
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name=f"rasv-call-{name}",
                                       daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            with self.cv:
                while self.request is None and not self.closed:
                    self.cv.wait()
                if self.closed:
                    return
                req = self.request
            try:
                outcome: tuple[bool, Any] = (True, self.engine.synthesize(req))
            except BaseException as e:  # handed to the worker that asked
                outcome = (False, e)
            with self.cv:
                self.request = None
                self.result = outcome
                self.answered += 1
                self.cv.notify_all()

    def call(self, req: SynthesisRequest, timeout: float) -> Any:
        """``engine.synthesize(req)``; :class:`TakeTimeout` after ``timeout`` seconds.

        Raises :class:`EngineStuck` when a request abandoned earlier is still running after
        another ``timeout`` seconds (see the class example).
        """
        with self.cv:
            # An earlier request that timed out may still be running on the engine.
            if self.request is not None and not self.cv.wait_for(
                lambda: self.request is None, timeout
            ):
                raise EngineStuck(
                    f"{self.name} is still busy with a request that timed out "
                    f"{2 * timeout:g} s ago"
                )
            self.sent += 1
            seq = self.sent
            self.request = req
            self.cv.notify_all()
            if not self.cv.wait_for(lambda: self.answered >= seq, timeout):
                raise TakeTimeout(f"{self.name} gave no answer within {timeout:g} s")
            ok, value = self.result
        if ok:
            return value
        raise value

    def close(self) -> None:
        """Let the thread end once the request in flight (if any) returns."""
        with self.cv:
            self.closed = True
            self.cv.notify_all()


__all__ = ["Caller", "EngineStuck", "SilentAudio", "is_transient", "reason"]
