"""What every panel of a workbench shares: the workspace, the current role, the engines, the
interface language and one notice line for results and errors.

Panels never show a traceback: a :class:`~rasv.RasvError` from the library becomes one
sentence in the notice line (:meth:`Context.guard`), and the panel stays usable.

Example:
    >>> import rasv, tempfile
    >>> ctx = Context(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> ctx.run(lambda: ctx.ws.roles.get("nobody"))
    >>> ctx.notice.value
    '<div class="rasv-notice rasv-notice-error">Error: role nobody does not exist in this workspace</div>'
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets as W
import traitlets

from rasv.errors import IgnoredParams, NotFound, RasvError, WorkspaceLocked
from rasv.records import Role
from widgets.i18n import MESSAGES, Translator

if TYPE_CHECKING:
    from rasv.workspace import Workspace

log = logging.getLogger("rasv.widgets")
T = TypeVar("T")

_CSS = """
<style>
.rasv-row { gap: 6px; align-items: center; flex-wrap: wrap; }
.rasv-col { gap: 6px; }
table.rasv-engines { border-collapse: collapse; font-size: 13px; }
table.rasv-engines th, table.rasv-engines td { padding: 3px 12px 3px 0; text-align: left; }
.rasv-notice { padding: 4px 10px; border-radius: 4px; font-size: 13px; }
.rasv-notice-info { background: #e8f5e9; color: #1b5e20; }
.rasv-notice-error { background: #ffebee; color: #b71c1c; }
.rasv-notice-warn { background: #fff8e1; color: #8d6e00; }
</style>
"""


class Context(traitlets.HasTraits):
    """Shared state of one workbench.

    Traits: ``role`` (the current :class:`~rasv.Role` or None), ``engines`` (engines the Run
    and Long text panels may use). Panels observe them, e.g.
    ``ctx.observe(self.refresh, "role")``.

    Args:
        ws: the open workspace.
        lang: ``zh`` / ``en`` (``None``: from the locale).
        engines: engines available to run tasks (``rasv.Engine`` objects).
    """

    role = traitlets.Instance(Role, allow_none=True)
    engines = traitlets.List()

    def __init__(self, ws: Workspace, *, lang: str | None = None,
                 engines: list[Any] | None = None) -> None:
        super().__init__()
        self.ws = ws
        self.t = Translator(lang)
        self.lang = self.t.lang
        self.engines = list(engines or [])
        self.notice = W.HTML("", layout=W.Layout(min_height="0"))
        self.last_error: RasvError | None = None
        #: What :meth:`navigate` calls; a workbench sets it (a lone panel has none).
        self.navigator: Callable[..., Any] | None = None
        #: Names of the tabs of the workbench this context belongs to (empty when alone).
        self.tabs: tuple[str, ...] = ()

    # -- moving between panels -----------------------------------------------------------

    def navigate(self, tab: str, **kwargs: Any) -> bool:
        """Open another panel's tab, e.g. ``ctx.navigate("review", task=3)``.

        The target panel's ``show(**kwargs)`` receives the arguments. Returns False when the
        panel is not part of this workbench (or there is no workbench, as in a lone panel).
        """
        if self.navigator is None:
            return False
        return bool(self.navigator(tab, **kwargs))

    # -- messages ------------------------------------------------------------------------

    def say(self, text: str, kind: str = "info") -> None:
        """Show a one-line message (``info``, ``warn`` or ``error``)."""
        self.notice.value = (
            f'<div class="rasv-notice rasv-notice-{kind}">{html.escape(text)}</div>'
            if text else ""
        )

    def fail(self, error: RasvError) -> None:
        """Show a library error as one sentence."""
        self.last_error = error
        self.say(self.t("notice.error", message=panel_text(error, self.t)), "error")

    def clear(self) -> None:
        """Remove the message."""
        self.notice.value = ""

    def run(self, fn: Callable[[], T]) -> T | None:
        """Call ``fn()``; a :class:`~rasv.RasvError` becomes the notice, not an exception.

        Returns what ``fn`` returned, or None when it failed.
        """
        try:
            return fn()
        except RasvError as e:
            self.fail(e)
            return None

    def guard(self, fn: Callable[..., T]) -> Callable[..., T | None]:
        """Wrap a widget callback so library errors show in the notice line.

        Errors that are bugs (anything not a ``RasvError``) are logged and shown too: a
        dashboard user has no console to read them in.
        """

        def wrapper(*args: Any, **kwargs: Any) -> T | None:
            try:
                return fn(*args, **kwargs)
            except RasvError as e:
                self.fail(e)
            except Exception as e:  # a bug: keep the panel alive, say what happened
                log.exception("panel callback failed")
                self.say(self.t("notice.error", message=f"{type(e).__name__}: {e}"), "error")
            return None

        wrapper.__name__ = getattr(fn, "__name__", "callback")
        wrapper.__doc__ = fn.__doc__
        return wrapper

    @staticmethod
    def style() -> W.HTML:
        """The panels' shared CSS (rows, notices), placed once per workbench."""
        return W.HTML(_CSS, layout=W.Layout(display="none"))


# Library messages end with what to type in Python or a shell (``ws.tasks.edit(3, force=True)``,
# ``--force``); a dashboard user has buttons instead, so that advice is cut from the notice.
_ADVICE = re.compile(r"\bws\.\w|\w\(\d*[,)]|\w=(?=[\s,)]|$)|force=True|\s--\w|\brasv [a-z]")

_LEAD_IN = re.compile(r"\s*\(?(to|or|pass|give|use|try|run|call|set|see)\b", re.I)


def panel_text(error: RasvError, t: Translator) -> str:
    """What a panel says for a library error: panel wording, never Python or CLI advice.

    Example:
        >>> import rasv
        >>> e = rasv.IgnoredParams("espeak ignores top_k; pass force=True", ["top_k"])
        >>> panel_text(e, Translator("en"))
        'The engine ignores top_k, which this task varies: those takes would sound alike.'
        >>> panel_text(rasv.TaskError("a gpt-sovits task needs a GPT and a SoVITS checkpoint: "
        ...                           "give gpt= and sovits= (model ids from ws.models)"),
        ...            Translator("en"))
        'a gpt-sovits task needs a GPT and a SoVITS checkpoint'
        >>> panel_text(rasv.ClipNotFound(7), Translator("zh"))
        '找不到参考音频 7'
        >>> from rasv.errors import EngineUnavailable
        >>> panel_text(EngineUnavailable("cannot reach http://127.0.0.1:9880"),
        ...            Translator("zh"))
        '连不上推理引擎：cannot reach http://127.0.0.1:9880'
    """
    if isinstance(error, IgnoredParams) and error.names:
        return t("err.ignored", names=", ".join(error.names))
    if isinstance(error, WorkspaceLocked):
        if error.pid is None:
            return t("err.locked", seconds=f"{error.waited_s:.0f}")
        return t("err.locked_by", seconds=f"{error.waited_s:.0f}", pid=error.pid,
                 command=error.command or "?")
    message = strip_advice(str(error))
    if t.lang == "en":
        return message  # the library's own sentence is already English
    # The library speaks English; a Chinese reader gets what went wrong in Chinese, and the
    # English detail after it, which is what a search or a bug report needs.
    if isinstance(error, NotFound) and f"err.obj.{error.kind}" in MESSAGES:
        said = t("err.not_found", kind=t(f"err.obj.{error.kind}"), name=error.key)
        default = f"{error.kind} {error.key} does not exist in this workspace"
        detail = message[len(default):].lstrip(": ") if message.startswith(default) else message
        return f"{said}：{detail}" if detail else said
    return t("err.with_kind", kind=t(error_kind_key(error)), message=message)


def error_kind_key(error: RasvError) -> str:
    """The interface key naming what kind of error ``error`` is: its nearest class with one.

    Example:
        >>> import rasv
        >>> from rasv.errors import EngineGone
        >>> error_kind_key(rasv.ClipNotFound(3)), error_kind_key(EngineGone("x"))
        ('err.kind.NotFound', 'err.kind.EngineUnavailable')
    """
    for cls in type(error).__mro__:
        if f"err.kind.{cls.__name__}" in MESSAGES:
            return f"err.kind.{cls.__name__}"
    return "err.kind.RasvError"


def strip_advice(message: str) -> str:
    """``message`` without its clauses of Python or CLI advice (see :func:`panel_text`).

    Example:
        >>> strip_advice("task 3 is busy; to run it anyway, ws.tasks.edit(3, force=True)")
        'task 3 is busy'
    """
    kept = []
    for clause in message.split("; "):
        m = _ADVICE.search(clause)
        if m is not None and _LEAD_IN.match(clause):
            clause = ""  # the whole clause is advice ("to run it anyway, ws.tasks.edit(...)")
        elif m is not None:
            head = clause[:m.start()]
            cut = max(head.rfind(":"), head.rfind(","), head.rfind("("), head.rfind(" with "))
            clause = head[:cut].strip() if cut > 0 else ""
        if clause:
            kept.append(clause)
    return "; ".join(kept) or message.split(";")[0]


@contextlib.contextmanager
def unobserved(widget: W.Widget, handler: Callable[[dict], Any],
               name: str = "value") -> Iterator[W.Widget]:
    """Change ``widget`` inside the block without ``handler`` seeing it (e.g. new picker options).

    Example:
        >>> seen = []; pick = W.Dropdown(options=[1, 2]); pick.observe(seen.append, "value")
        >>> with unobserved(pick, seen.append):
        ...     pick.value = 2
        >>> pick.value = 1; len(seen)
        1
    """
    widget.unobserve(handler, name)
    try:
        yield widget
    finally:
        widget.observe(handler, name)


def row(children: list[W.Widget], **layout: Any) -> W.HBox:
    """A horizontal box with the panels' spacing (wraps on narrow screens).

    Example:
        >>> row([W.Label("a"), W.Label("b")])._dom_classes
        ('rasv-row',)
    """
    box = W.HBox(children, layout=W.Layout(**layout))
    box.add_class("rasv-row")
    return box


def col(children: list[W.Widget], **layout: Any) -> W.VBox:
    """A vertical box with the panels' spacing."""
    box = W.VBox(children, layout=W.Layout(**layout))
    box.add_class("rasv-col")
    return box


class Panel:
    """Base of the workbench's panels: a controller with a ``widget`` to show.

    Subclasses set ``tab`` (the i18n key of their tab title), build ``self.widget`` in
    ``__init__`` and keep logic in plain methods that tests call directly.
    """

    tab = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.t = ctx.t
        self.ws = ctx.ws

    widget: W.Widget

    @property
    def role(self) -> Role | None:
        return self.ctx.role

    def refresh(self, *_: Any) -> None:
        """Re-read what the panel shows from the workspace."""

    def confirm_twice(self, button: W.Button, n: int) -> bool:
        """A batch delete's confirmation without modal dialogs: True on the second press.

        The first press arms ``button`` (it then says how many it will delete); repainting
        the selection disarms it by setting ``_delete_armed`` back to False.

        Example:
            >>> import ipywidgets as W
            >>> from rasv.testing import example
            >>> p = Panel(Context(example(texts=()).ws, lang="en")); b = W.Button()
            >>> p.confirm_twice(b, 3), b.description, p.confirm_twice(b, 3)
            (False, 'Delete? (3)', True)
        """
        if getattr(self, "_delete_armed", False):
            self._delete_armed = False
            return True
        self._delete_armed = True
        button.description = f"{self.t('action.confirm_delete')} ({n})"
        return False


__all__ = ["Context", "Panel", "col", "panel_text", "row", "strip_advice", "unobserved"]
