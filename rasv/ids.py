"""Integer ids as users hand them over: Python ints, or numpy ints taken from a DataFrame.

Collections come back as DataFrames, so ``ws.tasks.get(ws.tasks.list().id[0])`` passes a
``numpy.int64``; every namespace accepts it like an ``int``. Booleans are never ids.

Example:
    >>> import numpy as np
    >>> is_id(3), is_id(np.int64(3)), is_id(True), is_id("3")
    (True, True, False, False)
    >>> id_list(np.array([4, 5])), id_list(np.int32(7))
    ([4, 5], [7])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from rasv.errors import InvalidInput


def is_id(x: Any) -> bool:
    """True for an ``int`` or a numpy integer, False for booleans and everything else.

    Example:
        >>> is_id(0), is_id(np.uint8(1)), is_id(np.bool_(True)), is_id(1.0)
        (True, True, False, False)
    """
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def id_list(ids: Any, what: str = "id") -> list[int]:
    """One id or an iterable of ids (list, tuple, Series, array) as a list of ``int``.

    Raises:
        InvalidInput: something in it is not a whole number.

    Example:
        >>> import pandas as pd
        >>> id_list(pd.Series([1, 2])), id_list([]), id_list(3)
        ([1, 2], [], [3])
    """
    if is_id(ids):
        return [int(ids)]
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        article = "an" if what[:1] in "aeiou" else "a"  # "an id", "an aux clip id"
        raise InvalidInput(f"expected {article} {what} or a list of them, got {ids!r}")
    out = []
    for x in ids:
        if not is_id(x):
            raise InvalidInput(f"a {what} is a whole number, not {x!r}")
        out.append(int(x))
    return out


__all__ = ["id_list", "is_id"]
