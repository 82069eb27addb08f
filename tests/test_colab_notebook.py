"""The Colab notebook installs rasv from one setting at its top, and says so when it cannot.

No repository is published under a fixed name, so the notebook names none: ``RASV_SOURCE``
(a git URL, a clone's folder or a wheel, e.g. in Google Drive) is the one place to say where
rasv comes from, and ``rasv_pip_spec`` turns it into pip's argument or stops with a message
that says what to set.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "colab.ipynb"


def _cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def _settings() -> dict:
    first_code = next(c for c in _cells() if c["cell_type"] == "code")
    source = "".join(first_code["source"])
    namespace: dict = {}
    exec(compile(source, "colab.ipynb:settings", "exec"), namespace)
    return namespace


def test_no_made_up_repository_is_named() -> None:
    for path in (NOTEBOOK, ROOT / "pyproject.toml", ROOT / "README.md"):
        assert "rasv-dev" not in path.read_text(encoding="utf-8"), path


def test_the_source_is_one_setting_in_the_first_cell() -> None:
    settings = _settings()
    assert "RASV_SOURCE" in settings and callable(settings["rasv_pip_spec"])
    later = "".join("".join(c["source"]) for c in _cells()[2:] if c["cell_type"] == "code")
    assert "git+https://" not in later and "rasv_pip_spec(RASV_SOURCE)" in later


def test_a_local_clone_or_wheel_becomes_a_pip_spec(tmp_path) -> None:
    spec = _settings()["rasv_pip_spec"]
    assert spec(str(ROOT)) == f"rasv[ml] @ {ROOT.as_uri()}"
    wheel = tmp_path / "rasv-0.1-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert spec(str(wheel)) == f"rasv[ml] @ {wheel.as_uri()}"


@pytest.mark.parametrize("source", ["/nowhere/rasv", "git+file:///nowhere/rasv.git", ""])
def test_an_unreachable_source_stops_with_a_clear_message(source, tmp_path) -> None:
    subprocess.run(["git", "--version"], check=True, capture_output=True)
    with pytest.raises(SystemExit) as stop:
        _settings()["rasv_pip_spec"](source)
    said = str(stop.value)
    assert "RASV_SOURCE" in said and "cannot" in said
