"""The serving core, without HTTP: a :class:`Speech` in, audio bytes out, every request recorded.

:meth:`ApiService.speak` looks the product's preset up, applies the request's overrides,
cuts a long input with the product's split method (:func:`plan_chunks`), hands one job per
chunk to the :class:`~.scheduler.Scheduler`, joins the audio with the preset's
``fragment_interval`` of silence between chunks, and encodes it. :meth:`ApiService.stream`
yields a WAV header and then each chunk's PCM as soon as it and those before it are ready.

Example:
    >>> import rasv, tempfile
    >>> from rasv.testing import FakeEngine, make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("女-小红")
    >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
    >>> _ = ws.products.create(r, "温柔", clip=c.id, engine_kind="fake")
    >>> with ApiService(ws, [FakeEngine()]) as svc:
    ...     speech = svc.openai({"input": "你好。", "voice": "女-小红/温柔",
    ...                          "response_format": "wav"})
    ...     data, mime = svc.speak(speech)
    >>> data[:4], mime
    (b'RIFF', 'audio/wav')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rasv.audio import resample
from rasv.engine import Audio, Engine
from rasv.errors import InvalidInput, ModelNotFound
from rasv.langs import guess_lang
from rasv.longtext import METHODS, chunk
from rasv.products import presets
from rasv.serving import speech as shapes
from rasv.serving.catalog import Catalog, Voice
from rasv.serving.encode import encode, pcm16, wav_header
from rasv.serving.record import Recorder, Served
from rasv.serving.scheduler import Job, Scheduler

if TYPE_CHECKING:
    from rasv.workspace import Workspace

#: Inputs up to this many characters go to the engine whole (it splits them itself).
CHUNK_CHARS = 300


def plan_chunks(text: str, method: str, max_chars: int = CHUNK_CHARS) -> list[str]:
    """Cut a long input into engine requests of at most about ``max_chars`` characters.

    The text is cut with the product's split method (GPT-SoVITS's ``cut0`` … ``cut5``, see
    :func:`rasv.chunking.chunk`), then neighbouring pieces are joined again up to
    ``max_chars`` so a long text becomes a few requests, not one per comma. Pieces keep the
    user's own spacing between them.

    Example:
        >>> plan_chunks("One. Two.", "cut5")
        ['One. Two.']
        >>> [len(c) for c in plan_chunks("甲乙丙丁戊己庚。" * 80, "cut5", 100)]
        [96, 96, 96, 96, 96, 96, 64]
    """
    if len(text) <= max_chars:
        if not text.strip():
            raise InvalidInput("the text is empty")
        return [text.strip()]
    pieces = chunk(text, method if method in METHODS else "cut5")
    spans, pos = [], 0
    for p in pieces:  # each piece is a contiguous substring: find it to keep the spacing
        start = text.index(p, pos)
        spans.append((start, start + len(p)))
        pos = start + len(p)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and b - out[-1][0] <= max_chars:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return [text[a:b].strip() for a, b in out]


def join(parts: Sequence[Audio], gap_s: float) -> tuple[np.ndarray, int]:
    """Concatenate chunk audio at the first chunk's rate with ``gap_s`` of silence between.

    Example:
        >>> a = Audio(np.ones(100, dtype=np.float32) * 0.1, 1000)
        >>> x, sr = join([a, a], 0.05); len(x), sr
        (250, 1000)
    """
    sr = parts[0].sample_rate
    gap = np.zeros(int(round(max(gap_s, 0.0) * sr)), dtype=np.float32)
    out: list[np.ndarray] = []
    for i, a in enumerate(parts):
        if i:
            out.append(gap)
        out.append(a.samples if a.sample_rate == sr else resample(a.samples, a.sample_rate, sr))
    return np.concatenate(out), sr


class ApiService:
    """Serve a workspace's products on a pool of engines (see the module docstring).

    Args:
        ws: the workspace.
        engines: the engines (``gsv_bridge.GsvApiV2`` …); one request in flight on each.
        max_chars: the longest input accepted.
        chunk_chars: inputs longer than this are cut into several engine requests.
        timeout_s: seconds a request may take, queueing included.
        max_queue, max_wait_s, attempts, probe_s: see :class:`~.scheduler.Scheduler`.
        record: write every request to the ``api_requests`` table.
    """

    def __init__(self, ws: Workspace, engines: Sequence[Engine], *, max_chars: int = 4096,
                 chunk_chars: int = CHUNK_CHARS, timeout_s: float = 300.0,
                 max_queue: int = 64, max_wait_s: float = 10.0, attempts: int = 3,
                 probe_s: float = 2.0, record: bool = True) -> None:
        self.ws = ws
        self.catalog = Catalog(ws)
        self.scheduler = Scheduler(engines, max_queue=max_queue, max_wait_s=max_wait_s,
                                   attempts=attempts, probe_s=probe_s)
        self.max_chars = int(max_chars)
        self.chunk_chars = int(chunk_chars)
        self.timeout_s = float(timeout_s)
        self.recorder = Recorder(ws) if record else None
        self.started = time.time()

    def start(self) -> ApiService:
        """Start the engine workers and the request log."""
        if self.recorder is not None:
            self.recorder.start()
        self.scheduler.start()
        return self

    def close(self, settle: Callable[[], Any] | None = None) -> None:
        """Stop the workers and write the last log rows; ``settle()``, if given, runs in
        between (a server waits there for the requests still logging themselves)."""
        self.scheduler.stop()
        if settle is not None:
            settle()
        if self.recorder is not None:
            self.recorder.stop()

    def __enter__(self) -> ApiService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parsing (one method per API shape) ----------------------------------------------------

    def openai(self, body: Any) -> shapes.Speech:
        """An OpenAI ``/v1/audio/speech`` body as a :class:`Speech`."""
        return self._limit(shapes.from_openai(body, self.catalog))

    def gsvi(self, args: Mapping[str, Any]) -> shapes.Speech:
        """A GSVI ``/tts`` request as a :class:`Speech`."""
        return self._limit(shapes.from_gsvi(args, self.catalog))

    def api_v2(self, args: Mapping[str, Any]) -> shapes.Speech:
        """An api_v2 ``/tts?product=`` request as a :class:`Speech`."""
        return self._limit(shapes.from_api_v2(args, self.catalog))

    def _limit(self, sp: shapes.Speech) -> shapes.Speech:
        if len(sp.text) > self.max_chars:
            raise InvalidInput(f"the text has {len(sp.text)} characters; this server takes at "
                               f"most {self.max_chars} per request")
        return sp

    # -- speaking ----------------------------------------------------------------------------

    def jobs(self, sp: shapes.Speech) -> list[Job]:
        """The engine jobs of a request (one per chunk), not yet submitted.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。")
            >>> _ = ws.products.create(r, "p", clip=c.id, engine_kind="fake",
            ...                        params=rasv.Params(seed=5, top_k=3))
            >>> svc = ApiService(ws, [FakeEngine()], record=False)
            >>> jobs = svc.jobs(svc.api_v2({"product": "p", "text": "Hi.", "top_k": "7"}))
            >>> [(j.request.seed, j.request.top_k, j.request.text_lang) for j in jobs]
            [(5, 7, 'en')]
        """
        preset = self.catalog.preset(sp.voice)
        lang = sp.text_lang or guess_lang(sp.text)
        base = presets.request(self.ws, preset, "", lang).replace(**dict(sp.overrides))
        for ref in (preset.gpt, preset.sovits):
            if ref is not None and not self.ws.abspath(ref.path).exists():
                raise ModelNotFound(ref.id, f"voice {sp.voice.voice!r} needs {ref.path}, "
                                            "which is missing")
        gpt = str(self.ws.abspath(preset.gpt.path)) if preset.gpt else None
        sovits = str(self.ws.abspath(preset.sovits.path)) if preset.sovits else None
        return [Job(base.replace(text=piece), kind=preset.engine_kind, gpt=gpt, sovits=sovits,
                    timeout_s=self.timeout_s)
                for piece in plan_chunks(sp.text, base.text_split_method, self.chunk_chars)]

    def submit(self, sp: shapes.Speech) -> list[Job]:
        """Queue a request's jobs on the engines; the first runs on this thread if an
        engine is free for it (the caller waits for it next anyway).

        Raises:
            QueueFull, NoEngine: see :class:`~.scheduler.Scheduler`.
        """
        jobs = self.scheduler.submit(self.jobs(sp), wake=False)
        if len(jobs) > 1:  # later chunks go to other engines meanwhile
            self.scheduler.wake()
        if not self.scheduler.run_here(jobs[0]):
            self.scheduler.wake()  # no engine was free for it: the workers decide
        return jobs

    def audio(self, sp: shapes.Speech, jobs: Sequence[Job]) -> tuple[bytes, str]:
        """Wait for a request's jobs, join and encode; returns ``(bytes, mime type)``.

        Raises:
            TakeTimeout, EngineError: a chunk failed or took too long.
        """
        try:
            parts = [j.wait() for j in jobs]
        finally:
            self.scheduler.cancel(jobs)
        x, sr = join(parts, jobs[0].request.fragment_interval)
        return encode(x, sr, sp.fmt, pcm_rate=sp.pcm_rate)

    def speak(self, sp: shapes.Speech) -> tuple[bytes, str]:
        """Synthesize a request whole; returns ``(audio bytes, mime type)``."""
        return self.audio(sp, self.submit(sp))

    def stream(self, sp: shapes.Speech, jobs: Sequence[Job]) -> Iterator[bytes]:
        """A WAV header (unless raw PCM), then each chunk's PCM as soon as it is ready.

        The first chunk is awaited before anything is yielded, so a request that fails at
        once still gets an error status.
        """
        try:
            first = jobs[0].wait()
        except BaseException:
            self.scheduler.cancel(jobs)
            raise
        return self._pcm(sp, jobs, first)

    def _pcm(self, sp: shapes.Speech, jobs: Sequence[Job], first: Audio) -> Iterator[bytes]:
        try:
            sr = first.sample_rate
            if sp.fmt == "wav":
                yield wav_header(sr)
            gap = np.zeros(int(round(jobs[0].request.fragment_interval * sr)), np.float32)
            for i, j in enumerate(jobs):
                a = first if i == 0 else j.wait()
                x = a.samples if a.sample_rate == sr else resample(a.samples, a.sample_rate, sr)
                yield (pcm16(gap) if i else b"") + pcm16(x)
        finally:
            self.scheduler.cancel(jobs)

    # -- recording ---------------------------------------------------------------------------

    def record(self, *, api: str, route: str, status: int, seconds: float,
               sp: shapes.Speech | None = None, jobs: Sequence[Job] = (),
               error: str | None = None, client: str | None = None) -> None:
        """Log one request (served or refused) to ``api_requests``."""
        if self.recorder is None:
            return
        done = [j for j in jobs if j.audio is not None]
        engines = sorted({j.engine for j in jobs if j.engine})
        self.recorder.add(Served(
            api=api, route=route, voice=sp.voice.voice if sp else None,
            product_id=sp.voice.product_id if sp else None,
            chars=len(sp.text) if sp else 0, seconds=round(seconds, 6),
            audio_s=round(sum(j.audio.duration_s for j in done), 6) if done else None,
            engine=", ".join(engines) or None, status=int(status), n_chunks=len(jobs),
            format=sp.fmt if sp else None, error=(error or None) and str(error)[:500],
            engine_s=round(sum(j.engine_s for j in jobs), 6) if jobs else None,
            switches=sum(j.switched for j in jobs), client=client))

    # -- listings ----------------------------------------------------------------------------

    def servable(self) -> list[Voice]:
        """Voices whose engine kind the pool has."""
        kinds = self.scheduler.kinds()
        return [v for v in self.catalog.voices() if v.engine_kind in kinds]


__all__ = ["CHUNK_CHARS", "ApiService", "join", "plan_chunks"]
