"""``rasv init`` and ``rasv sql``: create a workspace, query it."""

from __future__ import annotations

import click

from rasv.cli.base import handle_errors, main, open_workspace, workspace_option


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
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@handle_errors
def sql_cmd(workspace: str, query: str, as_csv: bool) -> None:
    """Run a read-only SQL query against the workspace.

    \b
    Example:
      rasv sql -w voices "SELECT category, count(*) FROM clips GROUP BY 1"
    """
    with open_workspace(workspace) as ws:
        df = ws.sql(query)
    click.echo(df.to_csv(index=False) if as_csv else df.to_string(index=False))
