"""Review commands: list takes, score them, roll up, long-text renders, products and packs."""

from __future__ import annotations

from typing import Any

import click

from gsv_bridge import build_engine
from rasv.cli import base as cli

_TABLE_COLUMNS = ["id", "status", "clip_name", "text", "params_label", "seed", "duration_s",
                  "dur_z", "stars", "tags"]
#: Columns that explain an order, shown in the table after the main ones when sorting by it.
_SORT_COLUMNS = {"ask": ["ask_rank", "stars_pred", "stars_low", "stars_high"],
                 "suspicion": ["listen_rank", "suspicion", "reason"]}


def parse_value(text: str) -> Any:
    """``5`` -> 5, ``0.8`` -> 0.8, ``true`` -> True, anything else stays text.

    Example:
        >>> parse_value("5"), parse_value("0.8"), parse_value("false"), parse_value("cut5")
        (5, 0.8, False, 'cut5')
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_filter(expr: str) -> tuple[str, Any]:
    """``name=value`` (equality), ``name=a,b`` (any of), ``name=lo..hi`` (range, ends optional).

    Example:
        >>> parse_filter("top_k=5,10"), parse_filter("duration=2..")
        (('top_k', [5, 10]), ('duration', (2, None)))
    """
    if "=" not in expr:
        raise click.BadParameter(f"{expr!r} is not NAME=VALUE")
    name, value = (s.strip() for s in expr.split("=", 1))
    if ".." in value:
        lo, hi = value.split("..", 1)
        return name, (parse_value(lo) if lo else None, parse_value(hi) if hi else None)
    if "," in value:
        return name, [parse_value(v) for v in value.split(",")]
    return name, parse_value(value)


@cli.main.command("takes")
@cli.workspace_option
@click.argument("task")
@click.option("--group-by", default="", help="Nesting order, e.g. clip,text,param.")
@click.option("--sort", default="duration", show_default=True,
              help="duration, score, param, plan, suspicion (after rasv analyze), ask (the takes "
                   "worth scoring next), a metric "
                   "or a column.")
@click.option("--desc", is_flag=True, help="Sort descending.")
@click.option("--filter", "filters", multiple=True, metavar="NAME=VALUE",
              help="top_k=5, top_k=5,10, duration=2..6, stars=4.., category=happy, remark=breath")
@cli.format_option
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write every column to a .csv or .parquet file.")
@cli.handle_errors
def takes_cmd(workspace: str, task: str, group_by: str, sort: str, desc: bool,
              filters: tuple[str, ...], fmt: str, as_csv: bool, output: str | None) -> None:
    """List the takes of TASK (id or name) for review, shortest first (outliers at both ends).

    The table shows the main columns (and, sorted by ask or suspicion, the ranks and
    predictions behind that order); CSV, JSON and -o files hold every column.

    \b
    Example:
      rasv takes -w voices 3 --sort duration --csv
      rasv takes -w voices 3 --sort suspicion
      rasv takes -w voices 3 --group-by text,clip --filter top_k=5,15 -o takes.parquet
    """
    kwargs = dict(parse_filter(f) for f in filters)
    groups = [g.strip() for g in group_by.split(",") if g.strip()]
    with cli.open_workspace(workspace) as ws:
        df = ws.takes.df(cli.find_task_id(ws, task), group_by=groups, sort=sort, descending=desc,
                         **kwargs)
        if output:
            from rasv.takes.namespace import write_table

            path = write_table(df, output)
            click.echo(f"{len(df)} takes written to {path}")
            return
    fmt = "csv" if as_csv else fmt
    # The message keys of the analysis reasons are for translated panels; the CLI prints reason.
    out = df.drop(columns=["messages"], errors="ignore").copy()
    for col in ("tags", "aux_ids"):
        out[col] = out[col].map(lambda t: ";".join(map(str, t)) if t is not None else "")
    if fmt == "table":
        cols = _TABLE_COLUMNS + _SORT_COLUMNS.get(sort, [])
        out = out[[c for c in cols if c in out.columns]]
        for col in ("ask_rank", "listen_rank"):  # whole numbers; unscored/unanalysed ones empty
            if col in out.columns:
                out[col] = out[col].round().astype("Int64")
        out["id"] = out["id"].str[:12]
    cli.print_frame(out, fmt, empty="no takes")


@cli.main.command("score")
@cli.workspace_option
@click.argument("take")
@click.argument("stars_arg", metavar="[STARS]", required=False, type=click.IntRange(0, 5))
@click.option("--stars", type=click.IntRange(0, 5), help="0–5 (or give STARS after TAKE).")
@click.option("--tag", "tags", multiple=True, help="电音, 复读, 吞字, 换气, 语气不对 … (repeat).")
@click.option("--remark", help="A note.")
@click.option("--rater", default="", help="Who scores.")
@cli.handle_errors
def score_cmd(workspace: str, take: str, stars_arg: int | None, stars: int | None,
              tags: tuple[str, ...], remark: str | None, rater: str) -> None:
    """Score TAKE (its id, or the first 12 characters the tables show; history is kept,
    unchanged fields carry over).

    \b
    Example:
      rasv score -w voices 3f2a9c... 4 --tag 电音 --remark "buzz at 1.2 s"
    """
    if stars_arg is not None and stars is not None and stars_arg != stars:
        raise click.UsageError(f"two star counts given: {stars_arg} and --stars {stars}")
    stars = stars if stars is not None else stars_arg
    with cli.open_workspace(workspace) as ws:
        s = ws.scores.set(cli.find_take(ws, take), stars, list(tags) if tags else None, remark,
                          rater=rater)
    click.echo(f"take {s.take_id}: {s.stars if s.stars is not None else '-'} stars"
               + (f", tags {', '.join(s.labels())}" if s.tags else ""))


@cli.main.command("rollup")
@cli.workspace_option
@click.argument("task")
@cli.format_option
@cli.handle_errors
def rollup_cmd(workspace: str, task: str, fmt: str) -> None:
    """Mean stars per value of each varied dimension of TASK (id or name), with 95 % intervals.

    \b
    Example:
      rasv rollup -w voices 3
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.scores.by_param(cli.find_task_id(ws, task))
    cli.print_frame(df, fmt, empty="nothing varies in this task")


