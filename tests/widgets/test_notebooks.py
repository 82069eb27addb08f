"""Every notebook in ``notebooks/`` runs top to bottom on the demo workspace (nbclient)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, demo_ws, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    ws = tmp_path / "ws"
    shutil.copytree(demo_ws, ws)  # notebooks may write; the shared demo stays as built
    monkeypatch.setenv("RASV_WORKSPACE", str(ws))
    monkeypatch.setenv("RASV_LANG", "en")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(path, as_version=4)
    # iopub_timeout: how long the outputs may lag a cell's reply (default 4 s; a busy machine
    # can exceed it, and the late outputs were dropped). Waiting ends when they came.
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", iopub_timeout=60,
                                     startup_timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    # the last cell of every notebook leaves something to look at
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last.outputs, f"{path.name}: the last cell shows nothing"
