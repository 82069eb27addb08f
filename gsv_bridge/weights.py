"""``find_weights``: the GPT and SoVITS checkpoints of a GPT-SoVITS install, as a table.

Built on :mod:`rasv.models.checkpoints` (torch-free): versions come from file headers, not folder
names; experiment, epoch and step from the end of each file name.

Example:
    >>> import tempfile, os
    >>> root = tempfile.mkdtemp(); os.makedirs(os.path.join(root, "GPT_SoVITS"))
    >>> os.makedirs(os.path.join(root, "SoVITS_weights_v2ProPlus"))
    >>> _ = open(os.path.join(root, "SoVITS_weights_v2ProPlus", "ann_e8_s96.pth"), "wb").write(
    ...     b"06" + bytes(64))
    >>> find_weights(root)[["kind", "version", "experiment", "epoch", "step"]].values.tolist()
    [['sovits', 'v2ProPlus', 'ann', 8, 96]]
"""

from __future__ import annotations

import os

import pandas as pd

from rasv.errors import CheckpointError
from rasv.models import Checkpoint, discover

COLUMNS = ["kind", "name", "version", "version_source", "experiment", "epoch", "step",
           "lora_rank", "pretrained", "label", "size_bytes", "mtime", "sha256", "path"]


def find_weights(gsv_root: str | os.PathLike, *, with_sha256: bool = False) -> pd.DataFrame:
    """List ``GPT_weights*``, ``SoVITS_weights*`` and the pretrained bases of a GPT-SoVITS root.

    Args:
        gsv_root: the GPT-SoVITS folder, or any folder of checkpoints.
        with_sha256: also hash every file (slow on big folders).

    Returns a DataFrame (columns: kind, name, version, version_source, experiment, epoch,
    step, lora_rank, pretrained, label, size_bytes, mtime, sha256, path) sorted by kind,
    experiment, epoch and step; files that are not readable checkpoints are listed in
    ``df.attrs["skipped"]`` as ``(path, reason)``.

    Raises:
        CheckpointError: the folder does not exist.

    Example:
        >>> import os, tempfile
        >>> from rasv.testing import make_checkpoint
        >>> root = tempfile.mkdtemp()
        >>> _ = make_checkpoint(os.path.join(root, "GPT_weights_v2", "ann-e10.ckpt"))
        >>> _ = make_checkpoint(os.path.join(root, "SoVITS_weights_v2Pro", "ann_e8_s96.pth"),
        ...                     version="v2Pro")
        >>> find_weights(root)[["kind", "version", "epoch"]].values.tolist()
        [['gpt', 'v2', 10], ['sovits', 'v2Pro', 8]]
    """
    if not os.path.isdir(gsv_root):
        raise CheckpointError(f"GPT-SoVITS folder not found: {gsv_root}")
    found, skipped = discover(gsv_root, with_sha256=with_sha256)
    df = checkpoints_frame(found)
    df.attrs["skipped"] = skipped
    return df


def checkpoints_frame(found: list[Checkpoint]) -> pd.DataFrame:
    """A DataFrame of checkpoint records in :data:`COLUMNS` order."""
    rows = [{**c.as_dict(), "label": c.label} for c in found]
    df = pd.DataFrame(rows, columns=COLUMNS + ["lora"]).drop(columns=["lora"])
    if df.empty:
        return df
    df = df.sort_values(["kind", "pretrained", "experiment", "epoch", "step", "name"],
                        na_position="first", kind="stable").reset_index(drop=True)
    for col in ("epoch", "step", "lora_rank"):
        df[col] = df[col].astype("Int64")
    return df


__all__ = ["COLUMNS", "checkpoints_frame", "find_weights"]
