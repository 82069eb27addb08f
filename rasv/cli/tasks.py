"""``rasv task create|delete``, ``rasv run`` and ``rasv status``: comparison tasks from a shell.

A task spec is a YAML file whose keys mirror :meth:`rasv.tasks.namespace.Tasks.create` (see
``docs/comparisons.md``)::

    name: top_k sweep
    engine: gpt-sovits          # the engine kind: gpt-sovits | espeak | fake
    texts:
      - 12                      # a text-library id
      - 今天天气真好。            # a plain string (language guessed)
      - [Good morning!, en]     # text and language
    clip_categories: [温柔]      # or clips: [1, 2, 3]
    gpt: 3                      # model id or registered path
    sovits: /data/gsv/SoVITS_weights_v2/bob_e8_s96.pth
    fixed: {top_p: 1.0, temperature: 1.0}
    vary: {top_k: [5, 10, 15]}
    # combos: [{top_k: 5, top_p: 0.8, temperature: 0.7}, ...]
    repeats: 3                  # or seeds: [1, 2, 3]

Engines are built here, never by the library: ``--engine http://127.0.0.1:9880`` is a
GPT-SoVITS ``api_v2`` server (``gsv_bridge.GsvApiV2``), ``--engine espeak`` the offline
espeak-ng engine, ``--engine fake[:SECONDS]`` rasv's deterministic test double.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from gsv_bridge import build_engine
from rasv.cli import base as cli
from rasv.errors import InvalidInput, RasvError
from rasv.tasks.records import TaskArgs

#: Keys a spec file may hold (the arguments of ``ws.tasks.create`` besides the role).
SPEC_KEYS = ("name", *TaskArgs.names(), "conclusion")


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a task spec file (YAML or JSON) into ``ws.tasks.create`` keyword arguments.

    Raises:
        InvalidInput: the file is unreadable, not a mapping, or has unknown keys.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "s.yaml")
        >>> _ = open(p, "w", encoding="utf-8").write("name: k\\ntexts: [你好]\\nvary: {top_k: [5, 10]}\\n")
        >>> load_spec(p)["vary"]
        {'top_k': [5, 10]}
    """
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise InvalidInput(f"cannot read the spec file {p}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise InvalidInput(f"{p} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{p} must hold a mapping of task settings (name, texts, …)")
    unknown = sorted(set(map(str, data)) - set(SPEC_KEYS))
    if unknown:
        raise InvalidInput(
            f"{p}: unknown key(s) {', '.join(unknown)}; a spec takes {', '.join(SPEC_KEYS)}"
        )
    return data


@cli.main.group("task")
def task_group() -> None:
    """Create and delete comparison tasks (see also `rasv run` and `rasv status`).

    \b
    Example:
      rasv task create -w voices 男性-张三 --spec k_sweep.yaml
    """


@task_group.command("create")
@cli.workspace_option
@click.argument("role")
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False),
              help="YAML file whose keys mirror ws.tasks.create (see docs/comparisons.md).")
@click.option("--name", help="Task name (overrides the spec's).")
@click.option("--force", is_flag=True, default=None,
              help="Keep clips outside 3-10 s and parameters the model ignores, with warnings.")
@cli.handle_errors
def task_create_cmd(workspace: str, role: str, spec_path: str, name: str | None,
                    force: bool | None) -> None:
    """Create a comparison task for ROLE from a spec file and plan its takes.

    \b
    Example:
      rasv task create -w voices 男性-张三 --spec k_sweep.yaml
      rasv run -w voices 1 --engine http://127.0.0.1:9880
    """
    import warnings

    spec = load_spec(spec_path)
    if name:
        spec["name"] = name
    if force is not None:
        spec["force"] = force
    if not spec.get("name"):
        raise InvalidInput("the task needs a name: add `name:` to the spec or pass --name")
    if "texts" not in spec:
        raise InvalidInput(f"{spec_path}: the spec needs `texts:`")
    with cli.open_workspace(workspace) as ws:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            task = ws.tasks.create(role, spec.pop("name"), spec.pop("texts"), **spec)
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
        counts = task.counts()
    click.echo(f"task {task.id} '{task.name}' (v{task.version}): {counts.total} takes, "
               f"{counts.done} already made")


@task_group.command("delete")
@cli.workspace_option
@click.argument("task")
@click.option("--force", is_flag=True, help="Also delete takes that have scores.")
@cli.handle_errors
def task_delete_cmd(workspace: str, task: str, force: bool) -> None:
    """Delete TASK (id or name); takes other tasks or scores need are kept.

    \b
    Example:
      rasv task delete -w voices 3
    """
    with cli.open_workspace(workspace) as ws:
        t = cli.find_task(ws, task)
        out = ws.tasks.delete(t, force=force)
    click.echo(f"deleted task {t.id}: {out['takes_deleted']} takes removed, "
               f"{out['takes_kept']} kept")


@cli.main.command("run")
@cli.workspace_option
@click.argument("task")
@click.option("--engine", "engines", multiple=True, required=True, metavar="URL|espeak|fake",
              help="An engine to use; repeat for several servers (one request each at a time).")
@click.option("--retries", default=3, show_default=True, help="Retries for transient errors.")
@click.option("--timeout", "take_timeout", default=600.0, show_default=True,
              help="Seconds one take may take (0: no limit).")
