"""The workbench: a role picker over one tab per panel, the whole app in one widget.

``Workbench(ws)`` shows in JupyterLab, in the Voilà dashboard (``rasv serve``) and on Colab.
A tab's panel is built the first time the tab is opened, so the first view appears fast
however many clips and takes the workspace holds.

Example:
    >>> import rasv, tempfile
    >>> wb = Workbench(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> wb.tab_names()[:1]
    ['clips']
    >>> wb.picker.choose("男性-张三").label
    '男性-张三'
"""

from __future__ import annotations

import contextlib
import html
import importlib
import inspect
import os
import threading
from typing import Any

import ipywidgets as W

import rasv
from rasv.errors import InvalidInput
from rasv.workspace import Workspace
from widgets.context import Context, Panel
from widgets.dashboard import ENGINES_ENV, WORKSPACE_ENV
from widgets.page import Page
from widgets.roles import RolePicker

#: Panels: (name, module, class). A panel is listed once its library part exists; append new
#: ones at the end (the tabs follow :data:`TAB_ORDER`, not this list).
PANELS: tuple[tuple[str, str, str], ...] = (
    ("clips", "widgets.clips", "ClipsPanel"),
    ("classify", "widgets.classify", "ClassifyPanel"),
    ("split", "widgets.split", "SplitPanel"),
    ("longtext", "widgets.longtext", "LongTextPanel"),
    ("products", "widgets.products", "ProductsPanel"),
    ("engines", "widgets.engines", "EnginesPanel"),
    ("tasks", "widgets.tasks", "TasksPanel"),
    ("run", "widgets.run", "RunPanel"),
    ("review", "widgets.review", "ReviewPanel"),
)

#: Panel modules with a ``warm_up()`` the workbench runs in the background after it appears.
WARM_UPS: tuple[str, ...] = ("widgets.review",)

#: The order of the tabs (DESIGN §8); panels not named here come last.
TAB_ORDER: tuple[str, ...] = ("clips", "classify", "split", "tasks", "run", "review", "longtext",
                              "products", "engines")


#: Seconds between two looks at the workspace file for other processes' writes: a ``stat``,
#: so cheap; the file is never held, so the CLI and other pages can write meanwhile.
WATCH_EVERY_S = 2.0

_CSS = """
<style>
.rasv-workbench { font-family: var(--jp-ui-font-family, system-ui, sans-serif); }
.rasv-header { display: flex; align-items: center; gap: 16px; padding: 4px 0 8px 0;
               border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); margin-bottom: 6px; }
.rasv-title { font-size: 16px; font-weight: 600; }
.rasv-path { color: var(--jp-ui-font-color2, #777); font-size: 12px; }
</style>
"""


