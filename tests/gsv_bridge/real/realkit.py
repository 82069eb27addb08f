"""Helpers of the real GPT-SoVITS tests: tasks over the built version pairs, take audio."""

from __future__ import annotations

VERSIONS = ("v1", "v2", "v2Pro", "v2ProPlus")


def make_task(ws, gsv, refs, root=None, *, texts=("今天天气很好。",), versions=VERSIONS,
              name="grid", **kw):
    """A task over the version pairs of one built folder, one clip, fixed seeds."""
    root = root or gsv.root
    role = ws.roles.create("女声-ann")
    clip = ws.clips.add(role, refs["a"], text="参考音频的文本。", lang="zh")
    combos = []
    for v in versions:
        g, s = (gsv.in_root(root, p) for p in gsv.weights[v])
        combos.append({"gpt": ws.models.add(g, role=role), "sovits": ws.models.add(s, role=role)})
    kw.setdefault("seeds", [7])
    return ws.tasks.create(role, name, list(texts), clips=[clip], combos=combos, **kw)


def take_audio(ws):
    """{take id: samples} of a workspace's done takes."""
    ids = ws.sql("SELECT id FROM takes WHERE status = 'done' ORDER BY id").id
    return {i: ws.takes.audio(i).samples for i in ids}


__all__ = ["VERSIONS", "make_task", "take_audio"]
