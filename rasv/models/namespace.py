"""``ws.models``: the GPT (``.ckpt``) and SoVITS (``.pth``) checkpoints a workspace compares.

Checkpoints stay where the user keeps them (they are large and GPT-SoVITS reads them by
path); the workspace records each file's absolute path, kind, version (sniffed from the
header, :mod:`rasv.models.checkpoints`), the experiment/epoch/step parsed from its name, and its
SHA-256, which identifies the weights in take ids. Scanning again refreshes changed files
and skips unchanged ones (same size and modification time) without hashing them again.
Pretrained bases are shared by every role; fine-tunes belong to the role they were scanned
or added for.

Example:
    >>> import rasv, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "ann_e8_s96.pth"), "wb").write(b"05" + bytes(64))
    >>> ws = rasv.open(os.path.join(d, "ws"))
    >>> role = ws.roles.create("女声-ann")
    >>> ws.models.scan(role, d)[["kind", "version", "experiment", "epoch", "step"]].values.tolist()
    [['sovits', 'v2Pro', 'ann', 8, 96]]
    >>> ws.close()
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.errors import CheckpointError, InvalidInput, ModelNotFound
from rasv.ids import is_id
from rasv.models.checkpoints import Checkpoint, discover, kind_of, sniff
from rasv.records import Model, Role

if TYPE_CHECKING:
    from rasv.workspace import Workspace

ModelRef = Model | int | str | os.PathLike

_COLS = ("id, kind, path, name, sha256, version, experiment, epoch, step, lora_rank, "
         "pretrained, role_id, size_bytes, label")


def _abs(path: str | os.PathLike) -> str:
    return str(Path(path).expanduser().resolve())


def _record(row: tuple) -> Model:
    (id_, kind, path, name, sha, version, exp, epoch, step, rank, pretrained, role_id, size,
     label) = row
    return Model(id=id_, kind=kind, path=path, name=name, sha256=sha, version=version,
                 experiment=exp, epoch=epoch, step=step, lora_rank=rank,
                 pretrained=bool(pretrained), role_id=role_id, size_bytes=size,
                 custom_label=label or "")


def _text(value: Any) -> str | None:
    """A text cell of a frame as ``str`` or ``None``.

    A column where some rows are NULL comes back as NaN (a float) in those rows, not None:
    a renamed checkpoint (no experiment parsed) beside parsed ones must not break labels.
    """
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


class Models:
    """``ws.models``: scan, add, list, label and forget checkpoints."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- adding -----------------------------------------------------------------------------

    def scan(self, role: Role | int | str | None,
             sources: str | os.PathLike | Iterable[str | os.PathLike], *,
             experiment: str | None = None, pretrained: bool = True) -> pd.DataFrame:
        """Add or refresh every checkpoint under a GPT-SoVITS root or some folders.

        A GPT-SoVITS root contributes ``GPT_weights*``, ``SoVITS_weights*`` and the pretrained
        bases; other folders every ``.ckpt``/``.pth`` below them. New fine-tunes are given to
        ``role``; files already known keep their role (or get this one if they had none).
        Files whose size and modification time did not change are not read again.

        Args:
            role: the role the fine-tunes belong to (None: shared).
            sources: a GPT-SoVITS root, folders or files.
            experiment: keep only fine-tunes of this experiment (a name or a glob such as
                ``"ann*"``); GPT-SoVITS folders usually hold many voices.
            pretrained: include the pretrained bases.

        Returns:
            the scanned models as :meth:`df` rows; ``df.attrs["skipped"]`` lists
            ``(path, reason)`` for files that are not readable checkpoints.

        Raises:
            CheckpointError: a source that does not exist.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_checkpoint
            >>> gsv = tempfile.mkdtemp()
            >>> for n in ("ann-e10.ckpt", "bob-e5.ckpt"):
            ...     _ = make_checkpoint(os.path.join(gsv, "GPT_weights_v2", n))
            >>> _ = make_checkpoint(os.path.join(gsv, "SoVITS_weights_v2", "ann_e8_s96.pth"))
            >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("女声-ann")
            >>> ws.models.scan(role, gsv, experiment="ann")[["kind", "label"]].values.tolist()
            [['gpt', 'ann e10'], ['sovits', 'ann e8 s96']]
        """
        role_id = self._role_id(role)
        found, skipped = discover(sources)
        keep = []
        for ck in found:
            if ck.pretrained:
                if pretrained:
                    keep.append(ck)
            elif experiment is None or fnmatch.fnmatchcase(ck.experiment or "", experiment) \
                    or (ck.experiment is None and fnmatch.fnmatchcase(Path(ck.name).stem, experiment)):
                keep.append(ck)
        ids = self._upsert(keep, role_id=role_id, label=None, assign_role=False)
        out = self._frame("m.id IN (SELECT unnest(?))", [ids]) if ids else self._frame("false", [])
        out.attrs["skipped"] = skipped
        return out

    def add(self, path: str | os.PathLike, kind: str | None = None,
            role: Role | int | str | None = None, label: str | None = None) -> Model:
        """Add one checkpoint (or refresh it if known) and return its record.

        Args:
            path: a ``.ckpt`` (GPT) or ``.pth`` (SoVITS) file.
            kind: ``gpt`` or ``sovits``; checked against the file when given.
            role: the role it belongs to (pretrained bases stay shared).
            label: a short name shown instead of ``experiment eN sM``.

        Raises:
            CheckpointError: the file is missing, not a checkpoint, or of the other kind.

        Example:
            >>> import rasv, tempfile, os
            >>> d = tempfile.mkdtemp(); p = os.path.join(d, "bob-e5.ckpt")
            >>> _ = open(p, "wb").write(b"PK\\x03\\x04" + bytes(64))
            >>> ws = rasv.open(os.path.join(d, "ws"))
            >>> m = ws.models.add(p, label="bob early")
            >>> m.kind, m.epoch, m.label
            ('gpt', 5, 'bob early')
            >>> ws.close()
        """
        if kind is not None:
            if kind not in ("gpt", "sovits"):
                raise InvalidInput(f"kind must be 'gpt' or 'sovits', not {kind!r}")
            actual = kind_of(path)
            if actual != kind:
                raise CheckpointError(
                    f"{Path(path).name} is a {actual.upper()} checkpoint (by its extension), "
                    f"not {kind.upper()}")
        role_id = self._role_id(role)
        existing = self._known(_abs(path))
        ck = self._sniff_if_changed(_abs(path), existing)
        [mid] = self._upsert([ck], role_id=role_id, label=label, assign_role=role is not None)
        return self.get(mid)

    def _role_id(self, role: Role | int | str | None) -> int | None:
        if role is None:
            return None
        return self._ws.roles.resolve_id(role)

    def _known(self, path: str) -> tuple[Any, ...] | None:
        return self._ws.store.one(
            "SELECT id, size_bytes, mtime, sha256 FROM models WHERE path = ?", [path])

    def _sniff_if_changed(self, path: str, known: tuple[Any, ...] | None) -> Checkpoint:
        """Sniff a file; hash it only when it is new or its size or mtime changed."""
        ck = sniff(path)
        if known is not None and known[1] == ck.size_bytes and known[2] is not None \
                and abs(float(known[2]) - ck.mtime) < 1e-6:
            return Checkpoint(**{**ck.as_dict(), "sha256": known[3]})
        return ck.with_sha256()

    def _upsert(self, cks: list[Checkpoint], *, role_id: int | None, label: str | None,
                assign_role: bool) -> list[int]:
        # Slow work (hashing) happens before the transaction, so the database is held briefly.
        prepared = []
        for ck in cks:
            path = _abs(ck.path)
            known = self._known(path)
            if ck.sha256 is None:
                try:
                    ck = self._sniff_if_changed(path, known)
                except (CheckpointError, OSError) as e:
                    raise CheckpointError(f"cannot read checkpoint {path}: {e}") from None
            prepared.append((path, ck))
        ids: list[int] = []
        with self._ws.store.transaction() as cur:
            for path, ck in prepared:
                row = cur.execute("SELECT id, role_id FROM models WHERE path = ?", [path]).fetchall()
                own = None if ck.pretrained else role_id
                values = [ck.kind, ck.name, ck.sha256, ck.size_bytes, ck.mtime, ck.version,
                          ck.experiment, ck.epoch, ck.step, ck.lora_rank, ck.pretrained]
                if row:
                    mid, old_role = row[0]
                    new_role = own if (assign_role or old_role is None) else old_role
                    if ck.pretrained:
                        new_role = None
                    cur.execute(
                        "UPDATE models SET kind = ?, name = ?, sha256 = ?, size_bytes = ?, "
                        "mtime = ?, version = ?, experiment = ?, epoch = ?, step = ?, "
                        "lora_rank = ?, pretrained = ?, role_id = ? WHERE id = ?",
                        values + [new_role, mid])
                else:
                    mid = cur.execute(
                        "INSERT INTO models(kind, name, sha256, size_bytes, mtime, version, "
                        "experiment, epoch, step, lora_rank, pretrained, role_id, path) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        values + [own, path]).fetchall()[0][0]
                if label is not None:
                    cur.execute("UPDATE models SET label = ? WHERE id = ?", [label.strip(), mid])
                ids.append(int(mid))
        return ids

    # -- reading ----------------------------------------------------------------------------

    def get(self, ref: ModelRef) -> Model:
        """A model by record, id or file path.

        Raises:
            ModelNotFound: no such model in this workspace.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.models.get(7)
            Traceback (most recent call last):
            ...
            rasv.errors.ModelNotFound: model 7 does not exist in this workspace
        """
        if isinstance(ref, Model):
            ref = ref.id
        if is_id(ref):
            ref = int(ref)
            where, key = "id", ref
        elif isinstance(ref, (str, os.PathLike)):
            where, key = "path", _abs(ref)
        else:
            raise InvalidInput(f"a model is an id or a path, not {ref!r}")
        return _record(self._ws.store.one_or_raise(
            f"SELECT {_COLS} FROM models WHERE {where} = ?", [key], ModelNotFound(ref)))

    def resolve_id(self, ref: ModelRef) -> int:
        """The id of a model given any reference :meth:`get` accepts.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_checkpoint
            >>> p = make_checkpoint(os.path.join(tempfile.mkdtemp(), "ann-e10.ckpt"))
            >>> ws = rasv.open(tempfile.mkdtemp()); m = ws.models.add(p)
            >>> ws.models.resolve_id(p) == ws.models.resolve_id(m) == m.id
            True
        """
        if isinstance(ref, Model):
            return ref.id
        return self.get(ref).id

    def df(self, role: Role | int | str | None = None, kind: str | None = None) -> pd.DataFrame:
        """The models as a table, newest training step last within each experiment.

        With ``role``, that role's fine-tunes plus the shared ones (pretrained bases).
        Columns: id, kind, name, version, experiment, epoch, step, lora_rank, pretrained,
        label (the user's label, else ``experiment eN sM``), custom_label, role_id, role,
        path, exists, size_bytes, sha256, created_at.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> list(ws.models.df().columns[:4])
            ['id', 'kind', 'name', 'version']
        """
        where, params = ["true"], []
        if role is not None:
            where.append("(m.role_id = ? OR m.role_id IS NULL)")
            params.append(self._role_id(role))
        if kind is not None:
            if kind not in ("gpt", "sovits"):
                raise InvalidInput(f"kind must be 'gpt' or 'sovits', not {kind!r}")
            where.append("m.kind = ?")
            params.append(kind)
        return self._frame(" AND ".join(where), params)

    def _frame(self, where: str, params: list[Any]) -> pd.DataFrame:
        df = self._ws.store.df(
            f"""
            SELECT m.id, m.kind, m.name, m.version, m.experiment, m.epoch, m.step, m.lora_rank,
                   m.pretrained, m.label AS custom_label, m.role_id,
                   CASE WHEN r.id IS NULL THEN NULL ELSE r.category || '-' || r.name END AS role,
                   m.path, m.size_bytes, m.sha256, m.created_at
            FROM models m LEFT JOIN roles r ON r.id = m.role_id
            WHERE {where}
            ORDER BY m.kind, m.pretrained DESC, m.experiment NULLS FIRST, m.epoch NULLS FIRST,
                     m.step NULLS FIRST, m.name, m.id
            """,
            params,
        )
        labels = [
            Model(id=0, kind=k, path="", name=n, sha256="", version=_text(v),
                  experiment=_text(e), epoch=None if pd.isna(ep) else int(ep),
                  step=None if pd.isna(st) else int(st), pretrained=bool(p),
                  custom_label=_text(c) or "").label
            for k, n, v, e, ep, st, p, c in zip(df["kind"], df["name"], df["version"],
                                                   df["experiment"], df["epoch"], df["step"],
                                                   df["pretrained"], df["custom_label"],
                                                   strict=True)
        ]
        df.insert(9, "label", labels)
        df.insert(df.columns.get_loc("path") + 1, "exists",
                  [os.path.isfile(p) for p in df["path"]])
        for col in ("epoch", "step", "lora_rank", "role_id"):
            df[col] = df[col].astype("Int64")
        return df

    # -- changing ---------------------------------------------------------------------------

    def update(self, ref: ModelRef, *, label: str | None = None,
               role: Role | int | str | None = None) -> Model:
        """Change a model's label or role (the file is never touched).

        Example:
            >>> import rasv, tempfile, os
            >>> d = tempfile.mkdtemp(); p = os.path.join(d, "x_e1_s2.pth")
            >>> _ = open(p, "wb").write(b"01" + bytes(64))
            >>> ws = rasv.open(os.path.join(d, "ws"))
            >>> ws.models.update(ws.models.add(p).id, label="best so far").label
            'best so far'
            >>> ws.close()
        """
        mid = self.resolve_id(ref)
        with self._ws.store.transaction() as cur:
            if label is not None:
                cur.execute("UPDATE models SET label = ? WHERE id = ?", [label.strip(), mid])
            if role is not None:
                cur.execute("UPDATE models SET role_id = ? WHERE id = ?", [self._role_id(role), mid])
        return self.get(mid)

    def delete(self, ref: ModelRef, *, force: bool = False) -> None:
        """Forget a model. The checkpoint file itself is never deleted.

        Takes keep the checkpoint's hash either way; a model that takes or products use is
        only forgotten with ``force=True``.

        Raises:
            InvalidInput: takes or products use it and ``force`` is False.

        Example:
            >>> import rasv, tempfile, os
            >>> from rasv.testing import make_checkpoint
            >>> p = make_checkpoint(os.path.join(tempfile.mkdtemp(), "ann-e10.ckpt"))
            >>> ws = rasv.open(tempfile.mkdtemp()); m = ws.models.add(p)
            >>> ws.models.delete(m.id); len(ws.models.df()), os.path.exists(p)
            (0, True)
        """
        mid = self.resolve_id(ref)
        with self._ws.store.transaction() as cur:
            used = cur.execute(
                "SELECT (SELECT count(*) FROM takes WHERE gpt_id = $m OR sovits_id = $m)"
                " + (SELECT count(*) FROM products WHERE gpt_id = $m OR sovits_id = $m)",
                {"m": mid}).fetchall()[0][0]
            if used and not force:
                raise InvalidInput(
                    f"model {mid} is used by {used} takes or products; pass force=True to forget "
                    "it anyway (its file stays where it is)")
            cur.execute("DELETE FROM models WHERE id = ?", [mid])


__all__ = ["Models"]
