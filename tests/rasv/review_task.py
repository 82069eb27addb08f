"""A small comparison task with takes, for the review, scoring and product tests.

The runner (``ws.tasks``) makes tasks in the product; these tests need takes whose clips,
texts and parameters they control exactly, so this helper plans the grid itself and renders
every take through :func:`rasv.presets.render` with the deterministic ``FakeEngine``, which
writes the same rows and files a run does.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import rasv
from rasv import presets
from rasv.testing import FakeEngine, make_clip
from rasv.testing.checkpoints import make_checkpoint


@dataclass
class ReviewTask:
    id: int
    clips: list[rasv.Clip]
    texts: list[tuple[str, str]]
    take_ids: list[str] = field(default_factory=list)
    engine: FakeEngine | None = None


def add_model(ws: rasv.Workspace, tmp: Path, kind: str, name: str, version: str = "v2ProPlus",
              epoch: int | None = None) -> int:
    """Register a fabricated checkpoint (right headers, no weights) through ``ws.models``."""
    del kind, epoch  # both come from the file: its extension and its name
    return ws.models.add(make_checkpoint(tmp / name, version=version)).id


def make_task(ws: rasv.Workspace, role: rasv.Role, tmp: Path, *, n_clips: int = 3,
              texts: list[tuple[str, str]] | None = None, vary: dict | None = None,
              seeds: tuple[int, ...] = (1,), fixed: rasv.Params | None = None,
              categories: tuple[str, ...] = ("happy", "sad", "happy", "calm"),
              name: str = "review test", engine: FakeEngine | None = None) -> ReviewTask:
    """Clips × texts × (cartesian ``vary``) × seeds, rendered with ``engine``."""
    with ws.store.session():  # one attach for the whole build
        return _make_task(ws, role, tmp, n_clips=n_clips, texts=texts, vary=vary, seeds=seeds,
                          fixed=fixed, categories=categories, name=name, engine=engine)


def _make_task(ws, role, tmp, *, n_clips, texts, vary, seeds, fixed, categories, name, engine):
    tmp.mkdir(parents=True, exist_ok=True)
    texts = texts or [("今天天气很好，我们出去走走吧。", "zh"), ("Good morning, everyone.", "en")]
    clips = []
    for i in range(n_clips):
        src = make_clip(tmp / f"clip{i}.wav", 3.5 + i * 0.5, f0=120 + 30 * i, seed=i)
        clips.append(ws.clips.add(role, src, text=f"参考音频{i}号。", lang="zh",
                                  category=categories[i % len(categories)]))
    vary = vary or {}
    keys = list(vary)
    combos = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*(vary[k] for k in keys))] or [{}]
    fixed = fixed or rasv.Params()
    engine = engine or FakeEngine()
    with ws.store.transaction() as cur:
        tid = cur.execute(
            "INSERT INTO tasks(role_id, name, engine_kind, spec) VALUES (?, ?, 'fake', ?)"
            " RETURNING id", [role.id, name, json.dumps({"vary": {k: list(map(str, v))
                                                                   for k, v in vary.items()}})],
        ).fetchall()[0][0]
    task = ReviewTask(tid, clips, texts, engine=engine)
    ord_ = 0
    for c_idx, combo in enumerate(combos):
        changes = {k: v for k, v in combo.items() if k not in ("gpt", "sovits", "aux")}
        for clip in clips:
            for text, lang in texts:
                for seed in seeds:
                    p = presets.from_clip(ws, clip.id, fixed.replace(**changes, seed=seed),
                                          engine_kind="fake", gpt=combo.get("gpt"),
                                          sovits=combo.get("sovits"), aux=combo.get("aux", ()))
                    take = presets.render(ws, p, text, lang, engine)
                    with ws.store.transaction() as cur:
                        cur.execute("INSERT INTO task_takes(task_id, take_id, ord, clip_id,"
                                    " combo) VALUES (?, ?, ?, ?, ?)",
                                    [tid, take, ord_, clip.id, c_idx])
                    ord_ += 1
                    task.take_ids.append(take)
    return task
