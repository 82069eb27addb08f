"""Product packs: the zip that carries finished products to other tools.

One folder per product (or, with ``merge``, per GPT/SoVITS pair), holding:

* ``infer_config.json``, readable by two consumers at once:

  - RefAudioSelectorV2's product pack (seed-inventory §3.12): ``version``, ``gpt_path``,
    ``sovits_path`` (``<gsv version>/<file>``), ``introduction`` and ``product_list``
    (name, default_selected, category, audio_path, content, language, top_k, top_p,
    temperature, text_delimiter, speed, inp_refs, score, remark). Its bugs are fixed: the
    file is real JSON (quotes and newlines in transcripts are escaped), ``sample_steps``
    and ``if_sr`` are included, and audio files are not named after transcripts;
  - GSVI's character card (X-T-E-R's GPT-SoVITS-Inference / Uni-TTS): ``gpt_path`` and
    ``sovits_path`` relative to the folder, and ``emotion_list`` mapping each product name
    (and ``default``, the first) to ``ref_wav_path``, ``prompt_text``, ``prompt_language``.

  rasv adds ``text_split_method``, ``repetition_penalty``, ``seed`` and the full
  ``api_v2`` body (``request``) to each product entry; readers ignore keys they do not know.
* ``refer_audio/`` and ``inp_refs/``: the reference and aux audio under names derived from
  the clip file names, made safe and unique on Windows (no transcripts in names).
* ``<gsv version>/``: the checkpoint files when ``include_models`` (else an empty folder
  where the user drops them, as RefAudioSelectorV2 did).
* ``refer_audio.list``: a GPT-SoVITS ``.list`` of the chosen clips.
* ``provenance.json``: engine, checkpoint and clip hashes, seeds, source takes and runs.

Example:
    >>> text_delimiter("cut3"), text_delimiter("cut0")
    ('。', '')
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasv.clips.listfile import list_lang
from rasv.errors import ModelNotFound
from rasv.filenames import UniqueNames, export_target, safe_filename
from rasv.products import presets
from rasv.records import Model

if TYPE_CHECKING:
    from rasv.products.namespace import Product
    from rasv.workspace import Workspace

#: Version string written in ``infer_config.json`` (the field both readers carry along).
PACK_VERSION = "1.0.1"
#: RefAudioSelectorV2's default delimiter, the closest equivalent of GPT-SoVITS's cut5.
RAS_DEFAULT_DELIMITER = ',.;?!、，。？！；：…"'
_DELIMITERS = {"cut0": "", "cut3": "。", "cut4": ".", "cut5": RAS_DEFAULT_DELIMITER}

INTRODUCTION = (
    "Exported by rasv. gpt_path/sovits_path and every audio path are relative to this folder. "
    "product_list follows RefAudioSelectorV2's product pack; emotion_list is a GSVI character "
    "card; each product's 'request' is the exact GPT-SoVITS api_v2 POST /tts body (fill 'text'; "
    "ref paths are relative to this folder)."
)


def text_delimiter(method: str) -> str:
    """RefAudioSelectorV2's ``text_delimiter`` (GPT-SoVITS ``api.py`` ``cut_punc``) that
    matches a ``text_split_method``; cut1/cut2 have no delimiter form and get the default.

    Example:
        >>> text_delimiter("cut1") == RAS_DEFAULT_DELIMITER
        True
    """
    return _DELIMITERS.get(method, RAS_DEFAULT_DELIMITER)


def _stem_ext(name: str, stored: str) -> str:
    stem = Path(name).stem if name else Path(stored).stem
    return f"{stem}{Path(stored).suffix.lower() or '.wav'}"


class _Folder:
    """One folder of the pack being assembled."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.products: list[tuple[Product, presets.Preset]] = []
        self.names = UniqueNames()
        self.files: dict[str, str] = {}  # arcname -> absolute source path
        self.by_sha: dict[tuple[str, str], str] = {}  # (subfolder, sha256) -> arcname

    def audio(self, sub: str, sha: str, display: str, src: Path) -> str:
        key = (sub, sha)
        if key not in self.by_sha:
            arc = f"{sub}/{self.names.take(display)}"
            self.by_sha[key] = arc
            self.files[arc] = str(src)
        return self.by_sha[key]


def write_pack(ws: Workspace, products: list[Product], dest: Path, *,
               include_models: bool = False, merge: bool = False) -> Path:
    """Write products to a zip pack at ``dest`` (see the module docstring).

    Everything is checked before the first byte is written (a missing model file with
    ``include_models`` is an error, not a half pack); the zip appears atomically.
    """
    dest = export_target(dest, (".zip",))
    roles = {r.id: r for r in (ws.roles.get(p.role_id) for p in products)}
    folders: dict[Any, _Folder] = {}
    top = UniqueNames()
    for p in products:
        preset = ws.products.preset(p.id)
        key = (p.gpt_id, p.sovits_id, p.engine_kind) if merge else p.id
        if key not in folders:
            role = roles[p.role_id]
            if merge:
                label = "-".join(x for x in (
                    role.label, _version(preset),
                    Path(preset.gpt.name).stem if preset.gpt else "",
                    Path(preset.sovits.name).stem if preset.sovits else "") if x)
            else:
                label = f"{role.label}-{p.name}-{p.id}"
            folders[key] = _Folder(top.take(safe_filename(label, max_len=100)).rstrip("."))
        folders[key].products.append((p, preset))

    plans = [_plan(ws, f, roles, include_models) for f in folders.values()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=dest.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for folder, (config, list_text, provenance, model_dirs) in zip(
                    folders.values(), plans, strict=True):
                base = folder.name
                for d in model_dirs:
                    z.writestr(f"{base}/{d}/", b"")
                for arc, src in folder.files.items():
                    z.write(src, f"{base}/{arc}", compress_type=zipfile.ZIP_STORED)
                z.writestr(f"{base}/infer_config.json",
                           json.dumps(config, ensure_ascii=False, indent=4))
                z.writestr(f"{base}/refer_audio.list", list_text)
                z.writestr(f"{base}/provenance.json",
                           json.dumps(provenance, ensure_ascii=False, indent=2, default=str))
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)`` … when taken (emotion names of a card)."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name} ({n})"
    used.add(candidate)
    return candidate


