"""The demo workspace behind ``rasv demo``: real (espeak-ng) speech, nothing downloaded.

It writes reference clips spoken by several espeak-ng voices as a GPT-SoVITS slicer would
leave them (32 kHz WAV plus ``.list`` files), imports them into a role through the same
``.list`` import users run, fills the text library, and — when an engine is available —
creates and runs a small comparison task so the Review tab has takes to score. espeak is no
voice cloner: the point is a workspace that exercises every panel offline.

Example:
    >>> import tempfile
    >>> paths = write_sources(tempfile.mkdtemp())
    >>> sorted(p.name for p in paths)
    ['female.list', 'male.list']
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rasv.audio import resample, write_wav

#: The demo role (``category-name``).
DEMO_ROLE = "demo-espeak"
#: Sample rate of the written clips (GPT-SoVITS's slicer keeps the source rate; 32 kHz is usual).
DEMO_RATE = 32000


@dataclass(frozen=True)
class DemoClip:
    """One demo reference clip: who speaks what, and how."""

    name: str
    voice: str
    lang: str
    category: str
    text: str
    rate_wpm: int = 165
    pitch: int = 50


#: Clips of two categories; two fall outside GPT-SoVITS's 3–10 s rule on purpose.
DEMO_CLIPS: tuple[DemoClip, ...] = (
    DemoClip("zh_f_weather", "cmn+f3", "zh", "female",
             "今天的天气很好，我们一起去公园散步吧，顺便买一点水果回家。", 165, 58),
    DemoClip("zh_f_station", "cmn+f2", "zh", "female",
             "请大家注意，下一站是人民广场，需要换乘的乘客请提前做好准备。", 170, 62),
    DemoClip("en_f_april", "en-us+f2", "en", "female",
             "It was a bright cold day in April, and the clocks were striking thirteen.", 150, 60),
    DemoClip("ja_f_morning", "ja+f3", "ja", "female",
             "おはようございます。今日も一日よろしくお願いします。", 150, 55),
    DemoClip("zh_f_story", "cmn+f4", "zh", "female",
             "从前有一座山，山里有一座庙，庙里有一个老和尚在给小和尚讲故事，"
             "他讲的是什么故事呢？从前有一座山，山里有一座庙。", 170, 55),
    DemoClip("zh_m_spring", "cmn+m3", "zh", "male",
             "春天来了，河边的柳树发出了新芽，孩子们在草地上放风筝。", 150, 40),
    DemoClip("zh_m_news", "cmn", "zh", "male",
             "各位听众朋友们，大家好，欢迎收听今天的新闻节目，首先请听详细内容。", 160, 45),
    DemoClip("en_m_save", "en-us+m3", "en", "male",
             "Please remember to save your work before closing the window, it only takes a "
             "second.", 150, 40),
    DemoClip("zh_m_short", "cmn+m3", "zh", "male", "好的，没问题。", 170, 42),
)

#: Sentences and one long text for the text library: (content, lang, category, long).
DEMO_TEXTS: tuple[tuple[str, str, str, bool], ...] = (
    ("欢迎使用参考音频工作台，今天我们来挑选最好听的声音。", "zh", "daily", False),
    ("The right reference clip makes a trained voice sound natural.", "en", "daily", False),
    ("这个句子里有数字 2025 和英文 GPT-SoVITS，用来检查混合文本。", "zh", "mixed", False),
    ("夜深了，窗外的雨还在下。她合上书，听着雨点敲打玻璃的声音，想起了很多年前的那个夏天。"
     "那时候，院子里的葡萄架下总是很热闹，大人们聊天，孩子们追来追去。"
     "后来大家各奔东西，院子也拆了，只有这雨声，还和当年一模一样。", "zh", "story", True),
)


def _speak(clip: DemoClip) -> np.ndarray:
    from gsv_bridge.espeak import synth

    x, sr = synth(clip.text, voice=clip.voice, rate_wpm=clip.rate_wpm, pitch=clip.pitch)
    x = resample(x, sr, DEMO_RATE)
    pad = np.zeros(int(0.15 * DEMO_RATE), dtype=np.float32)  # slicers keep a little silence
    return np.concatenate([pad, x, pad])


def write_sources(folder: str | os.PathLike, clips: tuple[DemoClip, ...] = DEMO_CLIPS,
                  speaker: str = "espeak") -> list[Path]:
    """Speak the demo clips into ``folder/<category>/`` and write one ``.list`` per category.

    Returns the ``.list`` files (``<category>.list``), whose lines are
    ``absolute wav path|speaker|LANG|text`` like GPT-SoVITS's ASR output.
    """
    root = Path(folder)
    by_category: dict[str, list[str]] = {}
    for clip in clips:
        wav = root / clip.category / f"{clip.name}.wav"
        if not wav.is_file():
            write_wav(wav, _speak(clip), DEMO_RATE)
        by_category.setdefault(clip.category, []).append(
            f"{wav.resolve()}|{speaker}|{clip.lang.upper()}|{clip.text}"
        )
    lists = []
    for category, lines in by_category.items():
        path = root / f"{category}.list"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        lists.append(path)
    return lists


#: The demo task: every clip speaks two sentences at two speeds.
DEMO_TASK = "demo: which clip, which speed"
DEMO_TASK_TEXTS = (DEMO_TEXTS[0][0], DEMO_TEXTS[1][0])


def default_engine() -> Any:
    """The offline espeak engine, or None when gsv_bridge cannot load espeak-ng."""
    try:
        from gsv_bridge import EspeakEngine

        engine = EspeakEngine()
        engine.capabilities()
        return engine
    except Exception:  # no espeak-ng library: the demo still has clips and texts
        return None


def build_demo(path: str | os.PathLike, *, engine: Any = None, run: bool = True,
               progress: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Create (or complete) the demo workspace at ``path``; safe to run again.

    Args:
        path: the workspace folder.
        engine: the engine that renders the demo task (default: ``gsv_bridge.EspeakEngine``).
        run: make the task's takes (False: create the task only).
        progress: called with a line of text per step.

    Returns a summary: ``root``, ``role``, ``clips``, ``texts``, ``task`` (id) and ``takes``
    (how many are made).
    """
    import rasv

    say = progress or (lambda _msg: None)
    root = Path(path).expanduser().resolve()
    with rasv.open(root) as ws:
        role = ws.roles.create(DEMO_ROLE, exist_ok=True)
        if len(ws.clips.df(role)) == 0:
            say("speaking the demo clips with espeak-ng …")
            for lst in write_sources(root / "sources"):
                rep = ws.clips.import_list(role, lst, category=lst.stem, on_duplicate="skip")
                say(f"imported {lst.name}: {rep}")
        texts = ws.texts.df()
        have = dict(zip(texts["content"], texts["id"], strict=True)) if len(texts) else {}
        for content, lang, category, long in DEMO_TEXTS:
            if content not in have:
                have[content] = ws.texts.add(content, lang=lang, category=category, long=long).id
        tasks = ws.tasks.list(role)
        named = tasks[tasks["name"] == DEMO_TASK] if len(tasks) else tasks
        if len(named):
            task = ws.tasks.get(int(named["id"].iloc[-1]))
        else:
            task = ws.tasks.create(
                role, DEMO_TASK, texts=[int(have[c]) for c in DEMO_TASK_TEXTS],
                clip_categories=sorted({c.category for c in DEMO_CLIPS}),
                vary={"speed_factor": [0.9, 1.1]}, engine="espeak",
            )
        engine = engine if engine is not None else (default_engine() if run else None)
        if run and engine is not None and task.counts().todo:
            say(f"rendering {task.counts().todo} takes with {engine.name} …")
            ws.tasks.run(task, engine).wait()
        summary = {
            "root": root,
            "role": role.label,
            "clips": int(len(ws.clips.df(role))),
            "texts": int(len(ws.texts.df())),
            "task": task.id,
            "takes": task.counts().done,
        }
    return summary


__all__ = ["DEMO_CLIPS", "DEMO_RATE", "DEMO_ROLE", "DEMO_TASK", "DEMO_TEXTS", "DemoClip",
           "build_demo", "default_engine", "write_sources"]
