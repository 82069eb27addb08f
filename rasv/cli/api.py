"""``rasv api``: serve the workspace's products to other apps over HTTP (OpenAI, GSVI, api_v2)."""

from __future__ import annotations

import contextlib
import os

import click

from rasv.cli import base as cli

#: Environment variable holding the API key (keeps it off the command line and `ps`).
API_KEY_ENV = "RASV_API_KEY"


@cli.main.command("api")
@click.argument("workspace", required=False, type=click.Path(file_okay=False))
@click.option("--engine", "engines", multiple=True, metavar="URL|espeak|fake",
              help="An engine to speak with: a GPT-SoVITS api_v2 URL, 'espeak' or 'fake'. "
                   "Repeat for several servers (one request in flight on each).")
@click.option("--espeak", is_flag=True, help="Add the offline espeak-ng engine (demos).")
@click.option("--gsv-root", type=click.Path(file_okay=False, exists=True), default=None,
              help="Start GPT-SoVITS api_v2 servers from this folder (with --servers).")
@click.option("--servers", type=int, default=1, show_default=True,
              help="How many servers to start from --gsv-root.")
@click.option("--device", "devices", multiple=True, metavar="cuda:N|cpu",
              help="Device of each started server (repeat once per server; default cuda).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --api-key.")
@click.option("--port", type=int, default=9881, show_default=True, help="Port to listen on.")
@click.option("--api-key", envvar=API_KEY_ENV, default=None, show_envvar=True,
              help="Require 'Authorization: Bearer KEY' on every request.")
@click.option("--max-chars", type=int, default=4096, show_default=True,
              help="The longest text one request may send.")
@click.option("--timeout", "timeout_s", type=float, default=300.0, show_default=True,
              help="Seconds a request may take, queueing included.")
@click.option("--max-queue", type=int, default=64, show_default=True,
              help="Engine jobs that may wait; beyond it clients get 503 and Retry-After.")
@cli.handle_errors
def api_cmd(workspace: str | None, engines: tuple[str, ...], espeak: bool,
            gsv_root: str | None, servers: int, devices: tuple[str, ...], host: str,
            port: int, api_key: str | None, max_chars: int, timeout_s: float,
            max_queue: int) -> None:
    """Serve WORKSPACE's products as voices to other apps (OpenAI, GSVI and api_v2 clients).

    A voice is '<role label>/<product name>'. Point an OpenAI client at
    http://HOST:PORT/v1; GSVI clients use /character_list and /tts; api_v2 clients send
    /tts?product=<id or name> with any api_v2 field. Every request is recorded in the
    workspace's api_requests table. WORKSPACE defaults to $RASV_WORKSPACE, else the
    current folder.

    \b
    Example:
      rasv api voices --engine http://127.0.0.1:9880
      rasv api voices --gsv-root D:/GPT-SoVITS --servers 2 --device cuda:0 --device cuda:1
      RASV_API_KEY=s3cret rasv api voices --engine espeak --host 0.0.0.0
    """
    from gsv_bridge import GsvServer, build_engine
    from rasv.errors import InvalidInput
    from rasv.serving import ApiServer, ApiService, is_loopback

    if not is_loopback(host) and not api_key:  # refuse before any server is started
        raise InvalidInput(f"binding {host} lets other machines use your engines; give an API "
                           f"key (--api-key or ${API_KEY_ENV}) or bind 127.0.0.1")
    built = [build_engine(e, i) for i, e in enumerate(engines)]
    if espeak:
        built.append(build_engine("espeak"))
    if not built and not gsv_root:
        raise click.UsageError("give at least one --engine URL, --espeak, or --gsv-root DIR")
    ws = cli.open_workspace(workspace or os.environ.get(cli.WORKSPACE_ENV, "."))
    with contextlib.ExitStack() as stack:
        if gsv_root:
            pool = GsvServer.pool(servers, gsv_root, devices=list(devices) or None)
            click.echo(f"starting {servers} GPT-SoVITS server(s) from {gsv_root} …")
            stack.enter_context(pool)
            built += pool.engines
        service = ApiService(ws, built, max_chars=max_chars, timeout_s=timeout_s,
                             max_queue=max_queue)
        server = ApiServer(service, host=host, port=port, api_key=api_key)
        voices = service.servable()
        click.echo(f"serving {len(voices)} voice(s) on {server.url} with {len(built)} "
                   f"engine(s); OpenAI base_url {server.url}/v1; Ctrl+C stops")
        for v in voices[:20]:
            click.echo(f"  {v.voice}")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    ws.close()