@cli.main.command("rank")
@cli.workspace_option
@click.argument("task")
@click.option("--by", default="clip", show_default=True, help="clip, param or a parameter.")
@cli.format_option
@cli.handle_errors
def rank_cmd(workspace: str, task: str, by: str, fmt: str) -> None:
    """Rank clips or parameter values from the task's A/B votes (Bradley–Terry).

    \b
    Example:
      rasv rank -w voices 3 --by top_k
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.scores.rank(cli.find_task_id(ws, task), by=by)
    if fmt == "table" and not df["n"].any():
        click.echo("no A/B votes yet for this task (vote in the Review tab's A/B mode, or "
                   "with ws.scores.pairs)")
        return
    cli.print_frame(df, fmt)


@cli.main.command("conclude")
@cli.workspace_option
@click.argument("task")
@click.argument("text")
@cli.handle_errors
def conclude_cmd(workspace: str, task: str, text: str) -> None:
    """Save the conclusion of TASK (id or name).

    \b
    Example:
      rasv conclude -w voices 3 "k=15 wins; clip 12 is the keeper"
    """
    with cli.open_workspace(workspace) as ws:
        ws.scores.conclude(cli.find_task_id(ws, task), text)
    click.echo("saved")


@cli.main.command("longtext")
@cli.workspace_option
@click.option("--take", "take_id",
              help="Render with this take's exact configuration (id or a 12-character prefix).")
@click.option("--product", "product_id", type=int, help="…or with this product's.")
@click.option("--text", help="The long text.")
@click.option("--text-id", type=int, help="…or a text-library id.")
@click.option("--file", "text_file", type=click.Path(exists=True, dir_okay=False),
              help="…or a UTF-8 text file.")
@click.option("--lang", help="Language of the text (default: guessed).")
@click.option("--method", default="ras", show_default=True,
              type=click.Choice(["ras", "cut0", "cut1", "cut2", "cut3", "cut4", "cut5"]),
              help="Chunking rule.")
@click.option("--gap", "gap_s", default=0.0, show_default=True, help="Seconds between chunks.")
@click.option("--engine", "engine_spec", required=True,
              help="api_v2 URL (http://127.0.0.1:9880), 'espeak' or 'fake' (a test double).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Also export a zip (WAV, SRT, TXT).")
@cli.handle_errors
def longtext_cmd(workspace: str, take_id: str | None, product_id: int | None, text: str | None,
                 text_id: int | None, text_file: str | None, lang: str | None, method: str,
                 gap_s: float, engine_spec: str, output: str | None) -> None:
    """Render a long text chunk by chunk and save the joined WAV and an SRT.

    \b
    Example:
      rasv longtext -w voices --take 3f2a9c... --text-id 16 --engine http://127.0.0.1:9880
    """
    if (take_id is None) == (product_id is None):
        raise click.UsageError("give exactly one of --take or --product")
    sources = [x for x in (text, text_id, text_file) if x is not None]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of --text, --text-id or --file")
    if text_file is not None:
        from pathlib import Path

        body: str | int = Path(text_file).read_text(encoding="utf-8-sig")
    else:
        body = text if text is not None else int(text_id)  # type: ignore[arg-type]
    engine = build_engine(engine_spec)
    with cli.open_workspace(workspace) as ws:
        def progress(done: int, total: int) -> None:
            click.echo(f"\rchunk {done}/{total}", nl=False, err=True)

        source = cli.find_take(ws, take_id) if take_id is not None else product_id
        lt = ws.longtext.render(source, body, engine,
                                method=method, lang=lang, gap_s=gap_s, progress=progress)
        click.echo("", err=True)
        click.echo(f"long-text run {lt.id}: {len(lt.chunks)} chunks, {lt.duration_s:.1f} s")
        click.echo(f"audio: {ws.abspath(lt.audio_path)}")
        click.echo(f"subtitles: {ws.abspath(lt.srt_path)}")
        if output:
            click.echo(f"exported: {ws.longtext.export(lt.id, output)}")


@cli.main.command("products")
@cli.workspace_option
@click.option("--role", help="Only this role (default: every role).")
@cli.format_option
@cli.handle_errors
def products_cmd(workspace: str, role: str | None, fmt: str) -> None:
    """List finished products across roles, best first.

    \b
    Example:
      rasv products -w voices
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.products.df(role)
    if fmt == "table":
        df = df[["id", "role", "name", "category", "clip_name", "gpt", "sovits", "top_k",
                 "top_p", "temperature", "seed", "score"]]
    cli.print_frame(df, fmt, empty="no products")


