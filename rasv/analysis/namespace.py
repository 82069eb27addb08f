"""``ws.analysis``: analyse a task's takes, cache the metrics, order the takes for listening.

Example:
    >>> from rasv.analysis import Analysis
    >>> sorted(Analysis.detector_names())[:3]
    ['asr', 'clipping', 'dnsmos']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rasv.analysis.asr import AsrErrors
from rasv.analysis.clipping import Clipping
from rasv.analysis.dnsmos import Dnsmos
from rasv.analysis.ending import Ending
from rasv.analysis.measure import Detector, Measurement
from rasv.analysis.metrics import fresh, long_table, save, wide_table
from rasv.analysis.noise import Noise
from rasv.analysis.pace import Pace
from rasv.analysis.repetition import Repetition
from rasv.analysis.silence import Silence
from rasv.analysis.speaker import SpeakerSimilarity
from rasv.analysis.speech import resolve_vad
from rasv.analysis.suspicion import Rules, score_takes
from rasv.analysis.take_signal import TakeSignal
from rasv.errors import (
    BackendUnavailable,
    InvalidInput,
    RasvError,
)
from rasv.tasks.resolve import find_task_id

#: Every detector by name. ``asr`` and ``speaker`` need more than a signal (a recogniser,
#: the task's reference clips), so :meth:`Analysis.detectors` builds them.
DETECTORS: dict[str, type] = {
    "silence": Silence, "clipping": Clipping, "noise": Noise, "ending": Ending,
    "repetition": Repetition, "pace": Pace, "dnsmos": Dnsmos, "asr": AsrErrors,
    "speaker": SpeakerSimilarity,
}
#: Detectors run when ``metrics`` is not given (ASR and speaker similarity join when their
#: backends are available).
DEFAULT_DETECTORS: tuple[str, ...] = (
    "silence", "clipping", "noise", "ending", "repetition", "pace", "dnsmos",
)
#: The detectors that find speech with a VAD (it is part of their backend name).
_USES_VAD = frozenset({"silence", "noise", "ending", "repetition", "pace"})
#: metric name → detector name, for ``metrics=["dnsmos_ovrl", …]``.
METRIC_OWNERS: dict[str, str] = {m: name for name, cls in DETECTORS.items() for m in cls.metrics}

Progress = Callable[[int, int], None]


def _make(name: str, asr: Any = None, vad: str = "auto") -> Detector:
    if name == "asr":
        from rasv.analysis.asr import open_recognizer

        return AsrErrors(open_recognizer(asr if asr is not None else "auto"))
    cls = DETECTORS[name]
    return cls(vad=vad) if name in _USES_VAD else cls()


@dataclass(frozen=True)
class AnalysisReport:
    """What one analysis run did.

    Attributes:
        task_id: the task.
        takes: finished takes of the task (the ones that can be analysed).
        computed: takes for which at least one detector ran now.
        cached: takes whose every requested metric was already stored.
        failed: ``(take_id, reason)`` for takes that could not be analysed.
        skipped: ``(detector, reason)`` for requested detectors whose backend is missing.
        not_done: takes of the task that are not finished yet (not analysed).
        seconds: wall time.
        cancelled: the run was cancelled before the end.

    Example:
        >>> print(AnalysisReport(1, 10, 4, 6))
        task 1: 10 takes, 4 analysed, 6 cached, 0 failed
    """

    task_id: int
    takes: int
    computed: int
    cached: int
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    not_done: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    def __str__(self) -> str:
        s = (f"task {self.task_id}: {self.takes} takes, {self.computed} analysed, "
             f"{self.cached} cached, {len(self.failed)} failed")
        if self.not_done:
            s += f", {self.not_done} not finished"
        if self.cancelled:
            s += " (cancelled)"
        return s


class AnalysisRun:
    """A background analysis: ``wait()`` for the report, ``cancel()`` to stop after the
    current take, ``progress`` as ``(done, total)``.
    """

    def __init__(self) -> None:
        self.progress: tuple[int, int] = (0, 0)
        self.report: AnalysisReport | None = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def cancel(self) -> None:
        """Ask the run to stop after the take in progress."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> AnalysisReport:
        """Block until the run ends; return its report or raise its error.

        Raises:
            TimeoutError: still running after ``timeout`` seconds.
        """
        if self._thread is None:
            raise RuntimeError("this AnalysisRun was never started")
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the analysis is still running")
        if self.error is not None:
            raise self.error
        if self.report is None:
            raise RuntimeError("the analysis ended without a report")
        return self.report

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<AnalysisRun {state} {self.progress[0]}/{self.progress[1]}>"


