"""Show Plotly figures in a panel the way the current front end can render them.

``go.FigureWidget`` is two-way (clicks and selections reach Python, updates are incremental)
but needs anywidget (plotly >= 6) and a front end that runs custom widgets; on Colab it has
a long record of rendering blank. A ``go.Figure`` shown inside an ``ipywidgets.Output``
renders everywhere, one way (``research/stack-check.md`` §3b). :class:`FigureView` picks one
and lets a panel replace the figure without caring which.

The choice: ``$RASV_FIGURES`` (``widget`` or ``static``) if set, else ``static`` on Colab and
``widget`` elsewhere.

Example:
    >>> import plotly.graph_objects as go
    >>> view = FigureView(go.Figure(go.Bar(y=[1, 2])), mode="static")
    >>> type(view.widget).__name__, view.interactive
    ('Output', False)
    >>> view.update(go.Figure(go.Bar(y=[3])))
    >>> len(view.widget.outputs)
    1
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go

#: Environment variable forcing ``widget`` or ``static`` figures.
FIGURES_ENV = "RASV_FIGURES"

_PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: Plotly config used for every figure: no logo, compact mode bar.
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}


def figure_mode() -> str:
    """``widget`` (``go.FigureWidget``) or ``static`` (figure in an ``Output``).

    Example:
        >>> figure_mode() in ("widget", "static")
        True
    """
    forced = os.environ.get(FIGURES_ENV, "").strip().lower()
    if forced in ("widget", "static"):
        return forced
    if "google.colab" in sys.modules:
        return "static"
    try:
        import anywidget  # noqa: F401  (plotly's FigureWidget is built on it)
    except ImportError:
        return "static"
    return "widget"


class FigureView:
    """A slot for one Plotly figure inside a panel.

    Args:
        fig: the first figure (an empty one when omitted).
        mode: ``widget``, ``static`` or ``None`` for :func:`figure_mode`.
        on_click: ``callback(trace_index, point_index, customdata)`` for clicks on points;
            only honoured in ``widget`` mode (a static figure cannot talk back).

    Example:
        >>> import plotly.graph_objects as go
        >>> clicks = []
        >>> v = FigureView(go.Figure(go.Scatter(x=[0, 1], y=[0, 1], customdata=[7, 8])),
        ...                mode="widget", on_click=lambda t, i, c: clicks.append(c))
        >>> v.click(0, 1)
        >>> clicks
        [8]
    """

    def __init__(self, fig: go.Figure | None = None, *, mode: str | None = None,
                 on_click: Callable[[int, int, Any], Any] | None = None) -> None:
        self.mode = mode or figure_mode()
        self._on_click = on_click
        fig = fig if fig is not None else go.Figure()
        if self.mode == "widget":
            self._fw = go.FigureWidget(fig)
            self._wire_clicks()
            self.widget: W.Widget = self._fw
        else:
            self._fw = None
            self.widget = W.Output()
            self._show(fig)

    @property
    def interactive(self) -> bool:
        """True when clicks reach Python (``widget`` mode)."""
        return self._fw is not None

    @property
    def figure(self) -> go.Figure:
        """The figure currently shown (a copy in static mode)."""
        return self._fw if self._fw is not None else self._last

    def update(self, fig: go.Figure) -> None:
        """Show ``fig`` instead of the current figure."""
        if self._fw is None:
            self._show(fig)
            return
        with self._fw.batch_update():
            self._fw.data = ()
            self._fw.add_traces(list(fig.data))
            self._fw.layout = fig.layout
        self._wire_clicks()

    def click(self, trace: int, point: int) -> None:
        """Act as a click on point ``point`` of trace ``trace`` (what the browser sends)."""
        if self._on_click is None:
            return
        data = self.figure.data[trace]
        custom = getattr(data, "customdata", None)
        value = None if custom is None else custom[point]
        self._on_click(trace, point, value)

    def _wire_clicks(self) -> None:
        if self._fw is None or self._on_click is None:
            return
        for index, trace in enumerate(self._fw.data):
            if hasattr(trace, "on_click"):
                trace.on_click(self._make_handler(index), append=False)

    def _make_handler(self, index: int) -> Callable[..., None]:
        def handler(_trace: Any, points: Any, _state: Any) -> None:
            for point in points.point_inds:
                self.click(index, point)

        return handler

    def _show(self, fig: go.Figure) -> None:
        self._last = fig
        # The mime bundle goes straight into the Output: no kernel or renderer needed, so it
        # behaves the same in tests, Voilà and Colab.
        import plotly.io as pio

        fig_dict = fig.to_dict()
        bundle = dict(pio.renderers["plotly_mimetype"].to_mimebundle(fig_dict))
        bundle[_PLOTLY_MIME] = {**bundle[_PLOTLY_MIME], "config": PLOT_CONFIG}
        if "google.colab" in sys.modules:  # Colab renders HTML, not Plotly's mime type
            bundle.update(pio.renderers["colab"].to_mimebundle(fig_dict))
        bundle["text/plain"] = "<plotly figure>"
        self.widget.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


__all__ = ["FIGURES_ENV", "PLOT_CONFIG", "FigureView", "figure_mode"]
