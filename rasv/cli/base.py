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
    """The id of a task given as an id or by name (the only current task with that name).

    Raises:
        TaskNotFound: no task has this id or name, or several current tasks share the name.
    """
    from rasv.errors import TaskNotFound

    text = str(ref).strip()
    if text.isdigit():
        if not ws.store.scalar("SELECT count(*) FROM tasks WHERE id = ?", [int(text)]):
            raise TaskNotFound(int(text))
        return int(text)
    rows = ws.store.rows("SELECT id FROM tasks WHERE name = ? AND NOT archived ORDER BY id",
                         [text])
    if len(rows) == 1:
        return int(rows[0][0])
    if len(rows) > 1:
        ids = ", ".join(str(r[0]) for r in rows)
        raise TaskNotFound(text, f"several tasks are named so (ids {ids}); give the id")
    raise TaskNotFound(text)


def find_task(ws: Any, ref: str | int) -> Any:
    """The :class:`rasv.tasks.namespace.Task` given as an id or by name (see :func:`find_task_id`)."""
    return ws.tasks.get(find_task_id(ws, ref))


#: Shortest take-id prefix the CLI accepts (tables print 12 characters).
MIN_TAKE_PREFIX = 6


def find_take(ws: Any, ref: str) -> str:
    """The full id of a take given its id or a unique prefix (tables show 12 characters).

    Raises:
        TakeNotFound: no take starts with ``ref``.
        InvalidInput: the prefix is too short or several takes share it.
    """
    from rasv.errors import InvalidInput, TakeNotFound

    text = str(ref).strip().lower()
    if ws.takes.exists(text):
        return text
    if len(text) < MIN_TAKE_PREFIX:
        raise TakeNotFound(ref, f"give the take id or at least {MIN_TAKE_PREFIX} of its first "
                                "characters")
    hits = ws.store.rows("SELECT id FROM takes WHERE starts_with(id, ?) ORDER BY id LIMIT 3",
                         [text])
    if not hits:
        raise TakeNotFound(ref)
    if len(hits) > 1:
        raise InvalidInput(f"several takes start with {ref!r} ({', '.join(h[0] for h in hits)}"
                           " …); give more characters")
    return str(hits[0][0])


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
