"""Finished products: named, frozen voice presets, and their export.

A product is what a comparison is for: the reference clip (with the transcript it was
tested with), the checkpoints, the aux clips and the full sampling parameters, seed
included, under a name such as ``温柔``. Products come from a take, from a long-text run, or
by hand; they can be edited, deleted and listed across roles, rendered with
:meth:`rasv.longtext.namespace.LongText.render`, turned into the exact ``api_v2`` request
(:meth:`Products.export_request`), and exported as a zip that RefAudioSelectorV2's product
pack readers and GSVI's character loader both understand (:mod:`rasv.products.packs`).

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import make_clip
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("女-小红")
    >>> clip = ws.clips.add(role, make_clip(os.path.join(ws.root, "r.wav"), 4.0), text="你好。")
    >>> p = ws.products.create(role, "温柔", clip=clip.id, params=rasv.Params(top_k=10, seed=7))
    >>> body = ws.products.export_request(p.id, "今天天气很好。")
    >>> body["top_k"], body["seed"], body["prompt_text"], body["text_lang"]
    (10, 7, '你好。', 'zh')
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.errors import AlreadyExists, ClipNotFound, InvalidInput, ProductNotFound
from rasv.filenames import export_target
from rasv.ids import id_list
from rasv.langs import normalize_lang
from rasv.params import Params
from rasv.products import presets
from rasv.records import DEFAULT_CATEGORY
from rasv.scores.namespace import check_stars
from rasv.takes.orphans import drop_unused_takes

if TYPE_CHECKING:
    from rasv.workspace import Workspace

_COLS = ("id, role_id, name, category, clip_id, gpt_id, sovits_id, engine_kind, params,"
         " aux_ids, score, remark, source_take_id, source_longtext_id, extra, created_at,"
         " updated_at")
_EDITABLE = {"name", "category", "score", "remark", "params", "clip", "gpt", "sovits", "aux",
             "prompt_text", "prompt_lang"}


@dataclass(frozen=True)
class Product:
    """A named voice preset of a role.

    ``prompt_text``/``prompt_lang``/``clip_sha256`` are the reference as the product was
    made with it: editing the clip's transcript later does not change a product.

    Example:
        >>> Product(1, 1, "温柔", "default", 3, None, None, "gpt-sovits", Params(seed=1)).seed
        1
    """

    id: int
    role_id: int
    name: str
    category: str
    clip_id: int | None
    gpt_id: int | None
    sovits_id: int | None
    engine_kind: str
    params: Params
    aux_ids: tuple[int, ...] = ()
    score: int | None = None
    remark: str = ""
    source_take_id: str | None = None
    source_longtext_id: int | None = None
    clip_sha256: str = ""
    prompt_text: str = ""
    prompt_lang: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def seed(self) -> int | None:
        return self.params.seed


def _product(row: tuple) -> Product:
    d = dict(zip([c.strip() for c in _COLS.split(",")], row, strict=True))
    extra = json.loads(d.pop("extra") or "{}")
    d["params"] = Params.from_dict(json.loads(d["params"]))
    d["aux_ids"] = tuple(json.loads(d["aux_ids"] or "[]"))
    d["remark"] = d["remark"] or ""
    d["clip_sha256"] = extra.get("clip_sha256", "")
    d["prompt_text"] = extra.get("prompt_text", "")
    d["prompt_lang"] = extra.get("prompt_lang", "")
    return Product(**d)


class Products:
    """``ws.products``: create, edit, list, delete and export finished products."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- creating ----------------------------------------------------------------------------

    def create(self, role: Any, name: str, *, clip: int, params: Params | None = None,
               gpt: int | None = None, sovits: int | None = None, aux: Iterable[int] = (),
               category: str | None = None, score: int | None = None, remark: str = "",
               engine_kind: str = "gpt-sovits", prompt_text: str | None = None,
               prompt_lang: str | None = None) -> Product:
        """Create a product by hand from a clip of the role and settings.

        Args:
            role: the role the product belongs to.
            name: unique inside the role (it becomes a GSVI emotion name on export).
            clip: the reference clip id; its transcript is the prompt unless
                ``prompt_text`` is given.
            params: sampling parameters; give a seed to make the product reproducible.
            gpt, sovits: checkpoint ids of the ``models`` table.
            aux: aux-pool clip ids.
            category: default: the clip's category (as RefAudioSelectorV2 did).

        Raises:
            AlreadyExists: the role has a product of that name.
            ClipNotFound, ModelNotFound, AuxClipNotFound: an id does not exist.

        Example:
            >>> import rasv, tempfile
            >>> from rasv.testing import FakeEngine, make_clip
            >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
            >>> c = ws.clips.add(r, make_clip(ws.root / "a.wav", 4), text="参考。", category="温柔")
            >>> p = ws.products.create(r, "温柔", clip=c.id, engine_kind="fake",
            ...                        params=rasv.Params(top_k=10, seed=42))
            >>> p.category, p.params.top_k, p.prompt_text
            ('温柔', 10, '参考。')
        """
        rid = self._ws.roles.resolve_id(role)
        c = self._ws.clips.get(int(clip))
        if c.role_id != rid:
            raise InvalidInput(f"clip {c.id} belongs to another role")
        preset = presets.from_clip(self._ws, c.id, params or Params(), engine_kind=engine_kind,
                                   gpt=gpt, sovits=sovits, aux=list(aux))
        return self._insert(rid, name, preset, category=category or c.category, score=score,
                            remark=remark, prompt_text=prompt_text, prompt_lang=prompt_lang)

    def create_from_take(self, take_id: str, name: str, *, category: str | None = None,
                         score: int | None = None, remark: str | None = None) -> Product:
        """Freeze a take's exact configuration (seed included) as a product.

        ``score`` defaults to the take's current stars and ``remark`` to its score remark.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().products.create_from_take, "x", "温柔")
            'TakeNotFound: take x does not exist in this workspace'
        """
        preset = presets.from_take(self._ws, take_id)
        if preset.role_id is None:
            raise ClipNotFound(preset.clip_id, "a product belongs to the role of its clip")
        s = self._ws.scores.get(take_id)
        return self._insert(
            preset.role_id, name, preset, category=category or preset.clip_category,
            score=score if score is not None else (s.stars if s else None),
            remark=remark if remark is not None else (s.remark if s else ""),
            source_take_id=take_id)

    def create_from_longtext(self, run_id: int, name: str, *, category: str | None = None,
                             score: int | None = None, remark: str | None = None) -> Product:
        """Save the configuration a long-text run used as a product.

        ``score`` defaults to the run's long-text stars and ``remark`` to its remark.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(category="温柔", seeds=[7]); ws, eng, take = ex.ws, ex.engine, ex.take
            >>> lt = ws.longtext.render(take, "第一句。第二句。", eng)
            >>> _ = ws.longtext.score(lt.id, 5, remark="稳")
            >>> p = ws.products.create_from_longtext(lt.id, "长文")
            >>> p.score, p.remark, p.seed
            (5, '稳', 7)
        """
        lt = self._ws.longtext
        run = lt.get(run_id)
        preset = lt.preset_of(run)
        role_id = run.role_id if run.role_id is not None else preset.role_id
        if role_id is None:
            raise InvalidInput(f"long-text run {run_id} has no role")
        return self._insert(
            role_id, name, preset, category=category or preset.clip_category or DEFAULT_CATEGORY,
            score=score if score is not None else run.stars,
            remark=remark if remark is not None else run.remark,
            source_take_id=run.source_take_id, source_longtext_id=run.id)

    def _insert(self, role_id: int, name: str, preset: presets.Preset, *, category: str,
                score: int | None, remark: str, source_take_id: str | None = None,
                source_longtext_id: int | None = None, prompt_text: str | None = None,
                prompt_lang: str | None = None) -> Product:
        name = _clean_name(name)
        extra = {
            "clip_sha256": preset.clip_sha256,
            "prompt_text": preset.prompt_text if prompt_text is None else str(prompt_text),
            "prompt_lang": normalize_lang(prompt_lang or preset.prompt_lang or "zh"),
        }
        with self._ws.store.transaction() as cur:
            if cur.execute("SELECT count(*) FROM products WHERE role_id = ? AND name = ?",
                           [role_id, name]).fetchall()[0][0]:
                raise AlreadyExists(f"this role already has a product named {name!r}")
            row = cur.execute(
                "INSERT INTO products(role_id, name, category, clip_id, gpt_id, sovits_id,"
                " engine_kind, params, aux_ids, score, remark, source_take_id,"
                " source_longtext_id, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                [role_id, name, str(category or DEFAULT_CATEGORY).strip() or DEFAULT_CATEGORY,
                 preset.clip_id, preset.gpt.id if preset.gpt else None,
                 preset.sovits.id if preset.sovits else None, preset.engine_kind,
                 json.dumps(preset.params.canonical(), sort_keys=True, ensure_ascii=False),
                 json.dumps(list(preset.aux_ids)), check_stars(score), str(remark or ""),
                 source_take_id, source_longtext_id, json.dumps(extra, ensure_ascii=False)],
            ).fetchall()
        return self.get(row[0][0])

    # -- reading -----------------------------------------------------------------------------

    def get(self, product_id: int) -> Product:
        """One product by id.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().products.get, 4)
            'ProductNotFound: product 4 does not exist in this workspace'
        """
        return _product(self._ws.store.one_or_raise(
            f"SELECT {_COLS} FROM products WHERE id = ?", [int(product_id)],
            ProductNotFound(product_id)))

    def df(self, role: Any = None, *, name: str | None = None,
           category: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Products of one role or of every role, best score first.

        Args:
            role: a role, or None for all roles (each row names its role).
            name: case-insensitive substring of the name.
            category: one category or several.

        Columns: id, role_id, role, name, category, clip_id, clip_name, prompt_text, gpt_id,
        gpt, sovits_id, sovits, version, n_aux, top_k, top_p, temperature,
        text_split_method, speed_factor, sample_steps, super_sampling, seed, score, remark,
        source_take_id, source_longtext_id, created_at.

        Example:
            >>> import rasv, tempfile
            >>> rasv.open(tempfile.mkdtemp()).products.df().empty
            True
        """
        where, params = ["TRUE"], {}
        if role is not None:
            where.append("p.role_id = $role")
            params["role"] = self._ws.roles.resolve_id(role)
        if name:
            where.append("p.name ILIKE $name")
            params["name"] = "%" + name.replace("%", r"\%").replace("_", r"\_") + "%"
        if category is not None:
            cats = [category] if isinstance(category, str) else list(category)
            where.append("list_contains($cats, p.category)")
            params["cats"] = cats
        raw = self._ws.store.df(
            f"""
            SELECT p.id, p.role_id, r.category || '-' || r.name AS role, p.name, p.category,
                   p.clip_id, c.name AS clip_name, p.extra, p.gpt_id, p.sovits_id,
                   coalesce(ms.version, mg.version) AS version, p.aux_ids, p.params, p.score,
                   p.remark, p.source_take_id, p.source_longtext_id, p.created_at
            FROM products p JOIN roles r ON r.id = p.role_id
            LEFT JOIN clips c ON c.id = p.clip_id
            LEFT JOIN models mg ON mg.id = p.gpt_id
            LEFT JOIN models ms ON ms.id = p.sovits_id
            WHERE {' AND '.join(where)}
            ORDER BY p.score DESC NULLS LAST, p.id DESC
            """,
            params,
        )
        from rasv.takes.namespace import model_labels

        labels = model_labels(self._ws, list(raw["gpt_id"]) + list(raw["sovits_id"]))
        out = raw.drop(columns=["extra", "aux_ids", "params"])
        out.insert(out.columns.get_loc("clip_name") + 1, "prompt_text",
                   [json.loads(e or "{}").get("prompt_text", "") for e in raw["extra"]])
        out.insert(out.columns.get_loc("gpt_id") + 1, "gpt",
                   [labels.get(int(i)) if not pd.isna(i) else None for i in raw["gpt_id"]])
        out.insert(out.columns.get_loc("sovits_id") + 1, "sovits",
                   [labels.get(int(i)) if not pd.isna(i) else None for i in raw["sovits_id"]])
        out.insert(out.columns.get_loc("version") + 1, "n_aux",
                   [len(json.loads(a or "[]")) for a in raw["aux_ids"]])
        parsed = [Params.from_dict(json.loads(p)) for p in raw["params"]]
        at = out.columns.get_loc("score")
        for k, col in enumerate(("top_k", "top_p", "temperature", "text_split_method",
                                 "speed_factor", "sample_steps", "super_sampling", "seed")):
            out.insert(at + k, col, [getattr(p, col) for p in parsed])
        return out

    def preset(self, product_id: int) -> presets.Preset:
        """The product as a :class:`rasv.products.presets.Preset` (what renders and exports use).

        Example:
            >>> from rasv.testing import example
            >>> ex = example(category="温柔", seeds=[7])
            >>> ws, c, take = ex.ws, ex.clip, ex.take
            >>> pre = ws.products.preset(ws.products.create_from_take(take, "p").id)
            >>> pre.engine_kind, pre.seed, pre.clip_path == c.path
            ('fake', 7, True)
        """
        p = self.get(product_id)
        clip_path, clip_name, category = "", "", p.category
        if p.clip_id is not None:
            try:
                c = self._ws.clips.get(p.clip_id)
                clip_name = c.name
                if not p.clip_sha256 or c.sha256 == p.clip_sha256:
                    clip_path = c.path
            except ClipNotFound:
                pass
        if not clip_path:
            clip_path = presets.blob_for(self._ws, p.clip_sha256) or ""
        if not clip_path:
            raise ClipNotFound(p.clip_id, f"product {p.name!r} needs its reference audio")
        return presets.Preset(
            engine_kind=p.engine_kind, clip_id=p.clip_id, clip_sha256=p.clip_sha256,
            clip_path=clip_path, prompt_text=p.prompt_text, prompt_lang=p.prompt_lang,
            params=p.params, clip_name=clip_name, clip_category=category, role_id=p.role_id,
            aux=presets.load_aux(self._ws, list(p.aux_ids)),
            gpt=presets.load_model(self._ws, p.gpt_id),
            sovits=presets.load_model(self._ws, p.sovits_id),
        )

    # -- editing -----------------------------------------------------------------------------

    def update(self, product_id: int, **fields: Any) -> Product:
        """Edit a product's name, category, score, remark, settings or reference.

        Fields: name, category, score, remark, params (a Params or a dict of changes), clip,
        gpt, sovits, aux, prompt_text, prompt_lang.

        Changing the clip takes its transcript as the prompt unless ``prompt_text`` is given.

        Example:
            >>> from rasv.testing import raises, workspace
            >>> raises(workspace().products.update, 1, colour="red")
            'InvalidInput: cannot edit product field(s): colour'
        """
        unknown = set(fields) - _EDITABLE
        if unknown:
            raise InvalidInput(f"cannot edit product field(s): {', '.join(sorted(unknown))}")
        p = self.get(product_id)
        sets: dict[str, Any] = {}
        extra = {"clip_sha256": p.clip_sha256, "prompt_text": p.prompt_text,
                 "prompt_lang": p.prompt_lang}
        if "name" in fields:
            sets["name"] = _clean_name(fields["name"])
        if "category" in fields:
            sets["category"] = str(fields["category"] or DEFAULT_CATEGORY).strip()
        if "score" in fields:
            sets["score"] = check_stars(fields["score"])
        if "remark" in fields:
            sets["remark"] = str(fields["remark"] or "")
        if "params" in fields:
            new = fields["params"]
            if isinstance(new, dict):
                new = p.params.replace(**new)
            if not isinstance(new, Params):
                raise InvalidInput("params must be a Params or a dict of changes")
            sets["params"] = json.dumps(new.canonical(), sort_keys=True, ensure_ascii=False)
        if "clip" in fields:
            c = self._ws.clips.get(int(fields["clip"]))
            if c.role_id != p.role_id:
                raise InvalidInput(f"clip {c.id} belongs to another role")
            sets["clip_id"] = c.id
            extra.update(clip_sha256=c.sha256, prompt_text=c.text, prompt_lang=c.lang)
        for key, col in (("gpt", "gpt_id"), ("sovits", "sovits_id")):
            if key in fields:
                ref = presets.load_model(self._ws, fields[key], key)
                sets[col] = ref.id if ref else None
        if "aux" in fields:
            sets["aux_ids"] = json.dumps([a.id for a in presets.load_aux(self._ws,
                                                                         list(fields["aux"]))])
        if "prompt_text" in fields:
            extra["prompt_text"] = str(fields["prompt_text"] or "")
        if "prompt_lang" in fields:
            extra["prompt_lang"] = normalize_lang(fields["prompt_lang"])
        sets["extra"] = json.dumps(extra, ensure_ascii=False)
        with self._ws.store.transaction() as cur:
            if "name" in sets and cur.execute(
                    "SELECT count(*) FROM products WHERE role_id = ? AND name = ? AND id <> ?",
                    [p.role_id, sets["name"], p.id]).fetchall()[0][0]:
                raise AlreadyExists(f"this role already has a product named {sets['name']!r}")
            assign = ", ".join(f"{k} = ?" for k in sets)
            cur.execute(f"UPDATE products SET {assign}, updated_at = current_timestamp"
                        " WHERE id = ?", [*sets.values(), p.id])
        return self.get(p.id)

    def delete(self, product_ids: int | Iterable[int]) -> int:
        """Delete products. Returns how many.

        Their long-text runs stay; a source take stays while a task, a run or a take score
        uses it, and the reference audio while a clip, take or other product does.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(category="温柔", seeds=[7]); ws, take = ex.ws, ex.take
            >>> p = ws.products.create_from_take(take, "p")
            >>> ws.products.delete(p.id), ws.takes.exists(take)
            (1, True)
        """
        ids = id_list(product_ids)
        with self._ws.store.transaction() as cur:
            rows = cur.execute(
                "SELECT id, source_take_id, json_extract_string(extra, '$.clip_sha256')"
                " FROM products WHERE list_contains(?, id)", [ids]).fetchall()
            missing = set(ids) - {r[0] for r in rows}
            if missing:
                raise ProductNotFound(min(missing))
            cur.execute("UPDATE longtext_runs SET product_id = NULL"
                        " WHERE list_contains(?, product_id)", [ids])
            cur.execute("DELETE FROM products WHERE list_contains(?, id)", [ids])
            drop_unused_takes(self._ws, [r[1] for r in rows], keep_scored=True)
            # A product keeps its reference audio even after the clip is deleted.
            blobs = {b for b in (self._ws.blobs.find(r[2]) for r in rows if r[2]) if b}
            self._ws.store.after_commit(lambda: self._ws.release_files(blobs))
        return len(rows)

    # -- export ------------------------------------------------------------------------------

    def export_request(self, product_id: int, text: str = "",
                       text_lang: str | None = None) -> dict[str, Any]:
        """The exact ``api_v2`` ``POST /tts`` body for this product (absolute local paths).

        ``text`` and ``text_lang`` fill the request's text; the language defaults to the
        reference's.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(category="温柔", seeds=[7]); ws, take = ex.ws, ex.take
            >>> p = ws.products.create_from_take(take, "p")
            >>> body = ws.products.export_request(p.id, "Good night.", "en")
            >>> body["text_lang"], body["prompt_text"], body["seed"], body["media_type"]
            ('en', '参考。', 7, 'wav')
        """
        preset = self.preset(product_id)
        lang = normalize_lang(text_lang) if text_lang else (preset.prompt_lang or "zh")
        return presets.request(self._ws, preset, text, lang).to_api_body()

    def export(self, product_ids: int | Iterable[int], dest: str | os.PathLike, *,
               include_models: bool = False, merge: bool = False) -> Path:
        """Export products as a zip pack (see :mod:`rasv.products.packs` for the layout).

        Args:
            product_ids: one id or several (any roles).
            dest: the zip file to write (replaced atomically).
            include_models: copy the GPT and SoVITS files into the pack.
            merge: one folder per (GPT, SoVITS) pair instead of one per product.

        Example:
            >>> from rasv.testing import example
            >>> ex = example(category="温柔", seeds=[7]); ws, take = ex.ws, ex.take
            >>> import zipfile
            >>> p = ws.products.create_from_take(take, "温柔")
            >>> z = zipfile.ZipFile(ws.products.export([p.id], ws.root / "out" / "pack.zip"))
            >>> sorted(n.rsplit("/", 1)[-1] for n in z.namelist() if n.endswith(".json"))
            ['infer_config.json', 'provenance.json']
        """
        from rasv.products.packs import write_pack

        export_target(dest, (".zip",))  # a wrong target fails before anything is read
        ids = id_list(product_ids)
        if not ids:
            raise InvalidInput("choose at least one product to export")
        return write_pack(self._ws, [self.get(i) for i in ids], Path(dest),
                          include_models=include_models, merge=merge)


def _clean_name(name: Any) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise InvalidInput("a product needs a name")
    return text


__all__ = ["Product", "Products"]
