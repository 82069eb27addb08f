"""rasv's panels: the :class:`Workbench` and the widgets it is built from.

Each panel is a controller (plain Python, driven by tests without a browser) with a thin
ipywidgets view; panels call the ``rasv`` library only.

Example:
    >>> import rasv, tempfile
    >>> from widgets import Workbench
    >>> wb = Workbench(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> type(wb).__name__
    'Workbench'
"""

from widgets.figures import FigureView
from widgets.i18n import Translator
from widgets.keyboard import Keyboard
from widgets.player import Player
from widgets.table import Table
from widgets.workbench import Workbench

__all__ = ["FigureView", "Keyboard", "Player", "Table", "Translator", "Workbench"]
