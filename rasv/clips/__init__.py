"""The reference-clip catalogue (``ws.clips``) and the auxiliary pool (``ws.aux``).

Modules, leaves first: ``listfile`` (GPT-SoVITS ``.list`` reading and writing) and ``split``
(cutting clips into regions) ← ``namespace`` (:class:`Clips`: add, import, list, edit, delete,
export, categories); ``aux`` (:class:`AuxPool`) stands beside them.

Example:
    >>> from rasv.clips import is_valid_reference
    >>> is_valid_reference(3.0), is_valid_reference(12.0)
    (True, False)
"""

from __future__ import annotations

from rasv.clips import listfile
from rasv.clips.aux import AuxPool
from rasv.clips.listfile import list_lang, parse_list
from rasv.clips.namespace import Categories, Clips, is_valid_reference
from rasv.clips.split import region_samples

__all__ = [
    "AuxPool",
    "Categories",
    "Clips",
    "is_valid_reference",
    "list_lang",
    "listfile",
    "parse_list",
    "region_samples",
]
