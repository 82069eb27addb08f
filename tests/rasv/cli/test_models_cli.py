"""`rasv models scan` and `rasv models list`."""

from __future__ import annotations

from click.testing import CliRunner

import rasv
from rasv.cli import main
from rasv.testing import make_checkpoint


def _gsv_root(tmp_path):
    root = tmp_path / "GPT-SoVITS"
    make_checkpoint(root / "GPT_SoVITS" / "pretrained_models" / "gsv-v2final-pretrained" /
                    "s2G2333k.pth", version="v2")
    make_checkpoint(root / "GPT_SoVITS" / "pretrained_models" / "gsv-v2final-pretrained" /
                    "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt", version="v2")
    for e, s in ((4, 40), (8, 96)):
        make_checkpoint(root / "SoVITS_weights_v2ProPlus" / f"ann_e{e}_s{s}.pth",
                        version="v2ProPlus")
    make_checkpoint(root / "GPT_weights_v2ProPlus" / "ann-e10.ckpt")
    make_checkpoint(root / "SoVITS_weights_v2ProPlus" / "bob_e2_s20.pth", version="v2ProPlus")
    (root / "SoVITS_weights_v2ProPlus" / "junk.pth").write_bytes(b"not a model")
    return root


def test_cli_scan_and_list(tmp_path):
    gsv_root = _gsv_root(tmp_path)
    runner = CliRunner()
    wsdir = str(tmp_path / "ws")
    assert runner.invoke(main, ["init", wsdir]).exit_code == 0
    with rasv.open(wsdir) as ws:
        ws.roles.create("女声-ann")
    res = runner.invoke(main, ["models", "scan", "-w", wsdir, "女声-ann", str(gsv_root),
                               "--experiment", "ann"])
    assert res.exit_code == 0, res.output
    assert "5 checkpoints (2 GPT, 3 SoVITS)" in res.output
    assert "junk.pth" in res.output  # reported as skipped on stderr
    res = runner.invoke(main, ["models", "list", "-w", wsdir, "--kind", "sovits", "--format", "csv"])
    assert res.exit_code == 0 and res.output.count("\n") == 4 and "ann_e8_s96.pth" in res.output
    res = runner.invoke(main, ["models", "scan", "-w", wsdir, "nobody", str(gsv_root)])
    assert res.exit_code == 1 and "role nobody does not exist" in res.output
