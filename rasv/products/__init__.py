"""Products (``ws.products``): named, frozen voice presets, rendered and exported as packs.

Modules, leaves first: ``presets`` (one complete voice configuration and rendering a text with
it as a cached take) ← ``namespace`` (:class:`Products`) → ``packs`` (zips readable by
RefAudioSelectorV2 and GSVI).

Example:
    >>> from rasv.products import Product
    >>> Product.__name__
    'Product'
"""

from __future__ import annotations

from rasv.products import presets
from rasv.products.namespace import Product, Products

__all__ = [
    "Product",
    "Products",
    "presets",
]
