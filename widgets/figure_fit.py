"""Two-way Plotly figures that take the width of their panel.

A ``go.FigureWidget`` is drawn when its view is created, which is before the browser
attaches it to the page (and a panel in a closed tab has no width either), so Plotly falls
back to its 700 px default. Plotly's ``responsive`` config makes a plot follow its container
on every window resize; :class:`FitFigures`, an invisible widget placed in the panel, sends
one such resize event whenever the panel is laid out or changes width (its tab opens, the
window or a sidebar changes), so responsive figures fill the panel.

Example:
    >>> import plotly.graph_objects as go
    >>> from widgets.figures import FigureView
    >>> view = FigureView(go.Figure(), mode="widget")
    >>> fill_width(view)
    >>> view.widget._config["responsive"]
    True
    >>> FitFigures().layout.height
    '0px'
"""

from __future__ import annotations

from typing import Any

import anywidget

from widgets.figures import PLOT_CONFIG, FigureView

_ESM = """
export default {
  render({ el }) {
    // A synthetic window resize is what Plotly's responsive plots listen to.
    let pending = 0;
    const kick = () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => window.dispatchEvent(new Event("resize")));
    };
    let width = -1;
    const watch = new ResizeObserver((entries) => {
      const w = Math.round(entries[0].contentRect.width);
      if (w !== width) { width = w; if (w > 0) kick(); }
    });
    watch.observe(el);
    return () => watch.disconnect();
  },
};
"""


class FitFigures(anywidget.AnyWidget):
    """An invisible widget: put it in a panel beside figures made with :func:`fill_width`."""

    _esm = _ESM

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layout.width = "100%"
        self.layout.height = "0px"
        self.layout.margin = "0"


def fill_width(view: FigureView) -> None:
    """Make a two-way figure follow its container's width (a static figure already does,
    through :data:`~widgets.figures.PLOT_CONFIG`)."""
    if view.interactive:
        view.widget._config = {**PLOT_CONFIG, "responsive": True}


__all__ = ["FitFigures", "fill_width"]
