"""``rasv serve`` and ``rasv demo``: the workbench as a Voilà dashboard in the browser."""

from __future__ import annotations

import os
import shlex

import click

from rasv.cli import base as cli

_LANGS = click.Choice(["zh", "en"])


@cli.main.command("serve")
@click.argument("workspace", required=False, type=click.Path(file_okay=False))
@click.option("--port", type=int, default=None,
              help="Port on 127.0.0.1 (default 8866, or the next free one).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@click.option("--lang", type=_LANGS, default=None, help="Interface language (default: locale).")
@click.option("--engine", "engines", multiple=True, metavar="URL|espeak",
              help="An engine the Run panel may use: an api_v2 URL, or 'espeak'. Repeatable.")
@cli.handle_errors
def serve_cmd(workspace: str | None, port: int | None, no_browser: bool, lang: str | None,
              engines: tuple[str, ...]) -> None:
    """Open the workbench for WORKSPACE in the browser (Voilà, bound to 127.0.0.1).

    WORKSPACE defaults to $RASV_WORKSPACE, else the current folder.

    \b
    Example:
      rasv serve voices --engine http://127.0.0.1:9880
    """
    from widgets.dashboard import serve

    path = workspace or os.environ.get(cli.WORKSPACE_ENV, ".")
    cli.open_workspace(path).close()  # refuses a folder that is not a workspace, migrates it
    raise SystemExit(serve(path, port=port, open_browser=not no_browser, lang=lang,
                           engines=engines, echo=click.echo))


@cli.main.command("demo")
@click.argument("path", required=False, type=click.Path(file_okay=False),
                default="demo-workspace")
@click.option("--no-serve", is_flag=True, help="Build the workspace, do not start the server.")
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default 8866).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser tab.")
@click.option("--lang", type=_LANGS, default=None, help="Interface language (default: locale).")
@cli.handle_errors
def demo_cmd(path: str, no_serve: bool, port: int | None, no_browser: bool,
             lang: str | None) -> None:
    """Build a demo workspace with espeak-ng voices (offline) and open it.

    The role demo-espeak gets clips in several voices, the text library a few sentences and
    a long text, and a small task rendered with the espeak engine, ready to review. Running
    it again reuses what is there.

    \b
    Example:
      rasv demo
      rasv demo /tmp/rasv-demo --no-serve
    """
    from widgets.dashboard import serve
    from widgets.demo import build_demo

    summary = build_demo(path, progress=click.echo)
    click.echo(f"demo workspace: {summary['root']} (role {summary['role']}, "
               f"{summary['clips']} clips, {summary['texts']} texts, task #{summary['task']} "
               f"with {summary['takes']} takes)")
    if no_serve:
        # A later plain `rasv serve` has no engine, so the Run tab could not render anything.
        click.echo(f"open it with: rasv serve {shlex.quote(str(summary['root']))} --engine espeak")
        return
    raise SystemExit(serve(path, port=port, open_browser=not no_browser, lang=lang,
                           engines=("espeak",), echo=click.echo))
