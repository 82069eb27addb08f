"""``rasv analyze``: compute take metrics for a task and print the listen-first order."""

from __future__ import annotations

import click

from rasv.cli import base as cli


@cli.main.command("analyze")
@cli.workspace_option
@click.argument("task")
@click.option("-m", "--metric", "metrics", multiple=True,
              help="Detector or metric to compute (repeatable; default: all available).")
@click.option("--asr", "asr", default=None,
              help="ASR model folder or GPT-SoVITS root (default: $RASV_ASR_MODEL).")
@click.option("--force", is_flag=True, help="Recompute metrics that are already stored.")
@click.option("--vad", type=click.Choice(["auto", "silero", "energy"]), default="auto",
              show_default=True, help="Speech detector.")
@click.option("--top", type=int, default=20, show_default=True,
              help="How many takes of the listen-first order to print (0: none; csv and "
                   "json print them all).")
@cli.format_option
@cli.handle_errors
def analyze_cmd(workspace: str, task: str, metrics: tuple[str, ...], asr: str | None,
                force: bool, vad: str, top: int, fmt: str) -> None:
    """Analyse the finished takes of TASK (id or name) and list the ones to listen to first.

    Metrics already stored with the same detector version are reused.

    \b
    Example:
      rasv analyze -w voices 3
      rasv analyze -w voices 3 -m dnsmos -m repetition --top 10
      rasv analyze -w voices 3 --asr ~/GPT-SoVITS --format csv > order.csv
    """
    from tqdm import tqdm

    with cli.open_workspace(workspace) as ws:
        t = cli.find_task_id(ws, task)
        bar = tqdm(total=0, unit="take", disable=fmt != "table", leave=False)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            report = ws.analysis.run(t, list(metrics) or None, progress=progress, asr=asr,
                                     vad=vad, force=force)
        finally:
            bar.close()
        # The CLI prints the sentences; the message keys are for translated interfaces.
        order = ws.analysis.suspicion(t).drop(columns=["messages"])
    if fmt != "table":
        if fmt == "csv":
            order = order.assign(flags=order["flags"].map(" ".join)).drop(columns=["reasons"])
        cli.print_frame(order, fmt)
        return
    click.echo(str(report))
    for name, reason in report.skipped:
        click.echo(f"skipped {name}: {reason}")
    for take_id, reason in report.failed:
        click.echo(f"failed {take_id}: {reason}")
    if top > 0 and not order.empty:
        click.echo("\nlisten first:")
        for row in order.head(top).itertuples(index=False):
            reason = row.reason or "no flag"
            click.echo(f"{row.rank:4d}  {row.take_id[:12]}  {row.suspicion:.2f}  {reason}")