@cli.main.command("save-product")
@cli.workspace_option
@click.argument("take")
@click.argument("name")
@click.option("--category", help="Default: the clip's category.")
@cli.handle_errors
def save_product_cmd(workspace: str, take: str, name: str, category: str | None) -> None:
    """Save the exact configuration of TAKE (id or prefix) as a product called NAME.

    \b
    Example:
      rasv save-product -w voices 3f2a9c... 温柔
    """
    with cli.open_workspace(workspace) as ws:
        p = ws.products.create_from_take(cli.find_take(ws, take), name, category=category)
    click.echo(f"product {p.id}: {p.name}")


@cli.main.command("export-products")
@cli.workspace_option
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The zip to write.")
@click.option("--merge", is_flag=True, help="One folder per GPT/SoVITS pair.")
@click.option("--models", "include_models", is_flag=True, help="Copy the checkpoint files.")
@cli.handle_errors
def export_products_cmd(workspace: str, ids: tuple[int, ...], output: str, merge: bool,
                        include_models: bool) -> None:
    """Export products as a zip pack (RefAudioSelectorV2 and GSVI infer_config.json).

    \b
    Example:
      rasv export-products -w voices 1 2 -o voices.zip --merge --models
    """
    with cli.open_workspace(workspace) as ws:
        path = ws.products.export(list(ids), output, merge=merge, include_models=include_models)
    click.echo(f"written {path}")


@cli.main.command("export-scores")
@cli.workspace_option
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--task", "task", help="Only this task's takes (id or name).")
@click.option("--history", is_flag=True, help="Every score event, not only the latest.")
@cli.handle_errors
def export_scores_cmd(workspace: str, output: str, task: str | None, history: bool) -> None:
    """Export scores to a .csv or .parquet file.

    \b
    Example:
      rasv export-scores -w voices scores.parquet --history
    """
    with cli.open_workspace(workspace) as ws:
        path = ws.scores.export(output, task=cli.find_task_id(ws, task) if task else None,
                                history=history)
    click.echo(f"written {path}")


@cli.main.command("recommend")
@cli.workspace_option
@click.argument("task")
@cli.format_option
@cli.handle_errors
def recommend_cmd(workspace: str, task: str, fmt: str) -> None:
    """The best clip, model pair and parameter values of TASK (id or name) so far.

    Ranked by predicted quality (the expected stars of an average take, learnt from your
    scores and the analysis metrics) with comparison intervals, the chance of being the best
    and the takes heard. Score the takes `rasv takes TASK --sort ask` lists first to settle
    it sooner (docs/predict.md).

    \b
    Example:
      rasv recommend -w voices 3
    """
    with cli.open_workspace(workspace) as ws:
        df = ws.scores.recommend(cli.find_task_id(ws, task))
    if fmt == "table" and df.attrs.get("heard"):
        clips = df[df["dimension"] == "clip"]
        sure = "confident" if df.attrs["confident"] else (
            "too close to call: every take heard" if df.attrs["heard"] >= df.attrs["takes"]
            else "not sure yet")
        if len(clips) == 1:  # as in the Review tab: no runner-up to clear, no verdict to give
            sure = "the only clip of the task"
        if not clips["n_heard"].iloc[0]:  # ranked on the prior and the metrics alone
            sure += "; none of its takes heard yet"
        click.echo(f"best clip: {clips['label'].iloc[0]} ({sure}; "
                   f"{df.attrs['heard']} of {df.attrs['takes']} takes heard)")
    elif fmt == "table":
        click.echo("no scores yet: score a few takes (rasv score) and ask again")
        return
    cli.print_frame(df, fmt)


__all__ = ["parse_filter", "parse_value"]
