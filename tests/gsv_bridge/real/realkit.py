"""Helpers of the real GPT-SoVITS tests: tasks over the built version pairs, take audio,
requests sent straight to the server."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlencode

import rasv

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


def post_tts(url, body):
    """POST a ``/tts`` body to the server itself (no proxy); (status, reply bytes)."""
    req = urllib.request.Request(url + "/tts", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=600) as reply:
        return reply.status, reply.read()


def replay_export(url, ws, product, body):
    """What a user does with an exported body: load weights and reference, then POST it."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    gpt, sovits = (ws.models.get(m).path for m in (product.gpt_id, product.sovits_id))
    for route, key, value in (("/set_gpt_weights", "weights_path", gpt),
                              ("/set_sovits_weights", "weights_path", sovits),
                              ("/set_refer_audio", "refer_audio_path", body["ref_audio_path"])):
        with opener.open(f"{url}{route}?{urlencode({key: value})}", timeout=600) as r:
            assert r.status == 200
    status, data = post_tts(url, body)
    assert status == 200
    return rasv.Audio.from_bytes(data)


__all__ = ["VERSIONS", "make_task", "post_tts", "replay_export", "take_audio"]
