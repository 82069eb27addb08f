"""Fixtures shared by the tests of several rasv subpackages."""

from __future__ import annotations

import pytest

from rasv.testing import make_checkpoint


@pytest.fixture
def gsv_root(tmp_path):
    """A GPT-SoVITS folder with two pretrained bases, four trained checkpoints and one junk file."""
    root = tmp_path / "GPT-SoVITS"
    pm = root / "GPT_SoVITS" / "pretrained_models"
    make_checkpoint(pm / "gsv-v2final-pretrained" / "s2G2333k.pth", version="v2")
    make_checkpoint(pm / "gsv-v2final-pretrained" /
                    "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", version="v2")
    for e, s in ((4, 40), (8, 96)):
        make_checkpoint(root / "SoVITS_weights_v2ProPlus" / f"ann_e{e}_s{s}.pth",
                        version="v2ProPlus")
    make_checkpoint(root / "GPT_weights_v2ProPlus" / "ann-e10.ckpt")
    make_checkpoint(root / "SoVITS_weights_v2ProPlus" / "bob_e2_s20.pth", version="v2ProPlus")
    (root / "SoVITS_weights_v2ProPlus" / "junk.pth").write_bytes(b"not a model")
    return root
