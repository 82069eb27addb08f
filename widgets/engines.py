"""The Engines tab: the engines tasks run on, and the checkpoints tasks compare.

Connect to a running GPT-SoVITS ``api_v2.py`` by URL, start one from a GPT-SoVITS folder
(``gsv_bridge.GsvServer``: loading takes a while, so it starts on a background thread and
the tab says when it answers), or add the offline espeak engine. Each engine shows its kind,
version and health. Below, the checkpoints of the workspace: scan a GPT-SoVITS folder for
the current role, rename them, remove them (the files are never touched).

Example:
    >>> import rasv, tempfile
    >>> from widgets.context import Context
    >>> ctx = Context(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> panel = EnginesPanel(ctx)
    >>> panel.add(engine_from_spec("fake")).name, len(ctx.engines)
    ('fake-1', 1)
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as W

from rasv.errors import InvalidInput, RasvError
from widgets.context import Context, Panel, col, row
from widgets.table import Table, column, delete_action


def engine_name(engine: Any) -> str:
    """The identity an engine records on its takes (its ``name``).

    Example:
        >>> engine_name(engine_from_spec("fake"))
        'fake-1'
    """
    return str(getattr(engine, "name", type(engine).__name__))


def engine_kind(engine: Any) -> str:
    """The engine kind (``gpt-sovits``, ``espeak``, ``fake`` …), ``?`` when it cannot say.

    Example:
        >>> engine_kind(engine_from_spec("fake"))
        'fake'
    """
    try:
        return str(engine.capabilities().kind)
    except Exception:  # an unreachable server still has a name to show
        return "?"


def engine_from_spec(spec: str, index: int = 0) -> Any:
    """Build an engine from its short form, as ``rasv run --engine`` takes it.

    ``espeak`` (the offline engine), ``fake`` or ``fake:SECONDS`` (rasv's deterministic test
    engine, named ``fake-<index + 1>``), or the URL of a GPT-SoVITS ``api_v2.py`` server.

    Raises:
        InvalidInput: anything else.

    Example:
        >>> engine_from_spec("fake").name
        'fake-1'
        >>> engine_from_spec("http://127.0.0.1:9880").name
        'http://127.0.0.1:9880'
    """
    from gsv_bridge import build_engine

    return build_engine(spec, index)


def engines_from_env(value: str | None) -> list[Any]:
    """Engines named in ``$RASV_ENGINES`` (comma-separated :func:`engine_from_spec` specs).

    Example:
        >>> [e.name for e in engines_from_env("fake, fake")]
        ['fake-1', 'fake-2']
    """
    specs = [part for part in (value or "").split(",") if part.strip()]
    return [engine_from_spec(spec, i) for i, spec in enumerate(specs)]


def health(engine: Any) -> tuple[str, str]:
    """``(state, detail)`` of an engine: ``ok`` with its version, or ``down`` with why.

    Example:
        >>> health(engine_from_spec("fake"))[0]
        'ok'
    """
    try:
        info = getattr(engine, "server_info", None)
        detail = info(refresh=True).describe() if callable(info) else ""
        caps = engine.capabilities()
        version = f"{caps.kind} {caps.version or ''}".strip()
        return "ok", ", ".join(x for x in (version, detail) if x)
    except RasvError as e:
        return "down", str(e)


class EnginesPanel(Panel):
    """Controller and view of the Engines tab."""

    tab = "tab.engines"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        self.servers: list[Any] = []  # GsvServer objects this panel started
        self._health: dict[int, tuple[str, str]] = {}
        self.table = Table([
            column("name", t("engines.col.name")),
            column("kind", t("engines.col.kind")),
            column("state", t("engines.col.state")),
            column("detail", t("engines.col.detail"), width="40%"),
            column("actions", "", "buttons", actions=[
                {"action": "check", "label": t("engines.check")},
                {"action": "remove", "label": t("engines.remove"), "danger": True},
            ]),
        ], lang=ctx.lang, page_size=20)
        self.table.on_action(ctx.guard(self._on_action))
        wide = {"layout": W.Layout(width="460px"), "style": {"description_width": "150px"}}
        self.url = W.Text(value="http://127.0.0.1:9880", description=t("engines.url"), **wide)
        self.connect_button = W.Button(description=t("engines.connect"), icon="plug")
        self.connect_button.on_click(ctx.guard(lambda _b: self.connect(self.url.value)))
        self.gsv_root = W.Text(description=t("engines.gsv_root"), placeholder="D:/GPT-SoVITS",
                               **wide)
        self.python = W.Text(description=t("engines.python"),
                             placeholder=t("engines.python_hint"), **wide)
        self.device = W.Combobox(value="cuda", options=["cuda", "cuda:0", "cuda:1", "cpu", "mps"],
                                 ensure_option=False, description=t("engines.device"),
                                 layout=W.Layout(width="300px"),
                                 style={"description_width": "150px"})
        self.port = W.BoundedIntText(value=9880, min=1024, max=65535,
                                     description=t("engines.port"),
                                     layout=W.Layout(width="300px"),
                                     style={"description_width": "150px"})
        self.start_button = W.Button(description=t("engines.start"), icon="rocket",
                                     button_style="primary")
        self.start_button.on_click(ctx.guard(lambda _b: self.start_server()))
        self.espeak_button = W.Button(description=t("engines.add_espeak"), icon="plus",
                                      layout=W.Layout(width="auto"))
        self.espeak_button.on_click(ctx.guard(lambda _b: self.add(engine_from_spec("espeak"))))
        self.server_status = W.HTML("")

        # -- checkpoints -----------------------------------------------------------------
        self.scan_root = W.Text(description=t("engines.scan_root"), placeholder="D:/GPT-SoVITS",
                                **wide)
        self.scan_button = W.Button(description=t("engines.scan"), icon="search")
        self.scan_button.on_click(ctx.guard(lambda _b: self.scan(self.scan_root.value)))
        self.models = Table([
            column("id", "#", "num", digits=0),
            column("kind", t("engines.col.kind")),
            column("version", t("engines.col.version")),
            column("label", t("engines.col.label"), "edit"),
            column("name", t("engines.col.file"), title=True),
            column("role", t("role.label")),
            column("exists", t("engines.col.exists"), "flag"),
            column("actions", "", "buttons", actions=[
                delete_action(t)]),
        ], lang=ctx.lang, page_size=50)
        self.models.on_edit(ctx.guard(self._on_model_edit))
        self.models.on_action(ctx.guard(self._on_model_action))
        self.models.observe(lambda _c: ctx.guard(self.refresh_models)(), ["page", "page_size"])

        self.widget = col([
            self.table,
            row([self.url, self.connect_button, self.espeak_button]),
            W.HTML(f"<b>{html.escape(t('engines.start_title'))}</b>"),
            self.gsv_root, self.python, row([self.device, self.port]),
            row([self.start_button, self.server_status]),
            W.HTML(f"<b>{html.escape(t('engines.checkpoints'))}</b>"),
            row([self.scan_root, self.scan_button]),
            self.models,
        ])
        self.widget.add_class("rasv-engines-panel")
        ctx.observe(lambda _c: self.paint(), "engines")
        ctx.observe(lambda _c: ctx.guard(self.refresh_models)(), "role")
        self.paint()
        self.refresh_models()
        self._check_unknown()

    # -- engines ---------------------------------------------------------------------------

    def refresh(self, *_: Any) -> None:
        self.paint()
        self.refresh_models()

    def add(self, engine: Any) -> Any:
        """Make ``engine`` available to the Run tab."""
        self._health[id(engine)] = health(engine)
        self.ctx.engines = [*self.ctx.engines, engine]
        self.ctx.say(self.t("engines.added", name=engine_name(engine)))
        return engine

    def connect(self, url: str) -> Any:
        """Connect to a running GPT-SoVITS server; refuses one that does not answer."""
        engine = engine_from_spec(url)
        state, detail = health(engine)
        if state != "ok":
            raise InvalidInput(self.t("engines.unreachable", url=url, detail=detail))
        return self.add(engine)

    def remove(self, index: int) -> None:
        engines = list(self.ctx.engines)
        engine = engines.pop(index)
        for server in list(self.servers):
            if server.engine is engine:
                server.stop()
                self.servers.remove(server)
        self.ctx.engines = engines

    def check(self, index: int) -> tuple[str, str]:
        engine = self.ctx.engines[index]
        self._health[id(engine)] = result = health(engine)
        self.paint()
        return result

    def start_server(self, *, wait: bool = False) -> Any:
        """Start GPT-SoVITS's ``api_v2.py`` from the form (in the background unless ``wait``)."""
        from gsv_bridge import GsvServer

        root = self.gsv_root.value.strip().strip('"')
        if not root:
            raise InvalidInput(self.t("engines.need_root"))
        server = GsvServer(root, port=int(self.port.value), device=self.device.value.strip(),
                           python=self.python.value.strip() or None)
        self.servers.append(server)
        self.start_button.disabled = True
        self.server_status.value = html.escape(self.t("engines.starting", url=server.url))

        def work() -> None:
            try:
                server.start()
            except RasvError as e:
                self.servers.remove(server)
                self.server_status.value = (
                    f"<span style='color:#b71c1c'>{html.escape(str(e))}</span>"
                    f"<pre style='max-height:160px;overflow:auto'>"
                    f"{html.escape(server.log_tail(20))}</pre>")
            else:
                self.server_status.value = html.escape(self.t("engines.started", url=server.url))
                self.add(server.engine)
            finally:
                self.start_button.disabled = False

        if wait:
            work()
        else:
            threading.Thread(target=work, name="rasv-start-gsv", daemon=True).start()
        return server

    def _check_unknown(self, wait: bool = False) -> None:
        """Check the health of engines given to the workbench (a server may take seconds to
        answer, so on a background thread unless ``wait``)."""
        unknown = [e for e in self.ctx.engines if id(e) not in self._health]
        if not unknown:
            return

        def work() -> None:
            for engine in unknown:
                self._health[id(engine)] = health(engine)
            self.paint()

        if wait:
            work()
        else:
            threading.Thread(target=work, name="rasv-engine-health", daemon=True).start()

    def paint(self) -> None:
        rows = []
        for i, engine in enumerate(self.ctx.engines):
            state, detail = self._health.get(id(engine), ("", ""))
            rows.append({"id": i, "name": engine_name(engine), "kind": engine_kind(engine),
                         "state": self.t(f"engines.state.{state}") if state else "",
                         "detail": detail, "_muted": state == "down"})
        self.table.set_rows(rows)

    def _on_action(self, index: Any, action: str) -> None:
        if action == "check":
            self.check(int(index))
        elif action == "remove":
            self.remove(int(index))

    # -- checkpoints -----------------------------------------------------------------------

    def refresh_models(self) -> None:
        df = self.ws.models.df(self.role) if self.role is not None else self.ws.models.df()
        total = len(df)
        self.models.set_rows(df.iloc[self.models.offset:self.models.offset + self.models.page_size],
                             total=total)

    def scan(self, root: str) -> int:
        """Register the checkpoints under a GPT-SoVITS folder for the current role."""
        found = self.ws.models.scan(self.role, root.strip().strip('"'))
        skipped = found.attrs.get("skipped", [])
        self.ctx.say(self.t("engines.scanned", n=len(found), skipped=len(skipped)),
                     "warn" if skipped else "info")
        self.refresh_models()
        return len(found)

    def _on_model_edit(self, model_id: Any, key: str, value: Any) -> None:
        if key == "label":
            self.ws.models.update(int(model_id), label=str(value))
            self.refresh_models()

    def _on_model_action(self, model_id: Any, action: str) -> None:
        if action == "delete":
            self.ws.models.delete(int(model_id))
            self.refresh_models()

    def close(self) -> None:
        """Stop the servers this panel started."""
        for server in self.servers:
            server.stop()
        self.servers.clear()


__all__ = ["EnginesPanel", "engine_kind", "engine_name", "engine_from_spec", "engines_from_env", "health"]
