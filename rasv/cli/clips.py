"""``rasv roles``, ``rasv import-list``, ``rasv clips``, ``rasv export-list``, ``rasv texts``."""

from __future__ import annotations

import click
from tqdm import tqdm

from rasv.cli import base as cli
from rasv.errors import RoleNotFound


@cli.main.command("roles")
@cli.workspace_option
@click.option("--add", "add", metavar="CATEGORY-NAME", help="Create a role first.")
@cli.format_option
@cli.handle_errors
def roles_cmd(workspace: str, add: str | None, fmt: str) -> None:
    """List roles (voices) with their clip and task counts.

    \b
    Example:
      rasv roles -w voices --add 男性-张三
    """
    with cli.open_workspace(workspace) as ws:
        if add:
            role = ws.roles.create(add, exist_ok=True)
            click.echo(f"role {role.label} (id {role.id})", err=True)
        cli.print_frame(ws.roles.list(), fmt)


@cli.main.command("import-list")
@cli.workspace_option
@click.argument("role")
@click.argument("list_file", type=click.Path(dir_okay=False))
@click.option("--on-duplicate", type=click.Choice(["skip", "overwrite", "rename"]),
              default="skip", show_default=True,
              help="What to do with a clip whose file name or audio the role already has.")
@click.option("--path-map", "path_map", multiple=True, metavar="FROM=TO",
              help="Replace a path prefix, e.g. 'D:/GPT-SoVITS/=/content/GPT-SoVITS/'. Repeatable.")
@click.option("--audio-dir", type=click.Path(file_okay=False),
              help="Use only each line's file name, joined to this folder.")
@click.option("--category", help="Category for every imported clip.")
@click.option("--calibrated", is_flag=True, help="Mark the transcripts as checked by a human.")
@click.option("--no-copy", is_flag=True, help="Keep the audio where it is instead of copying it.")
@click.option("--create-role/--no-create-role", default=True, show_default=True,
              help="Create the role when it does not exist.")
@cli.handle_errors
def import_list_cmd(workspace: str, role: str, list_file: str, on_duplicate: str,
                    path_map: tuple[str, ...], audio_dir: str | None, category: str | None,
                    calibrated: bool, no_copy: bool, create_role: bool) -> None:
    """Import a GPT-SoVITS .list file (audio_path|speaker|language|text) into ROLE.

    Bad lines are reported with their line numbers and never stop the import.

    \b
    Example:
      rasv import-list -w voices 男性-张三 slicer_opt.list \\
          --path-map "D:/GPT-SoVITS/=/content/GPT-SoVITS/"
    """
    mapping = {}
    for item in path_map:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not FROM=TO", param_hint="--path-map")
        src, dst = item.split("=", 1)
        mapping[src] = dst
    with cli.open_workspace(workspace) as ws:
        # Find the role the way every other command does (a unique bare name like 张三
        # means 男性-张三); only a role that does not exist at all is created, and only
        # when the import adds a clip.
        try:
            target = ws.roles.get(role)
        except RoleNotFound:
            if not create_role:
                raise
            target = None
        bar = tqdm(total=0, unit="line", disable=None, leave=False)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            rep = ws.clips.import_list(target or role, list_file, on_duplicate=on_duplicate,
                                       path_map=mapping or None, audio_dir=audio_dir,
                                       category=category, calibrated=calibrated,
                                       copy=not no_copy, progress=progress,
                                       create_role=target is None)
        finally:
            bar.close()
    if rep.created_role:
        click.echo(f"created role {rep.created_role}", err=True)
    elif target is None:
        click.echo(f"nothing to import: role {role} was not created", err=True)
    click.echo(f"{rep.created_role or (target.label if target else role)}: {rep}")
    for line_no, reason in rep.skipped:
        click.echo(f"  line {line_no}: {reason}")


