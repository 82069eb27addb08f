"""``rasv init`` and ``rasv sql``: create a workspace, query it."""

from __future__ import annotations

import click

from rasv.cli.base import (
    format_option,
    handle_errors,
    main,
    open_workspace,
    print_frame,
    workspace_option,
)


@main.command("init")
@click.argument("path", type=click.Path(file_okay=False), default=".")
@handle_errors
def init_cmd(path: str) -> None:
    """Create (or upgrade) a workspace folder.

    \b
    Example:
      rasv init voices
    """
    with open_workspace(path, create=True) as ws:
        click.echo(f"workspace ready: {ws.root}")


@main.command("sql")
@workspace_option
@click.argument("query")
@format_option
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
@handle_errors
def sql_cmd(workspace: str, query: str, fmt: str, as_csv: bool) -> None:
    """Run a read-only SQL query against the workspace.

    \b
    Example:
      rasv sql -w voices "SELECT category, count(*) FROM clips GROUP BY 1"
    """
    with open_workspace(workspace) as ws:
        df = ws.sql(query)
    print_frame(df, "csv" if as_csv else fmt, empty="(no rows)")
