"""The reference-clip catalogue (``ws.clips``) and the auxiliary pool (``ws.aux``).

Modules, leaves first:

- ``listfile`` (GPT-SoVITS ``.list`` reading), ``split`` (cutting clips into regions);
- ``rows`` (a clip row ↔ :class:`~rasv.records.Clip`, inserting prepared clips),
  ``categories`` (:class:`Categories`);
- ``importing`` (``.list`` import: rows, categories, listfile) and ``export``
  (``.list`` export: listfile);
- ``namespace`` (:class:`Clips`: add, list, edit, delete; fronts import, export, split and
  categories; deleting goes through :func:`rasv.takes.drop_unused_takes`);
- ``aux`` (:class:`AuxPool`) stands beside them.

Example:
    >>> from rasv.clips import is_valid_reference
    >>> is_valid_reference(3.0), is_valid_reference(12.0)
    (True, False)
"""

from __future__ import annotations

from rasv.clips import listfile
from rasv.clips.aux import AuxPool
from rasv.clips.categories import Categories
from rasv.clips.listfile import list_lang, parse_list
from rasv.clips.namespace import Clips
from rasv.clips.rows import is_valid_reference
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
