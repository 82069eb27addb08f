"""A small comparison task run with the fake engine, for the review, scoring and product tests.

Clips × texts × (cartesian ``vary``) × seeds, created with ``ws.tasks.create`` and made by
``ws.tasks.run`` with the deterministic :class:`rasv.testing.FakeEngine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import rasv
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
    engine = engine or FakeEngine()
    task = ws.tasks.create(role, name, list(texts), clips=[c.id for c in clips],
                           fixed=fixed or rasv.Params(), vary=vary or None, seeds=list(seeds),
                           engine="fake")
    run = ws.tasks.run(task, engine)
    assert run.progress.failed == 0, run.events
    plan = task.plan()
    return ReviewTask(task.id, clips, list(texts), plan.take_id.tolist(), engine)