class Analysis:
    """Automatic take analysis over a workspace (``ws.analysis``).

    Example:
        >>> import rasv, tempfile
        >>> from rasv.testing import make_voice
        >>> with rasv.open(tempfile.mkdtemp()) as ws:
        ...     m = ws.analysis.measure(make_voice(2.0, 16000), 16000, text="你好世界",
        ...                             metrics=["silence", "clipping"])
        >>> m["clipped_fraction"], m["lead_silence_s"] < 0.2
        (0.0, True)
    """

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    # -- choosing detectors -------------------------------------------------------------------

    @staticmethod
    def detector_names() -> list[str]:
        """Every detector name ``metrics=`` accepts (metric names are accepted too).

        Example:
            >>> import rasv, tempfile
            >>> "dnsmos" in rasv.open(tempfile.mkdtemp()).analysis.detector_names()
            True
        """
        return list(DETECTORS)

    def detectors(self, metrics: Sequence[str] | str | None = None, *, asr: Any = None,
                  speaker: Any = "auto", task_id: int | None = None, vad: str = "auto",
                  ) -> tuple[list[Detector], list[tuple[str, str]]]:
        """Build the detectors for a ``metrics`` selection.

        ``None`` means the defaults, plus ASR when one is configured (``asr=`` or
        ``$RASV_ASR_MODEL``) and, for a task, speaker similarity when an embedding model can
        run. Returns the detectors and ``(name, reason)`` for default detectors left out
        because their backend is missing; a detector asked for by name whose backend is
        missing raises :class:`~rasv.BackendUnavailable`. Speaker similarity compares takes
        with their reference clips, so it needs ``task_id``. ``vad`` picks the speech
        detector of the silence, noise, ending, repetition and pace detectors (``"auto"``:
        silero where installed, else energy; it is part of their backend name).

        Example:
            >>> import rasv, tempfile
            >>> with rasv.open(tempfile.mkdtemp()) as ws:
            ...     [d.name for d in ws.analysis.detectors(["hum_db", "noise", "pace"])[0]]
            ['noise', 'pace']
        """
        import os

        from rasv.analysis.asr import ASR_ENV

        if isinstance(metrics, str):
            metrics = [metrics]
        explicit = metrics is not None
        if metrics is None:
            names = list(DEFAULT_DETECTORS)
            if asr is not None or os.environ.get(ASR_ENV):
                names.append("asr")
            if task_id is not None:
                names.append("speaker")
        else:
            names = []
            for m in metrics:
                owner = m if m in self.detector_names() else METRIC_OWNERS.get(m)
                if owner is None:
                    raise InvalidInput(
                        f"unknown metric {m!r}; use a detector ({', '.join(self.detector_names())})"
                        " or one of its metric names"
                    )
                if owner not in names:
                    names.append(owner)
        if "speaker" in names and task_id is None:
            raise InvalidInput("speaker similarity compares takes with their reference clips: "
                               "run it on a task")
        out: list[Detector] = []
        skipped: list[tuple[str, str]] = []
        for name in names:
            try:
                if name == "speaker":
                    from rasv.analysis.speaker import for_task

                    det = for_task(self.ws, int(task_id), speaker)  # type: ignore[arg-type]
                    if not explicit and not det.references and det.centroid is None:
                        skipped.append(("speaker", "the task's takes have no reference clips "
                                                   "to compare with"))
                        continue
                    out.append(det)
                    continue
                out.append(_make(name, asr, vad))
            except BackendUnavailable as e:
                if explicit:
                    raise
                skipped.append((name, str(e)))
        return out, skipped

    # -- arrays --------------------------------------------------------------------------------

    def measure(self, samples: np.ndarray, sample_rate: int, *, text: str = "", lang: str = "",
                metrics: Sequence[str] | None = None, asr: Any = None,
                vad: str = "auto") -> dict[str, float | None]:
        """Run detectors on one array (nothing is stored); return metric → value.

        Example:
            >>> import rasv, tempfile, numpy as np
            >>> with rasv.open(tempfile.mkdtemp()) as ws:
            ...     ws.analysis.measure(np.zeros(16000, dtype="float32"), 16000,
            ...                         metrics=["clipping"])["clipped_fraction"]
            0.0
        """
        dets, _ = self.detectors(metrics, asr=asr, vad=vad)
        sig = TakeSignal(samples, sample_rate, text=text, lang=lang, vad=vad)
        return {m.name: m.value for d in dets for m in d.measure(sig)}

    # -- tasks ---------------------------------------------------------------------------------

    def _task_id(self, task: Any) -> int:
        return find_task_id(self.ws, task)  # the one rule behind ws.tasks.resolve

    def _takes(self, task_id: int) -> pd.DataFrame:
        return self.ws.store.df(
            "SELECT t.id AS take_id, t.status, t.audio_path, t.text, t.text_lang, t.clip_id,"
            " t.speed_factor, min(tt.ord) AS ord"
            " FROM task_takes tt JOIN takes t ON t.id = tt.take_id WHERE tt.task_id = ?"
            " GROUP BY ALL ORDER BY ord",
            [task_id],
        )

    def run(self, task: Any, metrics: Sequence[str] | str | None = None, *,
            background: bool = False, progress: Progress | None = None, asr: Any = None,
            speaker: Any = "auto", vad: str = "auto",
            force: bool = False) -> AnalysisReport | AnalysisRun:
        """Analyse every finished take of a task; metrics already stored are kept.

        Args:
            task: a task record or id.
            metrics: detector or metric names (default: all available, see
                :meth:`detectors`).
            background: run in a thread and return an :class:`AnalysisRun` at once.
            progress: called as ``progress(done, total)`` after each take.
            asr: a recogniser, a model folder or GPT-SoVITS root (default ``$RASV_ASR_MODEL``).
            speaker: the embedding backend for speaker similarity: a ``rasv.classify.embeddings``
                name (default ``"auto"``, as ``ws.classify``) or a backend object.
            vad: speech detector: ``"auto"`` (silero where installed, else energy),
                ``"silero"`` or ``"energy"``.
            force: recompute even fresh metrics.

        Returns:
            An :class:`AnalysisReport` (or an :class:`AnalysisRun` in the background).

        Example:
            >>> import rasv, tempfile
            >>> with rasv.open(tempfile.mkdtemp()) as ws:
            ...     try:
            ...         ws.analyze(99)
            ...     except rasv.TaskNotFound as e:
            ...         print(e)
            task 99 does not exist in this workspace
        """
        task_id = self._task_id(task)
        dets, skipped = self.detectors(metrics, asr=asr, speaker=speaker, task_id=task_id,
                                       vad=vad)
        vad = resolve_vad(vad)
        if not background:
            return self._run(task_id, dets, skipped, progress, force, threading.Event(), vad)
        handle = AnalysisRun()

        def work() -> None:
            def tick(done: int, total: int) -> None:
                handle.progress = (done, total)
                if progress is not None:
                    progress(done, total)

            try:
                handle.report = self._run(task_id, dets, skipped, tick, force, handle._cancel,
                                          vad)
            except BaseException as e:  # handed to wait(), which re-raises it
                handle.error = e

        handle._thread = threading.Thread(target=work, name=f"rasv-analysis-{task_id}",
                                          daemon=True)
        handle._thread.start()
        return handle

    def _run(self, task_id: int, dets: list[Detector], skipped: list[tuple[str, str]],
             progress: Progress | None, force: bool, cancel: threading.Event,
             vad: str = "auto") -> AnalysisReport:
        from rasv.audio.files import read

        t0 = time.perf_counter()
        takes = self._takes(task_id)
        done = takes[(takes.status == "done") & takes.audio_path.notna()]
        stored = {} if force else fresh(self.ws, done.take_id.tolist())
        computed = cached = 0
        failed: list[tuple[str, str]] = []
        total = len(done)
        cancelled = False
        for i, row in enumerate(done.itertuples(index=False)):
            if cancel.is_set():
                cancelled = True
                break
            have = stored.get(row.take_id, {})
            todo = [d for d in dets
                    if any(have.get(m) != (d.backend, d.version) for m in d.metrics)]
            if not todo:
                cached += 1
            else:
                try:
                    x, sr = read(self.ws.abspath(row.audio_path))
                    sig = TakeSignal(x, sr, text=row.text or "", lang=row.text_lang or "",
                                     vad=vad, take_id=row.take_id, clip_id=row.clip_id)
                    results: list[tuple[Measurement, str, str]] = []
                    for d in todo:
                        results.extend((m, d.backend, d.version) for m in d.measure(sig))
                    save(self.ws, row.take_id, results)
                    computed += 1
                except (RasvError, OSError) as e:  # one bad take never stops the others
                    failed.append((row.take_id, str(e)))
            if progress is not None:
                progress(i + 1, total)
        return AnalysisReport(
            task_id=task_id, takes=total, computed=computed, cached=cached, failed=failed,
            skipped=skipped, not_done=len(takes) - total,
            seconds=round(time.perf_counter() - t0, 3), cancelled=cancelled,
        )

    # -- results -------------------------------------------------------------------------------

    def df(self, task: Any) -> pd.DataFrame:
        """Stored metrics of a task's takes, one row per take and one column per metric.

        Columns: ``take_id, status, text, text_lang, clip_id, speed_factor`` then the metrics,
        then ``pace_z`` (z-score of ``sec_per_unit`` among takes of the same text and speed).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(run=False)   # takes planned, none analysed yet
            >>> ex.ws.analysis.df(ex.task).columns.tolist()[:3]
            ['take_id', 'status', 'text']
        """
        task_id = self._task_id(task)
        takes = self._takes(task_id).drop(columns=["ord", "audio_path"])
        wide, _ = wide_table(long_table(self.ws, task_id=task_id))
        out = takes.merge(wide, on="take_id", how="left")
        if "sec_per_unit" in out:
            from rasv.analysis.pace import group_z

            out["pace_z"] = group_z(out.assign(_g=self._group(out)), "sec_per_unit", "_g")
        return out

    @staticmethod
    def _group(df: pd.DataFrame) -> pd.Series:
        # Pace is compared among takes that should sound alike in speed: same text and the
        # same speed_factor (a task that varies speed would otherwise flag its extremes).
        speed = df["speed_factor"].fillna(1.0).astype(float).round(3).astype(str)
        return df["text"].fillna("") + "\u241f" + speed

    def suspicion(self, task: Any, rules: Rules | None = None) -> pd.DataFrame:
        """The listen-first order of a task's analysed takes.

        Returns a DataFrame ``take_id, suspicion (0–1), rank, flags (suggested tags),
        reasons (one sentence per flag), reason (joined), pace_z, promise``, most suspicious
        first (``promise`` orders the likely best takes; see
        :func:`~rasv.analysis.suspicion.score_takes`).
        Takes without metrics yet are left out; run :meth:`run` first.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(run=False)   # takes planned, none analysed yet
            >>> ex.ws.analysis.suspicion(ex.task).columns.tolist()[:4]
            ['take_id', 'suspicion', 'rank', 'flags']
        """
        task_id = self._task_id(task)
        takes = self._takes(task_id)
        wide, details = wide_table(long_table(self.ws, task_id=task_id))
        if wide.empty:
            return score_takes(pd.DataFrame({"take_id": [], "text": []}))
        merged = takes[["take_id", "text", "speed_factor"]].merge(wide, on="take_id",
                                                                  how="inner")
        merged["group"] = self._group(merged)
        return score_takes(merged.drop(columns=["speed_factor"]), details, rules,
                           group="group")


__all__ = ["DEFAULT_DETECTORS", "DETECTORS", "METRIC_OWNERS", "Analysis", "AnalysisReport", "AnalysisRun"]
