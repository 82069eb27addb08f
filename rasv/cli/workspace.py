"""``rasv init`` and ``rasv sql``: create a workspace, query it."""

from __future__ import annotations

import click

from rasv.cli import base as cli


@cli.main.command("init")
@click.argument("path", type=click.Path(file_okay=False), default=".")
@cli.handle_errors
def init_cmd(path: str) -> None:
    """Create (or upgrade) a workspace folder.

    \b
    Example:
      rasv init voices
    """
    with cli.open_workspace(path, create=True) as ws:
        click.echo(f"workspace ready: {ws.root}")


@cli.main.command("sql")
@cli.workspace_option
@click.argument("query")
@cli.format_option
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
@cli.handle_errors
def sql_cmd(workspace: str, query: str, fmt: str, as_csv: bool) -> None:
    """Run a read-only SQL query against the workspace.

    \b
    Example:
      rasv sql -w voices "SELECT category, count(*) FROM clips GROUP BY 1"
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.sql(query)
    cli.print_frame(df, "csv" if as_csv else fmt, empty="(no rows)")
