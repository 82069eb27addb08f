"""The text library shared by all roles (``ws.texts``): test sentences and long texts.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> ws.texts.add("今天天气很好。", lang="zh").lang
    'zh'
    >>> ws.close()
"""

from __future__ import annotations

from rasv.texts.namespace import Texts, seed_starter_texts

__all__ = [
    "Texts",
    "seed_starter_texts",
]
