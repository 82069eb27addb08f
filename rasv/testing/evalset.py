"""An evaluation set for take analysis: clean synthetic takes beside takes with known defects.

Each text is spoken by several voices, rates and pitches (the siblings a real task has: the
same text through different reference clips and settings). A few copies then get one
injected defect each, with the ground truth recorded: broadband noise bursts, mains hum, a
repeated stretch, a cut-off ending, a long pause, clipping. Takes are dressed like TTS output
(short lead-in, a faded tail, a faint noise floor).

rasv itself never imports an engine, so the speech function is passed in; the tests and the
bench pass ``gsv_bridge.espeak.synth``.

Example:
    >>> from gsv_bridge.espeak import synth
    >>> takes = build_eval_set(synth, variants=2, texts=EVAL_TEXTS[:1], defects=("clipping",))
    >>> [t.defect for t in takes]
    [None, None, 'clipping']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: (text, language, voices) — Japanese in kana: espeak-ng reads kanji letter by letter.
EVAL_TEXTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("今天天气很好，我们一起去公园散步吧。", "zh", ("cmn", "cmn+f3", "cmn+m3", "cmn+f4")),
    ("学习一门语言需要时间和耐心，但是非常有意思。", "zh", ("cmn", "cmn+f2", "cmn+m7", "cmn+f3")),
    ("他昨天晚上看了一部很长的电影。", "zh", ("cmn+m3", "cmn+f4", "cmn", "cmn+f2")),
    ("The quick brown fox jumps over the lazy dog near the river.", "en",
     ("en-us", "en-us+f3", "en-us+m7", "en")),
    ("Please bring the blue chair into the kitchen before dinner.", "en",
     ("en-us+f4", "en-us", "en+m3", "en-us+f2")),
    ("Every morning she walks her small dog around the park.", "en",
     ("en", "en-us+m3", "en-us+f3", "en-us")),
    ("わたしは まいにち えきまで あるいて いきます。", "ja", ("ja", "ja+f4", "ja+m3", "ja+f2")),
    ("きょうは とても いい てんきですね、さんぽに いきましょう。", "ja",
     ("ja+f3", "ja", "ja+m7", "ja+f4")),
)

#: Every defect :func:`build_eval_set` can inject.
DEFECTS: tuple[str, ...] = ("bursts", "hum", "repeat", "cutoff", "pause", "clipping")


@dataclass(frozen=True)
class EvalTake:
    """One take of the evaluation set.

    ``defect`` is None for clean takes; ``truth`` holds what was injected (times in seconds
    of the final audio).
    """

    id: str
    text: str
    lang: str
    voice: str
    samples: np.ndarray = field(repr=False)
    sample_rate: int
    defect: str | None = None
    truth: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _dress(x: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Lead-in, faded tail and a faint noise floor, like a TTS engine's output."""
    lead = int(rng.uniform(0.12, 0.3) * sr)
    tail = int(rng.uniform(0.25, 0.45) * sr)
    fade = min(int(0.03 * sr), len(x))
    y = x.astype(np.float64).copy()
    if fade:
        y[-fade:] *= np.linspace(1.0, 0.0, fade)
    y = np.concatenate([np.zeros(lead), y, np.zeros(tail)])
    y += rng.normal(0.0, 10 ** (-75 / 20), len(y))
    return y, lead / sr


def _speech_rms(x: np.ndarray) -> float:
    loud = x[np.abs(x) > 0.02]
    return float(np.sqrt(np.mean(loud ** 2))) if loud.size else 0.1


def _loud_frames(x: np.ndarray, sr: int, lo: float, hi: float) -> np.ndarray:
    """Start samples of 10 ms frames within [lo, hi] of the speech whose level is high."""
    hop = int(0.01 * sr)
    n = len(x) // hop
    lv = np.array([np.sqrt(np.mean(x[i * hop:(i + 1) * hop] ** 2)) for i in range(n)])
    idx = np.arange(int(lo * n), max(int(hi * n), int(lo * n) + 1))
    top = idx[lv[idx] >= np.percentile(lv[idx], 70)]
    return top * hop