@cli.main.command("clips")
@cli.workspace_option
@click.argument("role")
@click.option("--text", help="Transcript contains (case-insensitive).")
@click.option("--name", help="File name contains.")
@click.option("--category", multiple=True, help="Only these categories. Repeatable.")
@click.option("--valid/--invalid", default=None, help="Only clips inside / outside 3–10 s.")
@click.option("--calibrated/--uncalibrated", default=None, help="Transcript checked or not.")
@click.option("--lang", multiple=True, help="Only these languages. Repeatable.")
@click.option("--sort", default="-duration_s", show_default=True,
              help="Column to sort by; prefix '-' for descending.")
@click.option("--limit", type=int, help="At most this many rows.")
@cli.format_option
@cli.handle_errors
def clips_cmd(workspace: str, role: str, text: str | None, name: str | None,
              category: tuple[str, ...], valid: bool | None, calibrated: bool | None,
              lang: tuple[str, ...], sort: str, limit: int | None, fmt: str) -> None:
    """List the clips of ROLE as a table, CSV or JSON.

    \b
    Example:
      rasv clips -w voices 男性-张三 --valid --sort name --format csv > clips.csv
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.clips.df(role, text=text, name=name, category=list(category) or None,
                         valid=valid, calibrated=calibrated, lang=list(lang) or None,
                         sort=sort, limit=limit)
    if fmt == "table":
        df = df[["id", "name", "category", "lang", "duration_s", "valid", "calibrated",
                 "score_max", "text"]].round({"duration_s": 2})
    cli.print_frame(df, fmt)


@cli.main.command("export-list")
@cli.workspace_option
@click.argument("role")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--absolute", is_flag=True, help="Write absolute paths instead of relative ones.")
@click.option("--zip", "as_zip", is_flag=True, help="Pack the folder into DEST.zip.")
@click.option("--valid-only", is_flag=True, help="Only clips inside 3–10 s.")
@click.option("--category", multiple=True, help="Only these categories. Repeatable.")
@cli.handle_errors
def export_list_cmd(workspace: str, role: str, dest: str, absolute: bool, as_zip: bool,
                    valid_only: bool, category: tuple[str, ...]) -> None:
    """Write a .list GPT-SoVITS accepts, with the audio copied under safe names.

    \b
    Example:
      rasv export-list -w voices 男性-张三 out/zhangsan --valid-only --zip
    """
    with cli.open_workspace(workspace) as ws:
        path = ws.clips.export_list(role, dest, absolute=absolute, zip=as_zip,
                                    valid=True if valid_only else None,
                                    category=list(category) or None)
    click.echo(str(path))


@cli.main.command("texts")
@cli.workspace_option
@click.option("--add", "add", multiple=True, metavar="TEXT", help="Add a text first. Repeatable.")
@click.option("--add-file", type=click.Path(dir_okay=False),
              help="Add every line of a text file (or the whole file with --long).")
@click.option("--lang", help="Language of the added texts (guessed when omitted).")
@click.option("--category", default="default", show_default=True, help="Category of added texts.")
@click.option("--long", "long_", is_flag=True, help="Added texts are long texts.")
@cli.format_option
@cli.handle_errors
def texts_cmd(workspace: str, add: tuple[str, ...], add_file: str | None, lang: str | None,
              category: str, long_: bool, fmt: str) -> None:
    """List the shared text library (and add to it).

    \b
    Example:
      rasv texts -w voices --add "今天天气真好。" --category 日常
    """
    with cli.open_workspace(workspace) as ws:
        if add:
            ws.texts.add_many(add, lang=lang, category=category, long=long_ or None)
        if add_file:
            ws.texts.add_file(add_file, lang=lang, category=category, long=long_)
        df = ws.texts.df()
    if fmt == "table":
        df = df.assign(content=df.content.str.replace("\n", " ").str.slice(0, 40))
    cli.print_frame(df, fmt)


__all__ = ["clips_cmd", "export_list_cmd", "import_list_cmd", "roles_cmd", "texts_cmd"]
