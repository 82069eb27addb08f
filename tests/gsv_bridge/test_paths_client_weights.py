"""Path mapping, the HTTP client's error mapping, and find_weights."""

from __future__ import annotations

import pytest

import rasv
from gsv_bridge import PathMap, find_weights
from gsv_bridge.client import HttpClient, Reply, raise_for_reply
from rasv.testing import make_checkpoint


@pytest.mark.parametrize(("mapping", "local", "server"), [
    ({"/w": "/srv/w"}, "/w/a/b.wav", "/srv/w/a/b.wav"),
    ({"/w": "/srv/w"}, "/w", "/srv/w"),
    ({"/w": "/srv/w"}, "/w2/a.wav", "/w2/a.wav"),  # prefix must end at a separator
    ({"/w": "/a", "/w/clips": "/b"}, "/w/clips/x.wav", "/b/x.wav"),  # longest wins
    ({"D:\\GPT-SoVITS\\": "/content/gsv/"}, "D:\\GPT-SoVITS\\SoVITS_weights\\x.pth",
     "/content/gsv/SoVITS_weights/x.pth"),
    ({"/data": "E:\\share\\data"}, "/data/clips/a.wav", "E:\\share\\data\\clips\\a.wav"),
])
def test_path_map(mapping, local, server):
    assert PathMap(mapping).to_server(local) == server


def test_empty_path_map_is_falsy():
    assert not PathMap() and not PathMap(None) and PathMap({"/a": "/b"})


@pytest.mark.parametrize(("reply", "match", "transient"), [
    (Reply(400, "application/json", b'{"message": "tts failed", "Exception": ""}'),
     "no reason given", False),
    (Reply(404, "application/json", b'{"detail": "Not Found"}'), "Not Found", False),
    (Reply(503, "text/html", b"<html>Bad gateway</html>"), "failed on the request", True),
    (Reply(429, "text/plain", b"slow down"), "slow down", True),
    (Reply(500, "text/plain", b""), "empty reply", True),
])
def test_error_mapping(reply, match, transient):
    with pytest.raises(rasv.EngineRequestError, match=match) as ei:
        raise_for_reply(reply, "http://x/tts", what="req")
    assert ei.value.transient is transient and ei.value.status == reply.status
    assert ei.value.request == "req"


def test_client_rejects_bad_urls_and_keeps_prefix():
    with pytest.raises(rasv.InvalidInput):
        HttpClient("ftp://x")
    c = HttpClient("127.0.0.1:9880/")
    assert c.url == "http://127.0.0.1:9880" and c.port == 9880


def test_find_weights(tmp_path):
    root = tmp_path / "GPT-SoVITS"
    make_checkpoint(root / "GPT_SoVITS" / "pretrained_models" / "v2Pro" / "s2Gv2ProPlus.pth",
                    version="v2ProPlus")
    make_checkpoint(root / "GPT_weights_v2ProPlus" / "ann-e10.ckpt")
    make_checkpoint(root / "SoVITS_weights_v2ProPlus" / "ann_e8_s96.pth", version="v2ProPlus")
    make_checkpoint(root / "SoVITS_weights_v4" / "ann_e2_s20_l16.pth", version="v4", lora_rank=16)
    (root / "SoVITS_weights_v4" / "bad.pth").write_bytes(b"?!" + bytes(10))
    df = find_weights(root, with_sha256=True)
    assert df[["kind", "name", "version", "epoch", "step", "lora_rank", "pretrained"]].astype(
        object).where(df.notna(), None).values.tolist() == [
        ["gpt", "ann-e10.ckpt", "v2ProPlus", 10, None, None, False],
        ["sovits", "ann_e2_s20_l16.pth", "v4", 2, 20, 16, False],
        ["sovits", "ann_e8_s96.pth", "v2ProPlus", 8, 96, None, False],
        ["sovits", "s2Gv2ProPlus.pth", "v2ProPlus", None, None, None, True],
    ]
    assert df.sha256.str.len().eq(64).all()
    assert [p.rsplit("/", 1)[-1] for p, _ in df.attrs["skipped"]] == ["bad.pth"]
    with pytest.raises(rasv.CheckpointError, match="not found"):
        find_weights(tmp_path / "nope")
