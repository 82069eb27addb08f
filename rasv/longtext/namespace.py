"""Long-text tests: render a long text chunk by chunk with one exact configuration.

RefAudioSelectorV2's reader played chunks and threw them away. Here every chunk is a take
(a row of ``takes`` with a content-hash id, so a chunk already rendered with the same
configuration costs nothing), and a run keeps the joined WAV and an SRT whose timings come
from the real chunk durations. A run can be scored and remarked, a bad chunk re-rolled with
another seed, and the whole run exported.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import FakeEngine, make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> clip = ws.clips.add(role, make_clip(os.path.join(ws.root, "r.wav"), 4.0), text="参考。")
    >>> p = ws.products.create(role, "calm", clip=clip.id, params=rasv.Params(seed=1),
    ...                        engine_kind="fake")
    >>> lt = ws.longtext.render(p.id, "第一句话。" * 12 + "第二段。", FakeEngine())
    >>> len(lt.chunks), lt.status, ws.abspath(lt.audio_path).exists()
    (2, 'done', True)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasv.engine import Engine
from rasv.errors import InvalidInput, LongTextNotFound
from rasv.filenames import export_target, safe_filename
from rasv.langs import guess_lang, normalize_lang
from rasv.longtext.chunking import chunk
from rasv.longtext.subtitles import cues_from_durations, to_srt
from rasv.products import presets
from rasv.scores.namespace import Score, latest_scores_sql
from rasv.takes.orphans import drop_unused_takes

if TYPE_CHECKING:
    from rasv.workspace import Workspace

LONGTEXT_DIR = "audio/longtext"

_RUN_COLS = ("id, role_id, source_take_id, product_id, text_id, text, text_lang, chunk_method,"
             " config, status, audio_path, srt_path, duration_s, remark, created_at, updated_at")

Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class LongTextChunk:
    """One chunk of a run: its text, its take and its place in the joined audio.

    Example:
        >>> LongTextChunk(0, "你好。", "ab", 0.0, 1.2, 7).duration_s
        1.2
    """

    idx: int
    text: str
    take_id: str
    start_s: float | None = None
    end_s: float | None = None
    seed: int | None = None

    @property
    def duration_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return round(self.end_s - self.start_s, 6)


@dataclass(frozen=True)
class LongTextRun:
    """A long-text render. ``audio_path`` and ``srt_path`` are workspace-relative
    (``ws.abspath(lt.audio_path)``); they are set once every chunk is rendered.

    Example:
        >>> LongTextRun(1, None, None, None, None, "t", "zh", "ras", {}, "pending").chunks
        ()
    """

    id: int
    role_id: int | None
    source_take_id: str | None
    product_id: int | None
    text_id: int | None
    text: str
    text_lang: str
    chunk_method: str
    config: dict[str, Any]
    status: str
    audio_path: str | None = None
    srt_path: str | None = None
    duration_s: float | None = None
    remark: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    chunks: tuple[LongTextChunk, ...] = ()
    stars: int | None = None


class LongText:
    """``ws.longtext``: render, score, re-roll, list and export long-text runs."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        # Presets of runs rendered through this object; the run's config JSON is the durable
        # copy, used when the source has changed or gone.
        self._presets: dict[int, presets.Preset] = {}

    # -- rendering ---------------------------------------------------------------------------

    def render(self, source: Any, text: str | int, engine: Engine, *, method: str = "ras",
               lang: str | None = None, gap_s: float = 0.0,
               progress: Progress | None = None) -> LongTextRun:
        """Render a long text with the configuration of a take or a product.

        Args:
            source: a take id (str) or a product id (int), or their records.
            text: the text, or the id of a text-library entry.
            engine: the engine to render with (its kind must match the source's).
            method: how to chunk: ``"ras"`` (RefAudioSelectorV2's rule) or ``"cut0"`` …
                ``"cut5"`` (GPT-SoVITS's cut methods), see :mod:`rasv.longtext.chunking`.
            lang: the text's language (default: the library entry's, else guessed).
            gap_s: seconds of silence between chunks in the joined audio.
            progress: called as ``progress(done, total)`` after each chunk; it may raise
                :class:`rasv.Cancelled` to stop (the run is left ``failed``, resumable).

        Raises:
            TakeNotFound, ProductNotFound: the source does not exist.
            InvalidInput: empty text, bad method or gap.
            EngineError: a chunk failed; the run stays ``failed`` and :meth:`resume`
                continues it (chunks already rendered are kept).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, eng, take = ex.ws, ex.engine, ex.take
            >>> lt = ws.longtext.render(take, "第一句话。第二句话，说得长一些。第三句。", eng,
            ...                         method="cut5")
            >>> lt.status, len(lt.chunks), lt.audio_path.endswith(".wav")
            ('done', 3, True)
            >>> [round(ch.end_s - ch.start_s, 2) > 0 for ch in lt.chunks]
            [True, True, True]
        """
        preset, take_id, product_id, role_id = self._source(source)
        text_id = None
        if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
            item = self._ws.texts.get(int(text))
            text_id, content, lang = item.id, item.content, lang or item.lang
        else:
            content = str(text)
        lang = normalize_lang(lang) if lang else guess_lang(content)
        if gap_s < 0:
            raise InvalidInput(f"gap_s cannot be negative, got {gap_s}")
        pieces = chunk(content, method)
        config = {"preset": preset.to_json(), "gap_s": float(gap_s)}
        with self._ws.store.transaction() as cur:
            run_id = cur.execute(
                "INSERT INTO longtext_runs(role_id, source_take_id, product_id, text_id, text,"
                " text_lang, chunk_method, config, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                " 'running') RETURNING id",
                [role_id, take_id, product_id, text_id, content, lang, method,
                 json.dumps(config, ensure_ascii=False, sort_keys=True)],
            ).fetchall()[0][0]
            for i, piece in enumerate(pieces):
                tid = presets.take_id(preset, piece, lang)
                cur.execute("INSERT INTO longtext_chunks(run_id, idx, text, take_id)"
                            " VALUES (?, ?, ?, ?)", [run_id, i, piece, tid])
        self._presets[run_id] = preset
        return self._finish(run_id, engine, progress)

    def resume(self, run_id: int, engine: Engine, progress: Progress | None = None) -> LongTextRun:
        """Render the chunks of a run that are missing (after a failure) and join again.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> from rasv.testing import example
            >>> ex = example(); ws, eng, take = ex.ws, ex.engine, ex.take
            >>> flaky = FakeEngine(fail=lambda req: "三" in req.text)
            >>> try:
            ...     ws.longtext.render(take, "一。二。三。四。", flaky, method="cut5")
            ... except rasv.EngineError:
            ...     print("stopped")
            stopped
            >>> run_id = int(ws.longtext.df().id[0])
            >>> ws.longtext.resume(run_id, eng).status
            'done'
        """
        self.get(run_id)
        return self._finish(int(run_id), engine, progress)

    def reroll(self, run_id: int, idx: int, engine: Engine, *, seed: int | None = None) -> LongTextRun:
        """Render one chunk again with another seed (default: its seed + 1) and re-join.

        The previous take of the chunk stays in the workspace; the run now uses the new one.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, eng, take = ex.ws, ex.engine, ex.take
            >>> lt = ws.longtext.render(take, "第一句话。第二句话，说得长一些。第三句。", eng,
            ...                         method="cut5")
            >>> again = ws.longtext.reroll(lt.id, 1, eng, seed=7)
            >>> again.chunks[1].seed, again.chunks[1].take_id != lt.chunks[1].take_id
            (7, True)
        """
        run = self.get(run_id)
        if not 0 <= idx < len(run.chunks):
            raise InvalidInput(f"run {run_id} has chunks 0..{len(run.chunks) - 1}, not {idx}")
        ch = run.chunks[idx]
        preset = self.preset_of(run)
        old = ch.seed if ch.seed is not None else (preset.seed or 0)
        new_seed = (old + 1) % 2**32 if seed is None else int(seed)
        rolled = preset.with_seed(new_seed)
        tid = presets.render(self._ws, rolled, ch.text, run.text_lang, engine)
        with self._ws.store.transaction() as cur:
            cur.execute("UPDATE longtext_chunks SET take_id = ? WHERE run_id = ? AND idx = ?",
                        [tid, run.id, idx])
        return self._finish(run.id, engine, None)

    def _source(self, source: Any) -> tuple[presets.Preset, str | None, int | None, int | None]:
        sid = getattr(source, "id", source)
        if isinstance(sid, str):
            preset = presets.from_take(self._ws, sid)
            return preset, sid, None, preset.role_id
        if isinstance(sid, (int, np.integer)) and not isinstance(sid, bool):
            product = self._ws.products.get(int(sid))
            return (self._ws.products.preset(product.id), product.source_take_id, product.id,
                    product.role_id)
        raise InvalidInput(f"a long text renders from a take id (str) or a product id (int), "
                           f"not {source!r}")

    def preset_of(self, run: LongTextRun) -> presets.Preset:
        """The exact configuration a run was rendered with (its product or source take).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(seeds=[7]); ws, t, eng = ex.ws, ex.task, ex.engine
            >>> lt = ws.longtext.render(ws.takes.df(t).id[0], "第一句。第二句。", eng)
            >>> ws.longtext.preset_of(lt).seed
            7
        """
        if run.id in self._presets:
            return self._presets[run.id]
        if run.product_id is not None:
            try:
                p = self._ws.products.preset(run.product_id)
            except Exception:
                p = None
            if p is not None and p.to_json() == run.config.get("preset"):
                return p
        if run.source_take_id:
            p = presets.from_take(self._ws, run.source_take_id)
            if p.to_json() == run.config.get("preset"):
                return p
        return _preset_from_json(self._ws, run.config["preset"])

    def _finish(self, run_id: int, engine: Engine, progress: Progress | None) -> LongTextRun:
        run = self.get(run_id)
        preset = self.preset_of(run)
        try:
            pending = [c for c in run.chunks if not _done(self._ws, c.take_id)]
            if pending:
                presets.check_engine(engine, preset)
                presets.load_engine_models(engine, preset)
            total = len(run.chunks)
            done_n = total - len(pending)
            for c in pending:
                p = preset if c.seed in (None, preset.seed) else preset.with_seed(c.seed)
                tid = presets.render(self._ws, p, c.text, run.text_lang, engine, loaded=True)
                if tid != c.take_id:  # the chunk's recorded take was made another way
                    with self._ws.store.transaction() as cur:
                        cur.execute("UPDATE longtext_chunks SET take_id = ? WHERE run_id = ?"
                                    " AND idx = ?", [tid, run.id, c.idx])
                done_n += 1
                if progress is not None:
                    progress(done_n, total)
        except BaseException:
            with self._ws.store.transaction() as cur:
                cur.execute("UPDATE longtext_runs SET status = 'failed',"
                            " updated_at = current_timestamp WHERE id = ?", [run.id])
            raise
        return self._join(self.get(run.id))

    def _join(self, run: LongTextRun) -> LongTextRun:
        from rasv.audio import files as audio_io

        gap_s = float(run.config.get("gap_s", 0.0))
        parts, rates = [], []
        for c in run.chunks:
            x, sr = audio_io.read(presets.take_audio_path(self._ws, c.take_id))
            parts.append(x)
            rates.append(sr)
        sr = rates[0]
        # Chunks of one configuration share a rate; resample defensively if an engine lied.
        parts = [p if r == sr else audio_io.resample(p, r, sr) for p, r in zip(parts, rates,
                                                                              strict=True)]
        gap = np.zeros(int(round(gap_s * sr)), dtype=np.float32)
        joined = []
        for i, p in enumerate(parts):
            if i:
                joined.append(gap)
            joined.append(p)
        samples = np.concatenate(joined) if joined else np.zeros(0, np.float32)
        durations = [len(p) / sr for p in parts]
        cues = cues_from_durations([c.text for c in run.chunks], durations, len(gap) / sr)
        digest = hashlib.sha256("|".join(c.take_id for c in run.chunks).encode()
                                + repr(gap_s).encode()).hexdigest()[:12]
        wav_rel = f"{LONGTEXT_DIR}/{run.id}-{digest}.wav"
        srt_rel = f"{LONGTEXT_DIR}/{run.id}-{digest}.srt"
        audio_io.write_wav(self._ws.abspath(wav_rel), samples, sr)
        audio_io.write_bytes_atomic(self._ws.abspath(srt_rel), to_srt(cues).encode("utf-8"))
        old = [p for p in (run.audio_path, run.srt_path) if p and p not in (wav_rel, srt_rel)]
        with self._ws.store.transaction() as cur:
            for c, cue in zip(run.chunks, cues, strict=True):
                cur.execute("UPDATE longtext_chunks SET start_s = ?, end_s = ? WHERE run_id = ?"
                            " AND idx = ?", [cue.start_s, cue.end_s, run.id, c.idx])
            cur.execute(
                "UPDATE longtext_runs SET status = 'done', audio_path = ?, srt_path = ?,"
                " duration_s = ?, updated_at = current_timestamp WHERE id = ?",
                [wav_rel, srt_rel, len(samples) / sr, run.id])
        self._ws.release_files(old)  # files of the previous join; the new ones are committed
        return self.get(run.id)

    # -- reading -----------------------------------------------------------------------------

    def get(self, run_id: int) -> LongTextRun:
        """One run with its chunks and current long-text stars.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().longtext.get, 1)
            'LongTextNotFound: long-text run 1 does not exist in this workspace'
        """
        row = self._ws.store.one_or_raise(f"SELECT {_RUN_COLS} FROM longtext_runs WHERE id = ?",
                                          [int(run_id)], LongTextNotFound(run_id))
        d = dict(zip([c.strip() for c in _RUN_COLS.split(",")], row, strict=True))
        d["config"] = json.loads(d["config"] or "{}")
        d["remark"] = d["remark"] or ""
        chunk_rows = self._ws.store.rows(
            "SELECT c.idx, c.text, c.take_id, c.start_s, c.end_s, t.seed FROM longtext_chunks c"
            " LEFT JOIN takes t ON t.id = c.take_id WHERE c.run_id = ? ORDER BY c.idx",
            [int(run_id)])
        d["chunks"] = tuple(LongTextChunk(*r) for r in chunk_rows)
        if d["chunks"] and d["chunks"][0].seed is None:
            seed = d["config"].get("preset", {}).get("params", {}).get("seed")
            d["chunks"] = tuple(LongTextChunk(c.idx, c.text, c.take_id, c.start_s, c.end_s,
                                              c.seed if c.seed is not None else seed)
                                for c in d["chunks"])
        s = self.score_of(int(run_id))
        d["stars"] = s.stars if s else None
        return LongTextRun(**d)

    def df(self, role: Any = None) -> pd.DataFrame:
        """Runs (of one role, or all), newest first, with their latest long-text stars.

        Columns: id, role_id, source_take_id, product_id, text_id, text, text_lang,
        chunk_method, status, audio_path, srt_path, duration_s, remark, n_chunks, stars,
        created_at.

        Example:
            >>> import rasv, tempfile
            >>> rasv.open(tempfile.mkdtemp()).longtext.df().empty
            True
        """
        where, params = "", []
        if role is not None:
            where, params = "WHERE r.role_id = ?", [self._ws.roles.resolve_id(role)]
        return self._ws.store.df(
            f"""
            WITH s AS ({latest_scores_sql(long_text=True)})
            SELECT r.id, r.role_id, r.source_take_id, r.product_id, r.text_id, r.text,
                   r.text_lang, r.chunk_method, r.status, r.audio_path, r.srt_path,
                   r.duration_s, r.remark,
                   (SELECT count(*) FROM longtext_chunks c WHERE c.run_id = r.id) AS n_chunks,
                   s.stars, r.created_at
            FROM longtext_runs r LEFT JOIN s ON s.longtext_id = r.id
            {where}
            ORDER BY r.id DESC
            """,
            params,
        )

    # -- scoring -----------------------------------------------------------------------------

    def score(self, run_id: int, stars: int | None = None, *, remark: str | None = None,
              tags: Any = None, rater: str = "") -> Score:
        """Score a run (0–5 stars, remark, tags); history is kept like take scores.

        The score is recorded against the run's source take (or its first chunk), so it
        rolls up to the reference clip as its long-text score.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, r, eng, take = ex.ws, ex.role, ex.engine, ex.take
            >>> lt = ws.longtext.render(take, "第一句话。第二句话，说得长一些。第三句。", eng,
            ...                         method="cut5")
            >>> ws.longtext.score(lt.id, 4, remark="自然").stars
            4
            >>> int(ws.clips.df(r).longtext_score_max[0])
            4
        """
        run = self.get(run_id)
        anchor = run.source_take_id if run.source_take_id and self._ws.takes.exists(
            run.source_take_id) else run.chunks[0].take_id
        s = self._ws.scores.set_long_text(run.id, anchor, stars, tags, remark, rater)
        if remark is not None:
            with self._ws.store.transaction() as cur:
                cur.execute("UPDATE longtext_runs SET remark = ?, updated_at = current_timestamp"
                            " WHERE id = ?", [s.remark, run.id])
        return s

    def score_of(self, run_id: int) -> Score | None:
        """The current long-text score of a run, or None.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, eng, take = ex.ws, ex.engine, ex.take
            >>> lt = ws.longtext.render(take, "第一句话。第二句话，说得长一些。第三句。", eng,
            ...                         method="cut5")
            >>> ws.longtext.score_of(lt.id) is None
            True
            >>> _ = ws.longtext.score(lt.id, 3); ws.longtext.score_of(lt.id).stars
            3
        """
        return self._ws.scores.long_text_score(run_id)

    # -- export and delete -------------------------------------------------------------------

    def export(self, run_id: int, dest: str | os.PathLike, *, chunks: bool = False) -> Path:
        """Write a zip with the joined WAV, the SRT and the text (and each chunk's WAV).

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().longtext.export, 1, "x.zip")
            'LongTextNotFound: long-text run 1 does not exist in this workspace'
        """
        run = self.get(run_id)
        if run.status != "done" or not run.audio_path:
            raise InvalidInput(f"long-text run {run_id} is {run.status}; resume it first")
        dest = export_target(dest, (".zip",))
        stem = safe_filename(f"longtext-{run.id}-{run.text[:20]}", max_len=60)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=dest.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                z.write(self._ws.abspath(run.audio_path), f"{stem}.wav")
                z.write(self._ws.abspath(run.srt_path), f"{stem}.srt")
                z.writestr(f"{stem}.txt", run.text)
                if chunks:
                    for c in run.chunks:
                        z.write(presets.take_audio_path(self._ws, c.take_id),
                                f"chunks/{c.idx + 1:03d}.wav")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest

    def delete(self, run_id: int) -> None:
        """Delete a run, its scores and files, and chunk takes nothing else uses.

        The run's source take and chunk takes go too when no task, other run, product or
        take score still uses them.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(); ws, eng, take = ex.ws, ex.engine, ex.take
            >>> lt = ws.longtext.render(take, "第一句话。第二句话，说得长一些。第三句。", eng,
            ...                         method="cut5")
            >>> ws.longtext.delete(lt.id); len(ws.longtext.df())
            0
            >>> ws.takes.exists(take)   # the source take belongs to its task: kept
            True
        """
        run = self.get(run_id)
        ids = [run.source_take_id, *(c.take_id for c in run.chunks)]
        with self._ws.store.transaction() as cur:
            cur.execute("DELETE FROM scores WHERE longtext_id = ?", [run.id])
            cur.execute("DELETE FROM longtext_chunks WHERE run_id = ?", [run.id])
            cur.execute("UPDATE products SET source_longtext_id = NULL"
                        " WHERE source_longtext_id = ?", [run.id])
            cur.execute("DELETE FROM longtext_runs WHERE id = ?", [run.id])
            drop_unused_takes(self._ws, ids, keep_scored=True)
            files = {p for p in (run.audio_path, run.srt_path) if p}
            self._ws.store.after_commit(lambda: self._ws.release_files(files))


