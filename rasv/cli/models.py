"""``rasv models scan`` and ``rasv models list``: the checkpoints a workspace compares."""

from __future__ import annotations

import click

from rasv.cli import base as cli

_SHOWN = ["id", "kind", "version", "label", "experiment", "epoch", "step", "lora_rank",
          "pretrained", "role", "exists", "path"]


@cli.main.group("models")
def models_group() -> None:
    """GPT and SoVITS checkpoints: scan a GPT-SoVITS folder, list what is known.

    \b
    Example:
      rasv models scan -w voices 女声-ann D:/GPT-SoVITS --experiment ann
      rasv models list -w voices --role 女声-ann
    """


@models_group.command("scan")
@cli.workspace_option
@click.argument("role")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--experiment", default=None,
              help="Only fine-tunes of this experiment (a name or a glob like 'ann*').")
@click.option("--no-pretrained", is_flag=True, help="Leave out the pretrained base models.")
@cli.handle_errors
def scan_cmd(workspace: str, role: str, sources: tuple[str, ...], experiment: str | None,
             no_pretrained: bool) -> None:
    """Add or refresh the checkpoints under a GPT-SoVITS root (or folders) for ROLE.

    Versions are read from the files' headers; experiment, epoch and step from their names.
    Unchanged files are not read again.

    \b
    Example:
      rasv models scan -w voices 女声-ann ~/GPT-SoVITS --experiment ann
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.models.scan(role, list(sources), experiment=experiment,
                            pretrained=not no_pretrained)
    click.echo(f"{len(df)} checkpoints ({(df.kind == 'gpt').sum()} GPT, "
               f"{(df.kind == 'sovits').sum()} SoVITS)")
    if len(df):
        click.echo(df[_SHOWN].to_string(index=False))
    for path, reason in df.attrs.get("skipped", []):
        click.echo(f"skipped {path}: {reason}", err=True)


@models_group.command("list")
@cli.workspace_option
@click.option("--role", default=None, help="Only this role's fine-tunes (plus shared bases).")
@click.option("--kind", type=click.Choice(["gpt", "sovits"]), default=None)
@cli.format_option
@cli.handle_errors
def list_cmd(workspace: str, role: str | None, kind: str | None, fmt: str) -> None:
    """List the checkpoints the workspace knows.

    \b
    Example:
      rasv models list -w voices --kind sovits --format csv
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.models.df(role=role, kind=kind)
    cli.print_frame(df if fmt != "table" else df[_SHOWN], fmt,
                empty="no checkpoints yet: run `rasv models scan ROLE GSV_ROOT`")