class Workbench(W.VBox):
    """Every panel of rasv in one widget.

    Args:
        ws: an open workspace, or a path to open (shared, so the CLI and other kernels can
            use it at the same time).
        engines: engines for running tasks and long texts (an engine or a list).
        lang: ``zh`` or ``en``; ``None`` follows the locale (``$RASV_LANG`` overrides).
        role: the role to show first (label, id or record); default: the last one used.
        tabs: names of the panels to show (default: all of :data:`PANELS`).
        watch: inside a kernel, follow other processes' changes to the workspace (CLI
            imports, other pages, runs) every :data:`WATCH_EVERY_S` seconds, header counts
            included (elsewhere call :meth:`follow`).

    Example:
        >>> import rasv, tempfile
        >>> ws = rasv.open(tempfile.mkdtemp()); _ = ws.roles.create("a-b")
        >>> wb = Workbench(ws, lang="zh", role="a-b")
        >>> wb.ctx.role.label, wb.tabs.get_title(0)
        ('a-b', '参考音频')
    """

    def __init__(self, ws: Workspace | str | os.PathLike, *, engines: Any = None,
                 lang: str | None = None, role: Any = None,
                 tabs: list[str] | None = None, watch: bool = True) -> None:
        if not isinstance(ws, Workspace):
            ws = rasv.open(ws)
        if engines is not None and not isinstance(engines, (list, tuple)):
            engines = [engines]
        self.ws = ws
        # The baseline comes before the first read: a write by another process while the
        # widgets are built (a CLI import beside a preheating kernel) is then seen by the next
        # follow(); taken after them it would be mistaken for what the page shows, for good.
        ws.store.changed()
        self.ctx = Context(ws, lang=lang, engines=list(engines or []))
        if role is not None:
            self.ctx.role = ws.roles.get(role)
        known = [name for name, _, _ in PANELS]
        wanted = known if tabs is None else list(tabs)
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise InvalidInput(
                f"no panel named {', '.join(unknown)}; the workbench has {', '.join(known)}"
            )
        rank = {name: i for i, name in enumerate(TAB_ORDER)}
        self._specs = sorted((spec for spec in PANELS if spec[0] in wanted),
                             key=lambda spec: rank.get(spec[0], len(rank)))
        self._panels: dict[str, Panel] = {}
        self._navigating = False
        t = self.ctx.t

        self.ctx.navigator = self._navigate
        self.ctx.tabs = tuple(name for name, _, _ in self._specs)
        self.picker = RolePicker(self.ctx)
        header = W.HBox(
            [
                W.HTML(f"<span class='rasv-title'>{html.escape(t('app.title'))}</span>"),
                self.picker.widget,
                W.HTML(f"<span class='rasv-path' title='{html.escape(str(ws.root))}'>"
                       f"{html.escape(t('app.workspace'))}: {html.escape(ws.root.name)}</span>"),
            ]
        )
        header.add_class("rasv-header")
        self._slots = [W.VBox([W.HTML(t("tab.loading"))]) for _ in self._specs]
        self.tabs = W.Tab(children=self._slots)
        for i, (name, _, _) in enumerate(self._specs):
            self.tabs.set_title(i, t(f"tab.{name}"))
        self.tabs.observe(self._on_tab, "selected_index")
        # A preheated kernel built all this before the page was asked for: re-read when a
        # page connects, so it shows the workspace as it is, not as it was.
        self.page = Page()
        self.page.on_connect(self.ctx.guard(self.follow))
        super().__init__([W.HTML(_CSS), Context.style(), self.page, header, self.ctx.notice,
                          self.tabs])
        self.add_class("rasv-workbench")
        if self._specs:
            self.tabs.selected_index = 0
            self._build(0)
        self._warm_up()
        self._stop = threading.Event()
        loop = _kernel_loop()
        if watch and loop is not None:  # outside a kernel nothing draws the widgets
            self._watch(WATCH_EVERY_S, loop)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Workbench:
        """Open the workspace named by ``$RASV_WORKSPACE`` with the engines of
        ``$RASV_ENGINES`` (what ``rasv serve`` sets).

        Raises:
            InvalidInput: the workspace variable is not set, or an engine is not understood.
        """
        path = os.environ.get(WORKSPACE_ENV, "").strip()
        if not path:
            raise InvalidInput(
                f"set {WORKSPACE_ENV} to a workspace folder, or call Workbench('path/to/ws')"
            )
        if "engines" not in kwargs:
            from widgets.engines import engines_from_env

            kwargs["engines"] = engines_from_env(os.environ.get(ENGINES_ENV))
        return cls(path, **kwargs)

    # -- panels --------------------------------------------------------------------------

    def tab_names(self) -> list[str]:
        """Names of the tabs, in order."""
        return [name for name, _, _ in self._specs]

    def panel(self, name: str) -> Panel:
        """The controller of panel ``name``, building it if its tab was never opened."""
        names = self.tab_names()
        if name not in names:
            raise InvalidInput(f"no panel named {name!r}; this workbench has {', '.join(names)}")
        return self._build(names.index(name))

    def select(self, name: str) -> Panel:
        """Open the tab of panel ``name`` and return its controller."""
        names = self.tab_names()
        if name not in names:
            raise InvalidInput(f"no panel named {name!r}; this workbench has {', '.join(names)}")
        index = names.index(name)
        if self.tabs.selected_index == index:
            return self._build(index)
        self.tabs.selected_index = index  # builds it, or refreshes it if it was built before
        return self._panels[name] if name in self._panels else self._build(index)

    def _warm_up(self) -> None:
        """Prepare the slow first use of panels not shown yet, on a background thread.

        Only the modules in :data:`WARM_UPS` are touched: importing every panel here would
        compete with the first page for the interpreter.
        """
        shown = self.tab_names()[:1]
        modules = [m for name, m, _ in self._specs if m in WARM_UPS and name not in shown]

        def work() -> None:
            for module in modules:
                with contextlib.suppress(Exception):  # only a speed-up; never an error
                    importlib.import_module(module).warm_up()

        if modules:
            threading.Thread(target=work, name="rasv-warm-up", daemon=True).start()

    # -- following other processes ----------------------------------------------------------

    def follow(self) -> bool:
        """Re-read what the page shows if another process changed the workspace since the
        last look (the ``rasv`` CLI, another page, a notebook). Returns True when it did.

        Example:
            >>> import rasv, tempfile
            >>> path = tempfile.mkdtemp(); wb = Workbench(rasv.open(path), lang="en", watch=False)
            >>> with rasv.open(path) as other:
            ...     _ = other.roles.create("x-y")
            >>> wb.follow(), wb.picker.combo.options, wb.follow()
            (True, ('x-y',), False)
        """
        if not self.ws.store.changed():
            return False
        self.reread()
        return True

    def reread(self) -> None:
        """Re-read the header (roles, counts) and the open tab from the workspace."""
        self.ctx.guard(self.picker.reload)()
        index = self.tabs.selected_index
        if index is None or self._specs[index][0] not in self._panels:
            return
        panel = self._panels[self._specs[index][0]]
        # A panel may follow outside changes more gently than a full refresh (Review keeps
        # the take that plays); the default is its refresh.
        self.ctx.guard(getattr(panel, "follow", panel.refresh))()

    def _watch(self, every_s: float, loop: Any) -> None:
        """Call :meth:`follow` (and, until a page connects, :meth:`Page.keep_alive`) every
        ``every_s`` seconds on the kernel's event loop (the thread that handles the page's
        messages, so no callback runs beside it)."""

        def work() -> None:
            while not self._stop.wait(every_s):
                loop.add_callback(self.ctx.guard(self.follow))
                loop.add_callback(self.page.keep_alive)  # see Page.keep_alive

        threading.Thread(target=work, name="rasv-watch", daemon=True).start()

    def _navigate(self, name: str, **kwargs: Any) -> bool:
        if name not in self.tab_names():
            return False
        # A panel that sends the user on ("Created task 3" → Run) keeps its notice.
        self._navigating = True
        try:
            panel = self.select(name)
        finally:
            self._navigating = False
        show = getattr(panel, "show", None)
        if show is not None and kwargs:
            # Pass what the panel's show() takes; a tab that ignores an argument still opens.
            params = inspect.signature(show).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                kwargs = {k: v for k, v in kwargs.items() if k in params}
            self.ctx.guard(show)(**kwargs)
        return True

    def _build(self, index: int) -> Panel:
        name, module, cls_name = self._specs[index]
        if name not in self._panels:
            cls = getattr(importlib.import_module(module), cls_name)
            # A panel that can be filled after it is shown (``fill=False``) is: the browser
            # draws its controls while the panel reads the workspace.
            later = "fill" in inspect.signature(cls).parameters
            panel = cls(self.ctx, **({"fill": False} if later else {}))
            self._panels[name] = panel
            self._slots[index].children = [panel.widget]
            if later:
                panel.refresh()
        return self._panels[name]

    def _on_tab(self, change: dict) -> None:
        index = change["new"]
        if index is None:
            return
        name = self._specs[index][0]
        if not self._navigating:  # a notice belongs to the tab it was said in
            self.ctx.clear()
        fresh = name not in self._panels
        panel = self.ctx.guard(self._build)(index)
        if panel is not None and not fresh:
            self.ctx.guard(panel.refresh)()

    def close(self) -> None:
        """Close the widgets (the workspace stays open; close it yourself)."""
        if hasattr(self, "_stop"):
            self._stop.set()
        for panel in getattr(self, "_panels", {}).values():
            closer = getattr(panel, "close", None)
            if closer is not None:
                closer()
        super().close()


def _kernel_loop() -> Any:
    """The IPython kernel's event loop (``None`` outside a kernel, e.g. in tests)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    return getattr(kernel, "io_loop", None)


__all__ = ["ENGINES_ENV", "PANELS", "TAB_ORDER", "WATCH_EVERY_S", "WORKSPACE_ENV", "Workbench"]
