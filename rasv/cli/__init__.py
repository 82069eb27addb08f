"""The ``rasv`` command line: thin click commands over the library.

Each area keeps its commands in its own module (``rasv/cli/<area>.py``) that registers them
on :data:`main`; errors from the library become one clear sentence and exit status 1.

Example:
    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(main, ["--help"]).exit_code
    0
"""

from __future__ import annotations

import importlib

from rasv.cli.base import main

# Modules that add commands to ``main``; import order is the order in ``rasv --help``.
_COMMAND_MODULES = [
    "rasv.cli.workspace",
    "rasv.cli.clips",
    "rasv.cli.models",
    "rasv.cli.classify",
    "rasv.cli.tasks",
    "rasv.cli.review",
    "rasv.cli.analysis",
    "rasv.cli.serve",
    "rasv.cli.api",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(_name)

__all__ = ["main"]
