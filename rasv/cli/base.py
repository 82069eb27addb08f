"""The click group, the shared workspace option and error handling for every command.

Example:
    >>> from click.testing import CliRunner
    >>> "Usage" in CliRunner().invoke(main, ["--help"]).output
    True
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from rasv.errors import RasvError
from rasv.takes.namespace import MIN_TAKE_PREFIX

#: Environment variable naming the default workspace folder.
WORKSPACE_ENV = "RASV_WORKSPACE"


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:  # keep registration order
        return list(self.commands)


def _version() -> str:
    from rasv import __version__

    return __version__


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
# The version comes from the package itself, not from the installed distribution's
# metadata, so `python -m rasv --version` also works from a source checkout.
@click.version_option(version=_version(), prog_name="rasv")
def main() -> None:
    """rasv: choose the reference audio, checkpoints and settings that make a GPT-SoVITS
    voice sound best.

    Most commands take the workspace folder with -w/--workspace (default: $RASV_WORKSPACE,
    else the current folder).

    \b
    Example:
      rasv init voices
      rasv -h
    """


def workspace_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-w/--workspace`` (default ``$RASV_WORKSPACE`` or the current folder)."""
    return click.option(
        "-w",
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False),
        default=lambda: os.environ.get(WORKSPACE_ENV, "."),
        show_default="$RASV_WORKSPACE or .",
        help="Workspace folder.",
    )(f)


def handle_errors(f: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one sentence on stderr and exit status 1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except RasvError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)

    return wrapper


def open_workspace(path: str, *, create: bool = False, shared: bool = True) -> Any:
    """Open the workspace a command works on; refuse to create one unless asked."""
    import rasv
    from rasv.workspace import DB_NAME

    if not create and not os.path.exists(os.path.join(path, DB_NAME)):
        raise click.UsageError(
            f"{os.path.abspath(path)} is not a rasv workspace (no {DB_NAME}); "
            "run `rasv init PATH` first or pass -w"
        )
    return rasv.open(path, shared=shared)


def find_task_id(ws: Any, ref: str | int) -> int:
    """The id of a task given as an id or by name (see :meth:`rasv.tasks.Tasks.resolve`).

    Raises:
        TaskNotFound: no task has this id or name, or several current tasks share the name.
    """
    from rasv.tasks.resolve import find_task_id as resolve_id

    return resolve_id(ws, ref)  # the rule behind ws.tasks.resolve, without reading the spec


def find_task(ws: Any, ref: str | int) -> Any:
    """The :class:`rasv.tasks.Task` given as an id or by name (``ws.tasks.resolve``)."""
    return ws.tasks.resolve(ref)


def find_take(ws: Any, ref: str) -> str:
    """The full id of a take given its id or a unique prefix (``ws.takes.resolve``).

    Raises:
        TakeNotFound: no take starts with ``ref``, or the prefix is too short.
        InvalidInput: several takes share the prefix.
    """
    return str(ws.takes.resolve(ref).id)


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--format table|csv|json`` (as ``fmt``) for commands that print a DataFrame."""
    return click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                        default="table", show_default=True, help="Output format.")(f)


def print_frame(df: Any, fmt: str, empty: str = "(none)") -> None:
    """Print a DataFrame as an aligned table, CSV or JSON records (UTF-8, ISO dates)."""
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        # pandas writes "/" as "\\/"; a round trip through json gives plain, valid JSON.
        records = json.loads(df.to_json(orient="records", date_format="iso"))
        click.echo(json.dumps(records, ensure_ascii=False))
    else:
        click.echo(df.to_string(index=False) if len(df) else empty)


__all__ = [
    "MIN_TAKE_PREFIX",
    "WORKSPACE_ENV",
    "find_take",
    "find_task",
    "find_task_id",
    "format_option",
    "handle_errors",
    "main",
    "open_workspace",
    "print_frame",
    "workspace_option",
]
