"""A real GPT-SoVITS (the PyPI fork, random-init weights) for the ``gsv`` tests.

Installing it takes minutes the first time (cached under ``~/.cache/rasv-gsv`` after that);
a missing piece fails these tests loudly, it never skips them. Servers are started once per
session and shared: starting one loads the whole pipeline.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import rasv
from gsv_bridge import GsvApiV2, GsvInProcess, GsvServer
from gsv_bridge.server import free_port, terminate
from rasv.audio import write_wav
from rasv.testing import real_gsv


@pytest.fixture(scope="session")
def gsv():
    """The installed fork, its data folders and weights (see :mod:`rasv.testing.real_gsv`)."""
    install = real_gsv.install()
    print(f"\nGPT-SoVITS test install: venv {install.timings['venv_s']:.0f} s, "
          f"weights {install.timings['build_s']:.0f} s", file=sys.stderr)
    return install


@pytest.fixture(scope="session")
def refs(tmp_path_factory):
    """Two speech-like reference clips (4.5 s and 5 s) and a broken one."""
    d = tmp_path_factory.mktemp("refs")
    out = {}
    for name, seconds, f0 in (("a", 4.5, 170.0), ("b", 5.0, 120.0)):
        sr = 32000
        t = np.arange(int(seconds * sr)) / sr
        rng = np.random.default_rng(int(f0))
        x = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        x += 0.05 * rng.standard_normal(t.size)
        write_wav(d / f"{name}.wav", x.astype(np.float32), sr)
        out[name] = str(d / f"{name}.wav")
    return out


def _server_kwargs(gsv, tmp_path_factory, name):
    return dict(python=gsv.python, device="cpu", env=gsv.env, startup_timeout=600,
                workdir=tmp_path_factory.mktemp(name), engine_options={"timeout": 300})


@pytest.fixture(scope="session")
def gsv_server(gsv, tmp_path_factory):
    """``GsvServer`` on the pip-style folder (code in site-packages, data apart)."""
    g, s = gsv.weights["v2"]
    with GsvServer(gsv.root, gpt=g, sovits=s, **_server_kwargs(gsv, tmp_path_factory, "srv")) as srv:
        yield srv


@pytest.fixture(scope="session")
def hand_server(gsv, tmp_path_factory):
    """``api_v2.py`` started the way a user starts it (checkout folder, its own config)."""
    work = tmp_path_factory.mktemp("hand")
    cfg = work / "tts_infer.yaml"
    cfg.write_text((gsv.checkout / "GPT_SoVITS/configs/tts_infer.yaml").read_text()
                   .replace(str(gsv.root), str(gsv.checkout)), encoding="utf-8")
    port = free_port()
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(gsv.python), "api_v2.py", "-a", "127.0.0.1", "-p", str(port),
                             "-c", str(cfg)], cwd=gsv.checkout, env={**os.environ, **gsv.env},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    eng = GsvApiV2(f"http://127.0.0.1:{port}", timeout=300)
    try:
        eng.wait_ready(600, alive=lambda: proc.poll() is None)
    except rasv.EngineUnavailable:
        terminate(proc)
        log.close()
        pytest.fail("api_v2.py did not start:\n" + (work / "server.log").read_text()[-3000:])
    yield eng
    terminate(proc)
    log.close()


@pytest.fixture(scope="session")
def pool(gsv, tmp_path_factory):
    """Two ``GsvServer`` processes on the checkout-style folder."""
    g, s = [gsv.in_root(gsv.checkout, p) for p in gsv.weights["v2"]]
    kw = _server_kwargs(gsv, tmp_path_factory, "pool")
    kw.pop("workdir")
    with GsvServer.pool(2, gsv.checkout, gpt=g, sovits=s, **kw) as p:
        yield p


@pytest.fixture(scope="session")
def inproc_pip(gsv):
    """``GsvInProcess`` on the pip-style folder."""
    g, s = gsv.weights["v2"]
    with GsvInProcess(gsv.root, python=gsv.python, device="cpu", env=gsv.env, gpt=g, sovits=s,
                      timeout=300, startup_timeout=600) as eng:
        yield eng


@pytest.fixture(scope="session")
def inproc_checkout(gsv):
    """``GsvInProcess`` on the checkout-style folder."""
    g, s = [gsv.in_root(gsv.checkout, p) for p in gsv.weights["v2"]]
    with GsvInProcess(gsv.checkout, python=gsv.python, device="cpu", env=gsv.env, gpt=g,
                      sovits=s, timeout=300, startup_timeout=600) as eng:
        yield eng