def inject(defect: str, x: np.ndarray, sr: int, lead_s: float, speech_s: float,
           rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply one defect to a dressed take; return the new samples and the ground truth.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y, truth = inject("pause", np.zeros(16000), 16000, 0.1, 0.8, rng)
        >>> truth["pause_s"] > 1.0, len(y) > 16000
        (True, True)
    """
    y = x.copy()
    rms = _speech_rms(y)
    s0, s1 = int(lead_s * sr), int((lead_s + speech_s) * sr)
    if defect == "bursts":
        n = int(rng.integers(2, 4))
        at = np.sort(rng.uniform(lead_s + 0.1 * speech_s, lead_s + 0.9 * speech_s, n))
        for t in at:
            length = int(rng.uniform(0.04, 0.1) * sr)
            i = int(t * sr)
            y[i:i + length] += rng.normal(0.0, rms * 10 ** (rng.uniform(6, 10) / 20), length)[: len(y) - i]
        return np.clip(y, -1, 1), {"times": [round(float(t), 3) for t in at]}
    if defect == "hum":
        t = np.arange(len(y)) / sr
        base = float(rng.choice([50.0, 60.0]))
        # -30..-25 dBFS: clearly audible mains hum, as in a real noisy take; quieter levels
        # sat on the detector's threshold and made the tests depend on espeak's state.
        level = 10 ** (rng.uniform(-30, -25) / 20)
        hum = sum(level / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.28))
                  for k in (1, 2, 3))
        return y + hum, {"mains_hz": base}
    if defect == "repeat":
        length = int(rng.uniform(0.6, 0.9) * sr)
        start = int(rng.uniform(0.3, 0.5) * (s1 - s0 - length)) + s0
        seg = y[start:start + length]
        out = np.concatenate([y[:start + length], seg, y[start + length:]])
        return out, {"first_s": round(start / sr, 3), "second_s": round((start + length) / sr, 3),
                     "length_s": round(length / sr, 3)}
    if defect == "cutoff":
        speech = y[s0:s1]
        cands = _loud_frames(speech, sr, 0.6, 0.85)
        cut = s0 + int(rng.choice(cands)) + int(0.005 * sr)
        return y[:cut], {"cut_s": round(cut / sr, 3)}
    if defect == "pause":
        gap = rng.uniform(1.2, 1.8)
        at = int(rng.uniform(0.45, 0.55) * (s1 - s0)) + s0
        floor = rng.normal(0.0, 10 ** (-75 / 20), int(gap * sr))
        return np.concatenate([y[:at], floor, y[at:]]), {"at_s": round(at / sr, 3),
                                                        "pause_s": round(gap, 3)}
    if defect == "clipping":
        gain = rng.uniform(3.0, 5.0)
        ceiling = float(rng.uniform(0.8, 1.0))
        return np.clip(y * gain, -ceiling, ceiling), {"gain": round(gain, 2), "ceiling": round(ceiling, 3)}
    raise ValueError(f"unknown defect {defect!r}; choose from {', '.join(DEFECTS)}")


def build_eval_set(speak: Callable[..., tuple[np.ndarray, int]], *, variants: int = 6,
                   texts: Sequence[tuple[str, str, Sequence[str]]] = EVAL_TEXTS,
                   defects: Sequence[str] = DEFECTS, seed: int = 0) -> list[EvalTake]:
    """Build the evaluation set.

    Args:
        speak: ``speak(text, voice=..., rate_wpm=..., pitch=...) -> (samples, rate)``, e.g.
            ``gsv_bridge.espeak.synth``.
        variants: clean takes per text (voices cycle; rate and pitch vary).
        texts: ``(text, lang, voices)`` triples.
        defects: the defects to inject; they are dealt round-robin over the texts, one
            defective take per text and defect kind in turn, so each kind appears at least
            once when there are as many texts as kinds.
        seed: everything random (rates, pitches, placements) follows from it.

    Returns:
        Clean takes of each text followed by that text's defective takes.
    """
    rng = np.random.default_rng(seed)
    out: list[EvalTake] = []
    deal = 0
    for ti, (text, lang, voices) in enumerate(texts):
        clean: list[tuple[np.ndarray, int, float, float, str]] = []
        for v in range(variants):
            voice = voices[v % len(voices)]
            rate = int(rng.integers(160, 190))
            pitch = int(rng.integers(35, 65))
            x, sr = speak(text, voice=voice, rate_wpm=rate, pitch=pitch)
            dressed, lead = _dress(np.asarray(x, dtype=np.float64), sr, rng)
            clean.append((dressed, sr, lead, len(x) / sr, voice))
            out.append(EvalTake(f"t{ti}-v{v}", text, lang, voice,
                                dressed.astype(np.float32), sr))
        per_text = max(1, int(np.ceil(len(defects) / max(len(texts), 1))))
        for _ in range(per_text if defects else 0):
            defect = defects[deal % len(defects)]
            deal += 1
            base, sr, lead, speech_s, voice = clean[int(rng.integers(0, len(clean)))]
            y, truth = inject(defect, base, sr, lead, speech_s, rng)
            out.append(EvalTake(f"t{ti}-{defect}", text, lang, voice,
                                np.clip(y, -1, 1).astype(np.float32), sr, defect, truth))
    return out


def add_eval_task(ws: Any, takes: Sequence[EvalTake], name: str = "evaluation", *,
                  status: str = "done") -> int:
    """Store evaluation takes as a task of a new role, the way the runner leaves finished
    takes (a ``takes`` row with its WAV under ``audio/takes``, a ``task_takes`` link), so
    ``ws.analysis`` can run on them without an engine. Returns the task id; take ids are
    ``<name>-<take id>``.

    Example:
        >>> import rasv, tempfile
        >>> from gsv_bridge.espeak import synth
        >>> with rasv.open(tempfile.mkdtemp()) as ws:
        ...     tid = add_eval_task(ws, build_eval_set(synth, variants=1,
        ...                                            texts=EVAL_TEXTS[:1], defects=()))
        ...     ws.sql("SELECT id, status FROM takes").values.tolist()
        [['evaluation-t0-v0', 'done']]
    """
    import json

    from rasv.audio.files import write_wav

    role = ws.roles.create(f"eval-{name}")
    with ws.store.transaction() as cur:
        task_id = cur.execute(
            "INSERT INTO tasks (role_id, name, spec) VALUES (?, ?, '{}') RETURNING id",
            [role.id, name],
        ).fetchone()[0]
        for i, t in enumerate(takes):
            take_id = f"{name}-{t.id}"
            rel = f"audio/takes/{take_id}.wav"
            write_wav(ws.abspath(rel), t.samples, t.sample_rate)
            cur.execute(
                "INSERT INTO takes (id, engine_kind, text, text_lang, params, status, audio_path,"
                " duration_s, sample_rate, speed_factor) VALUES (?, 'espeak', ?, ?, ?, ?, ?, ?, ?, 1.0)",
                [take_id, t.text, t.lang, json.dumps({}), status, rel, t.duration_s,
                 t.sample_rate],
            )
            cur.execute("INSERT INTO task_takes (task_id, take_id, ord) VALUES (?, ?, ?)",
                        [task_id, take_id, i])
    return int(task_id)


__all__ = ["DEFECTS", "EVAL_TEXTS", "EvalTake", "add_eval_task", "build_eval_set", "inject"]