@click.option("--retry-failed", is_flag=True, help="Also retry takes that failed before.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Build each --engine in a Ray actor of this cluster (HOST:PORT, auto, or "
                   "local); reference clips travel to the actors' nodes by hash.")
@click.option("--per-node", type=click.IntRange(min=1), metavar="N",
              help="With --ray: N actors per --engine on every node (a loopback URL is then "
                   "each node's own server).")
@cli.handle_errors
def run_cmd(workspace: str, task: str, engines: tuple[str, ...], retries: int,
            take_timeout: float, retry_failed: bool, quiet: bool, ray_address: str | None,
            per_node: int | None) -> None:
    """Make the pending takes of TASK (id or name) with one or more engines.

    Resumable: stop it any time (Ctrl-C) and run it again; made takes are kept.

    \b
    Example:
      rasv run -w voices 1 --engine http://127.0.0.1:9880 --engine http://127.0.0.1:9881
      rasv run -w voices "k sweep" --engine espeak
      rasv run -w voices 1 --ray 10.0.0.5:6379 --engine http://127.0.0.1:9880 --per-node 1
    """
    if per_node is not None and not ray_address:
        raise InvalidInput("--per-node needs --ray ADDRESS")
    pools = []
    if ray_address:
        from gsv_bridge.ray_pool import spec_pools

        pools = spec_pools(engines, address=None if ray_address == "local" else ray_address,
                           per_node=per_node)
    try:
        built = [e for p in pools for e in p.engines] if pools else \
            [build_engine(e, i) for i, e in enumerate(engines)]
        _run(workspace, task, built, retries, take_timeout, retry_failed, quiet)
    finally:
        for p in pools:
            p.close()


def _run(workspace: str, task: str, built: list[Any], retries: int, take_timeout: float,
         retry_failed: bool, quiet: bool) -> None:
    """Run TASK with the engines built, with a progress bar; print the outcome."""
    from tqdm import tqdm

    with cli.open_workspace(workspace) as ws:
        t = cli.find_task(ws, task)
        bar = tqdm(total=0, unit="take", disable=True if quiet else None, leave=True,
                   desc=f"task {t.id}")

        def on_event(event: Any) -> None:
            if event.kind == "started":
                bar.reset(total=event.progress.todo)
            elif event.kind in ("take_done", "take_failed"):
                bar.update(1)
                if event.progress.failed:
                    bar.set_postfix(failed=event.progress.failed, refresh=False)
            elif event.kind in ("engine_down", "warning"):
                bar.write(f"{event.kind.replace('_', ' ')}: {event.engine}: {event.error}",
                          file=sys.stderr)

        try:
            run = ws.tasks.run(t, built, on_event=on_event, retries=retries,
                               take_timeout=take_timeout or None, retry_failed=retry_failed)
        except KeyboardInterrupt:
            bar.close()
            left = ws.tasks.counts(t)
            click.echo(f"cancelled: {left.todo} takes left for the next run", err=True)
            sys.exit(130)
        except RasvError:
            bar.close()
            raise
        bar.close()
        p = run.progress
        counts = ws.tasks.counts(t)
    click.echo(f"task {t.id}: made {p.done}, failed {p.failed}, already done {p.already_done}"
               f"{f', adopted {p.adopted}' if p.adopted else ''} in {p.elapsed_s:.1f} s "
               f"-> {counts.status} ({counts.done}/{counts.total} done)")


@cli.main.command("status")
@cli.workspace_option
@click.argument("task", required=False)
@click.option("--role", help="Only this role's tasks.")
@click.option("--all-versions", is_flag=True, help="Also list older versions of edited tasks.")
@click.option("--takes", is_flag=True, help="With TASK: list its takes.")
@cli.format_option
@cli.handle_errors
def status_cmd(workspace: str, task: str | None, role: str | None, all_versions: bool,
               takes: bool, fmt: str) -> None:
    """Show tasks and their progress, or one TASK's counts and failures.

    \b
    Example:
      rasv status -w voices
      rasv status -w voices 3 --takes --format csv
    """
    with cli.open_workspace(workspace) as ws:
        if task is None:
            df = ws.tasks.list(role, all_versions=all_versions)
            if fmt == "table":
                df = df[["id", "role", "name", "version", "engine_kind", "varies", "status",
                         "n_takes", "n_done", "n_failed", "n_pending"]]
            cli.print_frame(df, fmt, empty="(no tasks)")
            return
        t = cli.find_task(ws, task)
        c = t.counts()
        plan = t.plan()
        if takes and fmt != "table":
            cli.print_frame(plan, fmt)
            return
        click.echo(f"task {t.id} '{t.name}' v{t.version} ({t.engine_kind}): {c.status}")
        click.echo(f"  {c.total} takes: {c.done} done, {c.failed} failed, {c.pending} pending, "
                   f"{c.running} running, {c.cancelled} cancelled")
        failed = plan[plan.status == "failed"]
        if len(failed):
            click.echo("  failures:")
            for error, n in failed.error.value_counts().items():
                click.echo(f"    {n} x {error}")
        if t.conclusion:
            click.echo(f"  conclusion: {t.conclusion}")
        if takes:
            cli.print_frame(plan[["ord", "take_id", "label", "clip_name", "text", "seed", "status",
                              "duration_s", "engine"]], fmt)