def _done(ws: Workspace, take_id: str) -> bool:
    rows = ws.store.rows("SELECT status, audio_path FROM takes WHERE id = ?", [take_id])
    return bool(rows) and rows[0][0] == "done" and bool(rows[0][1]) and \
        ws.abspath(rows[0][1]).exists()


def _preset_from_json(ws: Workspace, data: dict[str, Any]) -> presets.Preset:
    """Rebuild a run's preset from its stored description (source since deleted)."""
    from rasv.params import Params

    clip = data["clip"]
    path = presets.blob_for(ws, clip.get("sha256"))
    if path is None:
        from rasv.errors import ClipNotFound

        raise ClipNotFound(clip.get("id"), "the run's reference audio is no longer stored")
    aux = presets.load_aux(ws, [a["id"] for a in data.get("aux", [])])
    gpt = presets.load_model(ws, (data.get("gpt") or {}).get("id"))
    sovits = presets.load_model(ws, (data.get("sovits") or {}).get("id"))
    return presets.Preset(
        engine_kind=data["engine_kind"], clip_id=clip.get("id"), clip_sha256=clip["sha256"],
        clip_path=path, prompt_text=clip.get("prompt_text", ""),
        prompt_lang=clip.get("prompt_lang", ""), params=Params.from_dict(data["params"]),
        clip_name=clip.get("name", ""), clip_category=clip.get("category", ""), aux=aux,
        gpt=gpt, sovits=sovits,
    )


__all__ = ["LONGTEXT_DIR", "LongText", "LongTextChunk", "LongTextRun"]
