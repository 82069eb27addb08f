"""Shared fixtures: a fresh workspace per test, every workspace closed afterwards; fake
GPT-SoVITS servers."""

from __future__ import annotations

import pytest

import rasv
from rasv.testing import FakeGsvServer, make_checkpoint
from rasv.workspace import Workspace

_opened: list[Workspace] = []
_original_init = Workspace.__init__


def _tracking_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    _original_init(self, *args, **kwargs)
    _opened.append(self)


Workspace.__init__ = _tracking_init  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _close_workspaces():
    """Close every workspace a test opened, so no test leaks a DuckDB file lock."""
    yield
    while _opened:
        _opened.pop().close()


@pytest.fixture
def ws(tmp_path):
    """A new, empty workspace in a temporary folder."""
    return rasv.open(tmp_path / "ws")


@pytest.fixture
def role(ws):
    """A role named 男性-张三 in the ``ws`` workspace."""
    return ws.roles.create("男性-张三")


@pytest.fixture
def gsv_root(tmp_path):
    """(models tests) A GPT-SoVITS folder with two pretrained bases, four trained checkpoints and one junk file."""
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


@pytest.fixture
def fakes():
    """Two fake GPT-SoVITS api_v2 servers (threads, no latency), stopped after the test."""
    servers = [FakeGsvServer(latency_s=0.0).start() for _ in range(2)]
    yield servers
    for s in servers:
        s.stop()
