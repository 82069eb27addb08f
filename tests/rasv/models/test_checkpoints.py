"""Checkpoint sniffing without torch: headers, pretrained hashes, size rule, names, discovery."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest

import rasv
from rasv.models import checkpoints as ck
from rasv.testing import make_checkpoint


@pytest.mark.parametrize(
    ("tag", "version", "lora"),
    [(b"00", "v1", False), (b"01", "v2", False), (b"02", "v3", False), (b"03", "v3", True),
     (b"04", "v4", True), (b"05", "v2Pro", False), (b"06", "v2ProPlus", False)],
)
def test_header_tags(tmp_path, tag, version, lora):
    p = tmp_path / "x_e1_s2.pth"
    p.write_bytes(tag + b"\x03\x04" + bytes(100))
    assert ck.sniff_sovits_version(p) == (version, "header", lora)
    c = ck.sniff(p)
    assert (c.version, c.version_source, c.lora, c.pretrained) == (version, "header", lora, False)


def test_pretrained_md5_wins_over_header(tmp_path, monkeypatch):
    p = tmp_path / "renamed.pth"
    p.write_bytes(b"PK\x03\x04" + bytes(9000))
    digest = hashlib.md5(p.read_bytes()[:8192]).hexdigest()
    monkeypatch.setitem(ck.PRETRAINED_SOVITS_MD5, digest, ("v4", "s2Gv4.pth"))
    c = ck.sniff(p)
    assert (c.version, c.version_source, c.pretrained, c.label) == (
        "v4", "pretrained", True, "pretrained v4")


def test_known_pretrained_hashes_are_the_upstream_ones():
    # Facts from GPT-SoVITS's process_ckpt.py (hash of the first 8 KiB of each base file).
    assert ck.PRETRAINED_SOVITS_MD5["6642b37f3dbb1f76882b69937c95a5f3"][0] == "v2"
    assert ck.PRETRAINED_SOVITS_MD5["66b313e39455b57ab1b0bc0b239c9d0a"][0] == "v2ProPlus"
    assert ck.PRETRAINED_SOVITS_MD5["dc3c97e17592963677a4a1681f30c653"][0] == "v1"
    assert len(ck.PRETRAINED_SOVITS_MD5) == 6


@pytest.mark.parametrize(("size", "version"), [
    (82978 * 1024 - 1, "v1"), (82978 * 1024, "v2"), (700 * 1024 * 1024, "v3")])
def test_untagged_zip_size_rule(tmp_path, monkeypatch, size, version):
    p = tmp_path / "old.pth"
    p.write_bytes(b"PK\x03\x04" + bytes(100))
    monkeypatch.setattr(ck.os.path, "getsize", lambda _: size)  # no 700 MB file on disk
    assert ck.sniff_sovits_version(p) == (version, "size", False)


def test_unknown_or_short_or_missing_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"hello, not a checkpoint")
    with pytest.raises(rasv.CheckpointError, match="not a GPT-SoVITS SoVITS checkpoint"):
        ck.sniff(bad)
    short = tmp_path / "short.pth"
    short.write_bytes(b"01")
    with pytest.raises(rasv.CheckpointError, match="too short"):
        ck.sniff(short)
    with pytest.raises(rasv.CheckpointError, match="not found"):
        ck.sniff(tmp_path / "missing.ckpt")
    with pytest.raises(rasv.CheckpointError, match="end in .ckpt"):
        ck.sniff(tmp_path / "weights.bin")
    gpt = tmp_path / "g-e1.ckpt"
    gpt.write_bytes(b"01 not a zip at all")
    with pytest.raises(rasv.CheckpointError, match="not a torch file"):
        ck.sniff(gpt)
    assert isinstance(rasv.CheckpointError("x"), rasv.InvalidInput)


@pytest.mark.parametrize(("name", "expected"), [
    ("ann_e8_s96.pth", ("ann", 8, 96, None)),
    ("my_voice_e3_e10_s200_l32.pth", ("my_voice_e3", 10, 200, 32)),
    ("张三 v2_e15_s1500.pth", ("张三 v2", 15, 1500, None)),
    ("voice3e-e12.ckpt", ("voice3e", 12, None, None)),
    ("a-b-c-e7.ckpt", ("a-b-c", 7, None, None)),
    ("s2G2333k.pth", (None, None, None, None)),
    ("s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", (None, None, None, None)),
])
def test_names_parse_from_the_end(name, expected):
    f = ck.parse_name(name)
    assert (f["experiment"], f["epoch"], f["step"], f["lora_rank"]) == expected


def test_gpt_version_from_pickle_without_torch(tmp_path):
    v1 = ck.sniff(make_checkpoint(tmp_path / "old-e3.ckpt", version="v1"))
    v2 = ck.sniff(make_checkpoint(tmp_path / "new-e4.ckpt", version="v2"))
    assert (v1.version, v1.version_source, v1.epoch) == ("v1", "config", 3)
    assert (v2.version, v2.version_source) == ("v2", "config")
    # Renamed: the epoch still comes from the checkpoint's info string.
    renamed = tmp_path / "favourite.ckpt"
    os.replace(tmp_path / "new-e4.ckpt", renamed)
    assert ck.sniff(renamed).epoch == 4


def test_gpt_folder_refines_a_v2_family_reading(tmp_path):
    p = make_checkpoint(tmp_path / "GPT_weights_v2ProPlus" / "ann-e9.ckpt", version="v2")
    c = ck.sniff(p)
    assert (c.version, c.version_source) == ("v2ProPlus", "folder")
    # A v1 vocabulary is not overruled by a folder name.
    p1 = make_checkpoint(tmp_path / "GPT_weights_v2" / "old-e1.ckpt", version="v1")
    assert ck.sniff(p1).version == "v1"


def test_tagged_sovits_pickle_is_read_through_the_tag(tmp_path):
    p = make_checkpoint(tmp_path / "renamed.pth", version="v4", lora_rank=16, info="3epoch_9iteration")
    c = ck.sniff(p)
    assert (c.version, c.lora, c.lora_rank, c.epoch, c.step) == ("v4", True, 16, 3, 9)


def test_real_torch_checkpoint_when_torch_is_installed(tmp_path):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"weight": {"w": torch.zeros(2)}, "config": {"model": {"phoneme_vocab_size": 732}},
                "info": "GPT-e21"}, buf)
    p = tmp_path / "x.ckpt"
    p.write_bytes(buf.getvalue())
    assert (ck.sniff(p).version, ck.sniff(p).epoch) == ("v2", 21)
    buf = io.BytesIO()
    torch.save({"weight": {"w": torch.zeros(2)}, "config": {}, "info": "5epoch_50iteration",
                "lora_rank": 8}, buf)
    q = tmp_path / "y.pth"
    q.write_bytes(b"04" + buf.getvalue()[2:])
    c = ck.sniff(q)
    assert (c.version, c.lora_rank, c.epoch, c.step) == ("v4", 8, 5, 50)


def test_pickle_is_never_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    p = tmp_path / "evil-e1.ckpt"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"info": "GPT-e1", "x": Boom()}))
    assert ck.sniff(p).epoch == 1
    assert not (tmp_path / "pwned").exists()


def test_sha256_is_streamed_and_optional(tmp_path):
    p = make_checkpoint(tmp_path / "a_e1_s1.pth")
    assert ck.sniff(p).sha256 is None
    assert ck.sniff(p, with_sha256=True).sha256 == hashlib.sha256(Path(p).read_bytes()).hexdigest()


def _gsv_root(tmp_path):
    root = tmp_path / "GPT-SoVITS"
    pm = root / "GPT_SoVITS" / "pretrained_models"
    make_checkpoint(pm / "gsv-v2final-pretrained" / "s2G2333k.pth", version="v2")
    make_checkpoint(pm / "s1v3.ckpt", version="v2")
    make_checkpoint(pm / "gsv-v4-pretrained" / "vocoder.pth", version="v2")  # not a SoVITS
    (pm / "sv").mkdir()
    (pm / "sv" / "pretrained_eres2netv2w24s4ep4.ckpt").write_bytes(b"PK\x03\x04" + bytes(10))
    make_checkpoint(root / "GPT_weights_v2ProPlus" / "ann-e10.ckpt")
    make_checkpoint(root / "SoVITS_weights_v2ProPlus" / "ann_e8_s96.pth", version="v2ProPlus")
    make_checkpoint(root / "SoVITS_weights_v2ProPlus" / "bob_e4_s40.pth", version="v2ProPlus")
    (root / "SoVITS_weights_v2ProPlus" / "notes.txt").write_text("x")
    (root / "SoVITS_weights_v2ProPlus" / "broken.pth").write_bytes(b"zz" + bytes(10))
    make_checkpoint(root / "logs" / "ann" / "logs_s2" / "G_233.pth", version="v2")  # training state
    return root


def test_discover_a_gsv_root(tmp_path):
    root = _gsv_root(tmp_path)
    found, skipped = ck.discover(root)
    names = sorted(c.name for c in found)
    assert names == ["ann-e10.ckpt", "ann_e8_s96.pth", "bob_e4_s40.pth", "s1v3.ckpt",
                     "s2G2333k.pth"]
    pre = {c.name: c for c in found if c.pretrained}
    assert set(pre) == {"s1v3.ckpt", "s2G2333k.pth"}
    assert pre["s1v3.ckpt"].version == "v3" and pre["s2G2333k.pth"].version == "v2"
    assert [os.path.basename(p) for p, _ in skipped] == ["broken.pth"]


def test_discover_plain_folder_and_missing_source(tmp_path):
    make_checkpoint(tmp_path / "w" / "deep" / "x_e1_s2.pth")
    found, _ = ck.discover([tmp_path / "w"])
    assert [c.name for c in found] == ["x_e1_s2.pth"]
    with pytest.raises(rasv.CheckpointError, match="not found"):
        ck.discover(tmp_path / "nope")


def test_fabricated_checkpoints_do_not_depend_on_the_clock(tmp_path, monkeypatch):
    import time

    real = time.time
    a = make_checkpoint(tmp_path / "a" / "x.ckpt")
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # an hour later
    b = make_checkpoint(tmp_path / "b" / "x.ckpt")
    assert Path(a).read_bytes() == Path(b).read_bytes()


@pytest.mark.parametrize(("rows", "version"), [(322, "v1"), (732, "v2")])
def test_untagged_sovits_version_comes_from_its_text_embedding(tmp_path, rows, version):
    # GPT-SoVITS's loader counts the text embedding's rows; a small (pruned, stand-in) v2
    # file is below the v1 size threshold and must not be called v1 for it.
    p = make_checkpoint(tmp_path / "ann_e8_s96.pth", version=version, tagged=False,
                        embedding_rows=rows)
    assert os.path.getsize(p) < 82978 * 1024
    assert ck.sniff_sovits_version(p) == (version, "embedding", False)
    c = ck.sniff(p)
    assert (c.version, c.version_source, c.epoch, c.step) == (version, "embedding", 8, 96)


@pytest.mark.ml
def test_embedding_rows_of_a_real_torch_file(tmp_path):
    import torch
    state = {"weight": {"enc_p.text_embedding.weight": torch.zeros(732, 16).half(),
                        "dec.conv_pre.weight": torch.zeros(8, 8, 3)},
             "config": {"model": {"version": "v2"}}, "info": "8epoch_96iteration"}
    p = tmp_path / "voice_e8_s96.pth"
    torch.save(state, p)
    assert ck.sniff_sovits_version(p) == ("v2", "embedding", False)
    v1 = tmp_path / "old_e1_s2.pth"
    state["weight"]["enc_p.text_embedding.weight"] = torch.zeros(322, 16)
    torch.save(state, v1)
    assert ck.sniff(v1).version == "v1"
    # The trainer's header tag still decides first, as in GPT-SoVITS.
    tagged = tmp_path / "pro_e1_s2.pth"
    tagged.write_bytes(b"05" + p.read_bytes()[2:])
    assert ck.sniff_sovits_version(tagged) == ("v2Pro", "header", False)