def _version(preset: presets.Preset) -> str:
    for ref in (preset.sovits, preset.gpt):
        if ref is not None and ref.version:
            return ref.version
    return "models" if (preset.sovits or preset.gpt) else ""


def _model_arc(folder: _Folder, ref: Model | None, version: str,
               include: bool) -> str:
    if ref is None:
        return ""
    arc = f"{version}/{safe_filename(ref.name)}"
    if include:
        src = Path(ref.path)
        if not src.exists():
            raise ModelNotFound(ref.id, f"its file {src} is missing, so it cannot be exported")
        folder.files[arc] = str(src)
    return arc


def _plan(ws: Workspace, folder: _Folder, roles: dict[int, Any],
          include_models: bool) -> tuple[dict[str, Any], str, dict[str, Any], list[str]]:
    first = folder.products[0][1]
    version = _version(first)
    gpt_arc = _model_arc(folder, first.gpt, version, include_models)
    sovits_arc = _model_arc(folder, first.sovits, version, include_models)
    product_list: list[dict[str, Any]] = []
    emotions: dict[str, dict[str, str]] = {}
    list_lines: list[str] = []
    prov: list[dict[str, Any]] = []
    emotion_names: set[str] = set()
    for k, (p, preset) in enumerate(folder.products):
        role = roles[p.role_id]
        ref_arc = folder.audio("refer_audio", preset.clip_sha256,
                               _stem_ext(preset.clip_name, preset.clip_path),
                               ws.abspath(preset.clip_path))
        aux_entries, aux_arcs = [], []
        for a in preset.aux:
            arc = folder.audio("inp_refs", a.sha256, _stem_ext(a.name, a.path), ws.abspath(a.path))
            aux_arcs.append(arc)
            aux_entries.append({"role_name": a.source_role, "category": a.category,
                                "audio_path": arc, "content": a.text, "language": a.lang})
        prm = preset.params
        request = presets.request(ws, preset, "", preset.prompt_lang or "zh").to_api_body()
        request["ref_audio_path"] = ref_arc
        request["aux_ref_audio_paths"] = aux_arcs
        entry = {
            "name": p.name, "default_selected": k == 0, "category": p.category,
            "audio_path": ref_arc, "content": preset.prompt_text,
            "language": preset.prompt_lang, "top_k": prm.top_k, "top_p": prm.top_p,
            "temperature": prm.temperature,
            "text_delimiter": text_delimiter(prm.text_split_method),
            "speed": prm.speed_factor, "sample_steps": prm.sample_steps,
            "if_sr": prm.super_sampling, "inp_refs": aux_entries, "score": p.score,
            "remark": p.remark, "text_split_method": prm.text_split_method,
            "repetition_penalty": prm.repetition_penalty, "seed": prm.seed,
            "request": request,
        }
        product_list.append(entry)
        card = {"ref_wav_path": ref_arc, "prompt_text": preset.prompt_text,
                "prompt_language": preset.prompt_lang}
        if k == 0:
            emotions["default"] = card
            emotion_names.add("default")
        if p.name != "default":
            emotions[_unique(p.name, emotion_names)] = card
        text = " ".join(preset.prompt_text.split()).replace("|", "｜")
        line = f"{ref_arc}|{role.name}|{list_lang(preset.prompt_lang or 'zh')}|{text}"
        if line not in list_lines:
            list_lines.append(line)
        source_engine = None
        if p.source_take_id:
            rows = ws.store.rows("SELECT engine FROM takes WHERE id = ?", [p.source_take_id])
            source_engine = rows[0][0] if rows else None
        prov.append({
            "product_id": p.id, "name": p.name, "role": role.label,
            "source_take_id": p.source_take_id, "source_longtext_id": p.source_longtext_id,
            "engine": source_engine, "seed": prm.seed, "preset": preset.to_json(),
            "files": {"reference": ref_arc, "aux": aux_arcs},
        })
    config = {
        "version": PACK_VERSION,
        "gsv_version": version or None,
        "gpt_path": gpt_arc,
        "sovits_path": sovits_arc,
        "introduction": INTRODUCTION,
        "emotion_list": emotions,
        "product_list": product_list,
    }
    from rasv import __version__

    provenance = {
        "generator": f"rasv {__version__}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "models_included": include_models,
        "products": prov,
    }
    model_dirs = [version] if version and not include_models else []
    return config, "\n".join(list_lines) + "\n", provenance, model_dirs


__all__ = ["INTRODUCTION", "PACK_VERSION", "RAS_DEFAULT_DELIMITER", "text_delimiter",
           "write_pack"]
