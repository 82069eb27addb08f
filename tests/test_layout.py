"""The tree keeps the shape docs/architecture.md describes (issue 11).

- ``widgets/`` and ``gsv_bridge/`` import from ``rasv`` only what a subpackage states public
  (its ``__all__``), or a top-level leaf module (``rasv.errors``, ``rasv.engine`` …);
- no module imports another module's private (``_name``) name;
- ``rasv/`` keeps at most 14 top-level modules and no module is over 800 lines.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rasv", "gsv_bridge", "widgets")


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) for every ``from rasv… import name`` in a file, lazy ones too."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.lineno, node.module, a.name) for a in node.names]
    return out


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_widgets_and_bridge_import_only_public_names() -> None:
    bad = []
    for path in _modules("widgets", "gsv_bridge"):
        for line, module, name in _imports(path):
            parts = module.split(".")
            if parts[0] != "rasv" or len(parts) < 2:
                continue
            top = importlib.import_module(".".join(parts[:2]))
            if not hasattr(top, "__path__"):  # a leaf module at the top: its own names
                if len(parts) > 2 or name.startswith("_"):
                    bad.append(f"{_rel(path)}:{line}: from {module} import {name}")
                continue
            if len(parts) > 2 or name not in getattr(top, "__all__", ()):
                bad.append(f"{_rel(path)}:{line}: from {module} import {name} "
                           f"(import it from {'.'.join(parts[:2])}, listed in its __all__)")
    assert not bad, "\n".join(bad)


def test_no_private_name_crosses_a_module() -> None:
    bad = [f"{_rel(path)}:{line}: from {module} import {name}"
           for path in _modules(*PACKAGES)
           for line, module, name in _imports(path)
           if module.split(".")[0] in PACKAGES and name.startswith("_")
           and name != "__version__"]
    assert not bad, "\n".join(bad)


def test_top_level_stays_small() -> None:
    top = [p.name for p in (ROOT / "rasv").glob("*.py")
           if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 14, sorted(top)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_800_lines(package: str) -> None:
    long = {_rel(p): n for p in _modules(package)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800}
    assert not long, long


def test_every_subpackage_states_its_public_names() -> None:
    for init in sorted((ROOT / "rasv").glob("*/__init__.py")):
        module = importlib.import_module(f"rasv.{init.parent.name}")
        assert module.__doc__ and getattr(module, "__all__", None), init.parent.name
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, (init.parent.name, missing)
