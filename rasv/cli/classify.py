"""``rasv embed``, ``rasv similar``, ``rasv cluster``, ``rasv split``, ``rasv suggest-cuts``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click
from tqdm import tqdm

from rasv.cli import base as cli


def _backend_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--device", default="auto", show_default=True,
                     help="Where the model runs: auto (a GPU when there is one), cpu, cuda.")(f)
    f = click.option("--model-dir", type=click.Path(file_okay=False),
                     help="A ModelScope CAM++/ERes2Net model folder (for --backend modelscope).")(f)
    f = click.option("--gsv-root", type=click.Path(file_okay=False),
                     help="A GPT-SoVITS folder with the v2Pro SV model (for --backend gsv).")(f)
    return click.option(
        "--backend", default="auto", show_default=True,
        help="Speaker model: auto, resemblyzer, gsv, campplus, eres2net, eres2netv2, "
             "modelscope, a ModelScope id, or module:Class.")(f)


def _backend(backend: str, gsv_root: str | None, model_dir: str | None, device: str) -> Any:
    from rasv.classify.embeddings import get_backend

    return get_backend(backend, gsv_root=gsv_root, model_dir=model_dir,
                       device=None if device == "auto" else device)


class _Bar:
    """A tqdm bar fed by the library's ``progress(done, total)`` callbacks."""

    def __init__(self, unit: str) -> None:
        self.bar = tqdm(total=0, unit=unit, disable=None, leave=False)

    def __call__(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


@cli.main.command("embed")
@cli.workspace_option
@click.argument("role")
@_backend_options
@click.option("--batch-size", type=int, help="Clips per model call (default: the model's).")
@cli.handle_errors
def embed_cmd(workspace: str, role: str, backend: str, gsv_root: str | None,
              model_dir: str | None, device: str, batch_size: int | None) -> None:
    """Compute and cache the speaker embeddings of ROLE's clips.

    Cached clips are skipped, so running it again after adding clips only embeds the new
    ones. Similarity and clustering do this on their own; run it ahead to pay the cost once.

    \b
    Example:
      rasv embed -w voices 男性-张三
      rasv embed -w voices 男性-张三 --backend gsv --gsv-root D:/GPT-SoVITS
    """
    with cli.open_workspace(workspace) as ws:
        b = _backend(backend, gsv_root, model_dir, device)
        with _Bar("clip") as bar:
            rep = ws.classify.embed(role, backend=b, progress=bar, batch_size=batch_size)
    click.echo(str(rep))
    for clip_id, reason in rep.failed:
        click.echo(f"  clip {clip_id}: {reason}")


@cli.main.command("similar")
@cli.workspace_option
@click.argument("clip_id", type=int)
@click.option("--category", "categories", multiple=True,
              help="Compare with these categories only (default: the whole role). Repeatable.")
@_backend_options
@click.option("--top", type=int, help="Show only the N most similar clips.")
@click.option("--histogram", is_flag=True, help="Print the 0.1-wide score histogram instead.")
@click.option("--assign", "assign_to", metavar="CATEGORY",
              help="Move every compared clip scoring at least --threshold into CATEGORY.")
@click.option("--threshold", type=float, help="Similarity threshold for --assign.")
@cli.format_option
@cli.handle_errors
def similar_cmd(workspace: str, clip_id: int, categories: tuple[str, ...], backend: str,
                gsv_root: str | None, model_dir: str | None, device: str, top: int | None,
                histogram: bool, assign_to: str | None, threshold: float | None, fmt: str) -> None:
    """Rank the clips of CLIP_ID's role by speaker similarity to it.

    \b
    Example:
      rasv similar -w voices 12 --category default --top 20
      rasv similar -w voices 12 --histogram
      rasv similar -w voices 12 --assign 温柔 --threshold 0.82
    """
    if (assign_to is None) != (threshold is None):
        raise click.UsageError("--assign and --threshold go together")
    with cli.open_workspace(workspace) as ws:
        b = _backend(backend, gsv_root, model_dir, device)
        with _Bar("clip") as bar:
            sim = ws.classify.similar_to(clip_id, categories=list(categories) or None,
                                         backend=b, progress=bar)
        if assign_to is not None:
            moved = ws.classify.assign_similar(clip_id, threshold, assign_to,
                                               categories=list(categories) or None, backend=b)
            click.echo(f"moved {len(moved)} clips into {assign_to}")
            return
    if histogram:
        cli.print_frame(sim.histogram()[["label", "count", "first_rank"]], fmt)
        return
    out = sim.head(top) if top else sim
    if fmt == "table":
        out = out[["rank", "clip_id", "score", "category", "duration_s", "name", "text"]]
        out = out.round({"score": 4, "duration_s": 2})
    cli.print_frame(out, fmt)


@cli.main.command("cluster")
@cli.workspace_option
@click.argument("role")
@click.option("--method", type=click.Choice(["auto", "agglomerative", "hdbscan"]),
              help="auto: groups of nearest neighbours, their number found automatically "
                   "(the default); agglomerative: average linkage cut at --threshold "
                   "(the default when --threshold is given); hdbscan: density-based.")
@click.option("--threshold", type=float,
              help="Cosine distance at which agglomerative clusters stop merging "
                   "(default: the model's).")
@click.option("--n-clusters", type=int, help="Ask for exactly this many clusters.")
@click.option("--category", "categories", multiple=True, help="Only these categories.")
@_backend_options
@click.option("--summary", is_flag=True, help="One line per cluster instead of per clip.")
@click.option("--representatives", "reps_only", is_flag=True,
              help="Print only the representative clip ids (3–10 s clips), one per line.")
@cli.format_option
@cli.handle_errors
def cluster_cmd(workspace: str, role: str, method: str | None, threshold: float | None,
                n_clusters: int | None, categories: tuple[str, ...], backend: str,
                gsv_root: str | None, model_dir: str | None, device: str, summary: bool,
                reps_only: bool, fmt: str) -> None:
    """Group ROLE's clips by voice; flag outliers; pick one representative per cluster.

    \b
    Example:
      rasv cluster -w voices 男性-张三 --summary
      rasv cluster -w voices 男性-张三 --n-clusters 4 --format csv > clusters.csv
      rasv cluster -w voices 男性-张三 --threshold 0.2
      rasv cluster -w voices 男性-张三 --representatives
    """
    if method is None:
        method = "agglomerative" if threshold is not None else "auto"
    with cli.open_workspace(workspace) as ws:
        b = _backend(backend, gsv_root, model_dir, device)
        with _Bar("clip") as bar:
            cl = ws.classify.cluster(role, method=method, threshold=threshold,
                                     n_clusters=n_clusters, backend=b,
                                     categories=list(categories) or None, progress=bar)
    if reps_only:
        for cid in cl.representatives():
            click.echo(str(cid))
        return
    if summary:
        cli.print_frame(cl.summary(), fmt)
        return
    out = cl
    if fmt == "table":
        out = cl[["cluster", "clip_id", "representative", "outlier", "d_cluster", "category",
                  "duration_s", "name"]].round({"d_cluster": 3, "duration_s": 2})
    cli.print_frame(out, fmt)


_RANGE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*-\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_segment(text: str) -> list[tuple[float, float]]:
    """``"4.1-6.0,7.2-9.9"`` → ``[(4.1, 6.0), (7.2, 9.9)]``.

    Example:
        >>> parse_segment("0-3.2")
        [(0.0, 3.2)]
    """
    regions = []
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise click.BadParameter(
                f"{part.strip()!r} is not START-END in seconds (e.g. 4.1-6.0)",
                param_hint="--segment")
        regions.append((float(m.group(1)), float(m.group(2))))
    return regions


@cli.main.command("split")
@cli.workspace_option
@click.argument("clip_id", type=int)
@click.option("--segment", "segments", multiple=True, required=True, metavar="S-E[,S-E…]",
              help="One new clip: regions in seconds, joined in this order. Repeatable.")
@cli.handle_errors
def split_cmd(workspace: str, clip_id: int, segments: tuple[str, ...]) -> None:
    """Cut CLIP_ID into new clips, one per --segment; the original stays as it is.

    New clips are named <name>-1, <name>-2 …, keep the language and category, link back
    to CLIP_ID and wait for their transcript.

    \b
    Example:
      rasv split -w voices 12 --segment 0-3.2 --segment 4.1-6.0,7.2-9.9
    """
    parsed = [parse_segment(s) for s in segments]
    with cli.open_workspace(workspace) as ws:
        ids = ws.clips.split(clip_id, parsed)
        for cid in ids:
            c = ws.clips.get(cid)
            state = "valid" if c.valid else "outside 3–10 s"
            click.echo(f"clip {c.id}: {c.name} ({c.duration_s:.2f} s, {state})")


@cli.main.command("suggest-cuts")
@cli.workspace_option
@click.argument("clip_id", type=int)
@click.option("--min", "min_s", type=float, default=3.0, show_default=True,
              help="Shortest piece, seconds.")
@click.option("--max", "max_s", type=float, default=10.0, show_default=True,
              help="Longest piece, seconds.")
@click.option("--min-silence", type=float, default=0.3, show_default=True,
              help="Shortest silence to cut in, seconds.")
@click.option("--vad", "vad_backend", type=click.Choice(["auto", "silero", "rms"]),
              default="auto", show_default=True, help="Speech detector.")
@click.option("--split", "do_split", is_flag=True, help="Split the clip into these pieces.")
@cli.handle_errors
def suggest_cuts_cmd(workspace: str, clip_id: int, min_s: float, max_s: float,
                     min_silence: float, vad_backend: str, do_split: bool) -> None:
    """Suggest 3–10 s pieces of a long clip, cut in the middle of silences.

    \b
    Example:
      rasv suggest-cuts -w voices 12
      rasv suggest-cuts -w voices 12 --split
    """
    with cli.open_workspace(workspace) as ws:
        pieces = ws.clips.suggest_cuts(clip_id, min_s=min_s, max_s=max_s,
                                       min_silence_s=min_silence, backend=vad_backend)
        if not pieces:
            click.echo("no piece fits; try a shorter --min-silence or a wider --min/--max")
            return
        for s, e in pieces:
            click.echo(f"{s:.3f}-{e:.3f}  ({e - s:.2f} s)")
        total = ws.clips.get(clip_id).duration_s
        covered = sum(e - s for s, e in pieces)
        if total - covered > max_s:
            # Speech with no long enough pause cannot be cut into pieces: say so, and how.
            click.echo(f"the pieces cover {covered:.1f} of {total:.1f} s: stretches longer "
                       f"than {max_s:g} s without a {min_silence:g} s pause are left out; try "
                       f"--min-silence {min_silence / 2:g}", err=True)
        if do_split:
            ids = ws.clips.split(clip_id, [[p] for p in pieces])
            click.echo(f"split into clips {', '.join(map(str, ids))}")


__all__ = ["cluster_cmd", "embed_cmd", "parse_segment", "similar_cmd", "split_cmd",
           "suggest_cuts_cmd"]
