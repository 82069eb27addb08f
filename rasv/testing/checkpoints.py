"""Fabricated GPT-SoVITS checkpoint files for tests: the right headers, no weights.

A real checkpoint is a torch zip whose ``data.pkl`` holds ``weight``, ``config`` and
``info``; trained SoVITS files have their first two bytes replaced by a version tag. These
files have the same layout with a tiny plain-Python pickle, so :mod:`rasv.models.checkpoints` and
the fake servers read them like real ones (torch cannot load them, by design).

Example:
    >>> import tempfile, os
    >>> from rasv.models.checkpoints import sniff
    >>> d = tempfile.mkdtemp()
    >>> sniff(make_checkpoint(os.path.join(d, "ann_e8_s96.pth"), version="v4",
    ...                       lora_rank=32)).version
    'v4'
    >>> sniff(make_checkpoint(os.path.join(d, "ann-e8.ckpt"), version="v1")).version
    'v1'
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

from rasv.models.checkpoints import SOVITS_HEADER_TAGS

_TAG = {(v, lora): tag for tag, (v, lora) in SOVITS_HEADER_TAGS.items()}


def make_checkpoint(path: str | os.PathLike, *, version: str = "v2", lora_rank: int | None = None,
                    info: str | None = None, tagged: bool = True, pad_to: int = 0,
                    embedding_rows: int | None = None) -> str:
    """Write a fake checkpoint; GPT for ``.ckpt``, SoVITS for ``.pth``.

    Args:
        path: the file to write (parents are created).
        version: the model version (``v1`` … ``v2ProPlus``); a GPT file records its phoneme
            vocabulary (512 for v1, 732 otherwise).
        lora_rank: a v3/v4 LoRA rank (SoVITS).
        info: the checkpoint's ``info`` string (default from the file name when it has
            epoch/step).
        tagged: write the SoVITS version tag over ``PK`` like GPT-SoVITS's trainer (False:
            an old plain zip, classified by size).
        pad_to: grow the file to this many bytes (for the size rule of untagged files).
        embedding_rows: give the SoVITS weights an ``enc_p.text_embedding.weight`` of this
            many rows (322 for v1, 732 later), pickled in torch's tensor layout (storage
            record, offset, shape) so the row count reads as it does in a real file.

    Returns the path as a string.
    """
    from rasv.models.checkpoints import kind_of, parse_name

    p = Path(path)
    kind = kind_of(p)
    fields = parse_name(p.name, kind)
    if kind == "gpt":
        config = {"model": {"phoneme_vocab_size": 512 if version == "v1" else 732}}
        info = info or (f"GPT-e{fields['epoch']}" if fields["epoch"] is not None else "pretrained")
    else:
        config = {"model": {"version": version}, "version": version}
        if info is None and fields["epoch"] is not None:
            info = f"{fields['epoch']}epoch_{fields['step']}iteration"
    weight: dict[str, object] = {"fake.weight": [0.0] * 4}
    if embedding_rows:
        cols = 192
        weight["enc_p.text_embedding.weight"] = (("storage", "0", "cpu", embedding_rows * cols),
                                                 0, (embedding_rows, cols), (cols, 1))
    state: dict[str, object] = {"weight": weight, "config": config,
                                "info": info or "pretrained"}
    if lora_rank:
        state["lora_rank"] = int(lora_rank)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        # A fixed timestamp: the same arguments give the same bytes (and the same sha256),
        # whenever they are written; zipfile would stamp each entry with the current time.
        entries = {"archive/data.pkl": pickle.dumps(state, protocol=2), "archive/version": b"3\n"}
        if pad_to:
            entries["archive/data/0"] = b"\0" * max(0, pad_to - 600)
        for name, payload in entries.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), payload)
    data = buf.getvalue()
    if kind == "sovits" and tagged:
        lora = bool(lora_rank)
        tag = _TAG.get((version, lora)) or _TAG.get((version, False))
        if tag is None:
            raise ValueError(f"no header tag for SoVITS {version} (lora={lora})")
        data = tag + data[2:]
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return str(p)


def make_checkpoint_pair(directory: str | os.PathLike | None = None, *,
                         version: str = "v2ProPlus") -> tuple[str, str]:
    """Write a trained GPT + SoVITS pair (``ann-e10.ckpt``, ``ann_e8_s96.pth``) for engine examples.

    ``directory`` defaults to a fresh temporary one. Returns ``(gpt, sovits)`` paths.

    Example:
        >>> from rasv.models.checkpoints import sniff
        >>> gpt, sovits = make_checkpoint_pair()
        >>> sniff(gpt).kind, sniff(sovits).version
        ('gpt', 'v2ProPlus')
    """
    import tempfile

    d = Path(directory if directory is not None else tempfile.mkdtemp())
    return (make_checkpoint(d / "ann-e10.ckpt"),
            make_checkpoint(d / "ann_e8_s96.pth", version=version))


__all__ = ["make_checkpoint", "make_checkpoint_pair"]
