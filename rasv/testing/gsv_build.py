"""Lay out a real GPT-SoVITS folder with small random-init weights (no download, no weights shipped).

Run by the interpreter that has GPT-SoVITS installed (its own virtual environment), not by
rasv's: it builds every model with GPT-SoVITS's own classes, so the files load through
GPT-SoVITS's real loaders exactly as trained weights would. The audio they make is noise; the
pipeline around it (text frontend, BERT, HuBERT, t2s GPT, SoVITS, speaker model, api_v2) is
the real one. Nothing here is imported by rasv at run time, so the torch imports stay inside
functions.

Usage (with GPT-SoVITS's python)::

    python gsv_build.py ROOT --g2pw-json DIR    # weights and data
    python gsv_build.py ROOT --link-checkout     # + the code, as an upstream checkout has it
    python gsv_build.py --nltk-tagger DIR        # nltk's English tagger, trained here

``ROOT`` becomes a GPT-SoVITS data folder: ``GPT_weights*/``, ``SoVITS_weights*/``,
``GPT_SoVITS/pretrained_models/…``, ``GPT_SoVITS/text/G2PWModel/`` and
``GPT_SoVITS/configs/tts_infer.yaml``. ``--link-checkout`` links GPT-SoVITS's code into ROOT
the way an upstream checkout has it (``api_v2.py``, ``GPT_SoVITS/TTS_infer_pack`` …).

Example:
    >>> sorted(WEIGHTS)
    ['v1', 'v2', 'v2Pro', 'v2ProPlus']
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: version → (GPT file, SoVITS file), relative to the root, named as GPT-SoVITS's trainer names them.
WEIGHTS: dict[str, tuple[str, str]] = {
    "v1": ("GPT_weights/ann1-e10.ckpt", "SoVITS_weights/ann1_e8_s96.pth"),
    "v2": ("GPT_weights_v2/ann2-e10.ckpt", "SoVITS_weights_v2/ann2_e8_s96.pth"),
    "v2Pro": ("GPT_weights_v2Pro/annp-e10.ckpt", "SoVITS_weights_v2Pro/annp_e8_s96.pth"),
    "v2ProPlus": ("GPT_weights_v2ProPlus/annpp-e10.ckpt",
                  "SoVITS_weights_v2ProPlus/annpp_e8_s96.pth"),
}
#: A second v2 SoVITS (another epoch of the same voice): a same-version weight switch.
EXTRA_SOVITS = {"v2": "SoVITS_weights_v2/ann2_e4_s48.pth"}

BERT_DIR = "GPT_SoVITS/pretrained_models/chinese-roberta-wwm-ext-large"
HUBERT_DIR = "GPT_SoVITS/pretrained_models/chinese-hubert-base"
SV_FILE = "GPT_SoVITS/pretrained_models/sv/pretrained_eres2netv2w24s4ep4.ckpt"
G2PW_DIR = "GPT_SoVITS/text/G2PWModel"
CONFIG_FILE = "GPT_SoVITS/configs/tts_infer.yaml"

#: EOS logit of the random GPT: a random GPT never chooses EOS, so every request would run to
#: the step cap. A constant EOS logit near the top of the random ones ends takes after a few
#: dozen tokens at top_k 5–30 (see ``_gpt_state``).
EOS_LOGIT = 1.45
#: GPT ``max_sec``: caps a segment at ``50 * max_sec`` steps (2 × max_sec seconds of audio).
MAX_SEC = 3


def code_dir() -> Path:
    """The folder that holds GPT-SoVITS's ``GPT_SoVITS`` package in this interpreter."""
    import importlib.util

    spec = importlib.util.find_spec("GPT_SoVITS")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("GPT-SoVITS is not installed in this interpreter (no GPT_SoVITS package)")
    return Path(list(spec.submodule_search_locations)[0]).resolve().parent


def _import_paths() -> None:
    # GPT-SoVITS imports its modules as top-level names (``module.models``, ``text``…).
    base = code_dir()
    for p in (base / "GPT_SoVITS" / "eres2net", base / "GPT_SoVITS", base):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))


def _save(obj: Any, path: Path, tag: bytes | None = None) -> None:
    import io

    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    if tag is not None:  # GPT-SoVITS's trainer writes the version over the zip's "PK"
        data = tag + data[2:]
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _half(state: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}


def _thin(state: dict[str, Any], limit: int = 1 << 18) -> dict[str, Any]:
    """Big tensors as their first row repeated (stride 0): torch saves only that row.

    GPT-SoVITS's loaders copy values into their own parameters, so a broadcast tensor loads
    like a dense one; the files stay a few MB instead of hundreds (BERT's vocabulary, g2pW's
    descriptor tables and the speaker model are large whatever the layer count).
    """
    out = {}
    for k, v in state.items():
        if v.is_floating_point() and v.dim() >= 1 and v.numel() > limit:
            v = v[:1].clone().expand(v.shape)
        out[k] = v
    return out


def _small_pretrained(root: Path, folder: str, keep: str, seed: int,
                      model: Callable[[str], Any], **smaller: Any) -> None:
    """A pretrained-model folder: GPT-SoVITS's config made ``smaller``, random half weights.

    ``keep`` (the tokenizer or preprocessor file) is copied as is; ``model`` builds the
    network from the folder holding the new ``config.json``.
    """
    import torch

    src = code_dir() / folder
    dst = root / folder
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / keep, dst / keep)
    cfg = json.loads((src / "config.json").read_text(encoding="utf-8"))
    cfg.update(smaller)
    (dst / "config.json").write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    torch.manual_seed(seed)
    torch.save(_thin(_half(model(str(dst)).state_dict())), dst / "pytorch_model.bin")


def build_bert(root: Path) -> None:
    """Chinese RoBERTa stand-in: hidden size 1024 (GPT and SoVITS need it), two layers."""
    from text.chinese_bert import BertForMaskedLM, _load_config

    # Two layers: GPT-SoVITS reads the third-from-last hidden state.
    _small_pretrained(root, BERT_DIR, "tokenizer.json", 1,
                      lambda d: BertForMaskedLM(_load_config(d)),
                      num_hidden_layers=2, intermediate_size=256)


def build_hubert(root: Path) -> None:
    """Chinese HuBERT stand-in: hidden size 768 (the SoVITS ssl_dim), one small layer."""
    from feature_extractor.cnhubert import HubertInferenceModel, _load_config

    _small_pretrained(root, HUBERT_DIR, "preprocessor_config.json", 2,
                      lambda d: HubertInferenceModel(_load_config(d)),
                      num_hidden_layers=1, intermediate_size=256, conv_dim=[64] * 7,
                      num_conv_pos_embeddings=16, num_attention_heads=4)


def build_sv(root: Path) -> None:
    """The v2Pro speaker model (ERes2NetV2 w24s4; its shape is fixed by GPT-SoVITS)."""
    import torch
    from ERes2NetV2 import ERes2NetV2

    torch.manual_seed(3)
    model = ERes2NetV2(baseWidth=24, scale=4, expansion=4)
    _save(_thin(_half(model.state_dict())), root / SV_FILE)


def build_g2pw(root: Path, json_dir: Path) -> None:
    """g2pW stand-in: a tiny random model over GPT-SoVITS's real character tables.

    The two bopomofo tables come from the ``g2pw`` wheel (``json_dir``); without this
    folder GPT-SoVITS downloads its g2pW bundle on the first Chinese text.
    """
    import torch
    from text.g2pw.dataset import get_char_phoneme_labels, get_phoneme_labels
    from text.g2pw.torch_api import G2PWModel
    from text.g2pw.utils import load_config

    src = code_dir() / G2PW_DIR
    dst = root / G2PW_DIR
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("config.py", "POLYPHONIC_CHARS.txt", "MONOPHONIC_CHARS.txt"):
        shutil.copy2(src / name, dst / name)
    for name in ("bopomofo_to_pinyin_wo_tune_dict.json", "char_bopomofo_dict.json"):
        if not (json_dir / name).is_file():
            raise SystemExit(f"{name} not found in {json_dir} (it ships in the g2pw wheel)")
        shutil.copy2(json_dir / name, dst / name)
    config = load_config(str(dst / "config.py"), use_default=True)
    lines = (dst / "POLYPHONIC_CHARS.txt").read_text(encoding="utf-8").strip().split("\n")
    poly = [line.split("\t") for line in lines]
    labels, char2phonemes = (get_char_phoneme_labels(poly) if config.use_char_phoneme
                             else get_phoneme_labels(poly))
    bert_cfg = json.loads((code_dir() / BERT_DIR / "config.json").read_text(encoding="utf-8"))
    torch.manual_seed(4)
    model = G2PWModel(bert_cfg["vocab_size"], 64, 1, 1, 128, len(labels), len(char2phonemes))
    torch.save(_thin(model.state_dict()), dst / "g2pw.pth")


def _gpt_state(version: str, seed: int) -> dict[str, Any]:
    """A random t2s GPT in the layout GPT-SoVITS's trainer saves (``weight``, ``config``)."""
    import torch
    import yaml
    from AR.models import t2s_model

    cfg = yaml.safe_load((code_dir() / "GPT_SoVITS/configs/s1longer-v2.yaml").read_text())
    cfg["model"].update(phoneme_vocab_size=512 if version == "v1" else 732, embedding_dim=128,
                        hidden_dim=128, head=4, n_layer=2, linear_units=256)
    cfg["data"]["max_sec"] = MAX_SEC
    torch.manual_seed(seed)
    # The training-only accuracy metric needs torchmetrics, which an inference install lacks.
    metric = t2s_model._build_multiclass_accuracy_for_training
    t2s_model._build_multiclass_accuracy_for_training = lambda *a, **k: None
    try:
        model = t2s_model.Text2SemanticDecoder(cfg, build_t2s_transformer=False)
    finally:
        t2s_model._build_multiclass_accuracy_for_training = metric
    with torch.no_grad():
        # Pin one hidden dimension of the last block's output to 1 and read EOS from it alone,
        # so EOS gets a constant logit that the sampler picks now and then.
        last = model.h.layers[-1]
        last.norm2.weight[0] = 0.0
        last.norm2.bias[0] = 1.0
        model.ar_predict_layer.weight[:, 0] = 0.0
        model.ar_predict_layer.weight[model.EOS] = 0.0
        model.ar_predict_layer.weight[model.EOS, 0] = EOS_LOGIT
    weight = {f"model.{k}": v for k, v in model.state_dict().items()}
    return {"weight": _half(weight), "config": cfg, "info": "GPT-e10"}


def _sovits_state(version: str, seed: int) -> dict[str, Any]:
    """A random SoVITS model, smaller than GPT-SoVITS's but loaded by the same code."""
    import torch
    from module.models import SynthesizerTrn

    name = {"v2Pro": "s2v2Pro.json", "v2ProPlus": "s2v2ProPlus.json"}.get(version, "s2.json")
    hps = json.loads((code_dir() / "GPT_SoVITS/configs" / name).read_text(encoding="utf-8"))
    hps["model"].update(version=version, semantic_frame_rate="25hz", filter_channels=192,
                        n_layers=2, upsample_initial_channel=32, resblock_kernel_sizes=[3],
                        resblock_dilation_sizes=[[1, 3, 5]])
    torch.manual_seed(seed)
    model = SynthesizerTrn(hps["data"]["filter_length"] // 2 + 1,
                           hps["train"]["segment_size"] // hps["data"]["hop_length"],
                           n_speakers=hps["data"]["n_speakers"], **hps["model"])
    # A trained quantizer has its k-means codebook; a fresh one would run k-means (and ask
    # torch.distributed) on the first reference it sees.
    for name_, buf in model.named_buffers():
        if name_.endswith("inited"):
            buf.fill_(1.0)
    weight = {k: v for k, v in model.state_dict().items() if "enc_q" not in k}
    return {"weight": _thin(_half(weight)), "config": hps, "info": "8epoch_96iteration"}


def build_weights(root: Path) -> dict[str, tuple[str, str]]:
    """GPT and SoVITS files for v1, v2, v2Pro and v2ProPlus (plus a second v2 SoVITS)."""
    tags = {"v2Pro": b"05", "v2ProPlus": b"06"}  # v1/v2 are saved as plain zips, as upstream does
    for i, (version, (gpt, sovits)) in enumerate(WEIGHTS.items()):
        _save(_gpt_state(version, 100 + i), root / gpt)
        _save(_sovits_state(version, 200 + i), root / sovits, tags.get(version))
    for j, (version, sovits) in enumerate(EXTRA_SOVITS.items()):
        _save(_sovits_state(version, 300 + j), root / sovits, tags.get(version))
    return WEIGHTS


def write_config(root: Path) -> Path:
    """``tts_infer.yaml`` with a ``custom`` block on the v2 pair (absolute paths)."""
    import yaml

    gpt, sovits = WEIGHTS["v2"]
    custom = {"device": "cpu", "is_half": False, "version": "v2",
              "t2s_weights_path": str(root / gpt), "vits_weights_path": str(root / sovits),
              "bert_base_path": str(root / BERT_DIR), "cnhuhbert_base_path": str(root / HUBERT_DIR)}
    path = root / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"custom": custom}, sort_keys=False), encoding="utf-8")
    return path


def link_checkout(root: Path) -> None:
    """Make ROOT look like an upstream checkout: the code beside the data, at the same paths.

    Every code file is a symbolic link into the installed package (nothing is copied); the
    data folders built above stay real folders inside the linked tree.
    """
    base = code_dir()
    for top in ("GPT_SoVITS", "tools"):
        for dirpath, dirnames, filenames in os.walk(base / top):
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", "pretrained_models")]
            rel = Path(dirpath).relative_to(base)
            (root / rel).mkdir(parents=True, exist_ok=True)
            for f in filenames:
                link = root / rel / f
                if not link.exists() and not link.is_symlink():
                    link.symlink_to(Path(dirpath) / f)
    # split-lang's language model sits in pretrained_models beside the code that loads it.
    langdetect = base / "GPT_SoVITS" / "pretrained_models" / "fast_langdetect"
    if langdetect.is_dir():
        shutil.copytree(langdetect, root / "GPT_SoVITS" / "pretrained_models" / "fast_langdetect",
                        dirs_exist_ok=True)
    for script in ("api_v2.py", "api.py", "config.py"):
        link = root / script
        if not link.exists():
            link.symlink_to(base / script)


def build_tagger(dest: Path) -> None:
    """nltk's English part-of-speech tagger (json files), trained on a few sentences here.

    GPT-SoVITS's English frontend tags words to pick a homograph's reading; nltk would
    download its tagger. Any tags will do for noise-making weights.
    """
    from nltk.tag.perceptron import PerceptronTagger

    sentences = [
        [("the", "DT"), ("cat", "NN"), ("reads", "VBZ"), ("a", "DT"), ("book", "NN"), (".", ".")],
        [("I", "PRP"), ("read", "VBD"), ("it", "PRP"), ("yesterday", "NN"), (".", ".")],
        [("we", "PRP"), ("live", "VBP"), ("in", "IN"), ("a", "DT"), ("complex", "JJ"),
         ("world", "NN"), (".", ".")],
    ]
    tagger = PerceptronTagger(load=False)
    tagger.train(sentences, nr_iter=3)
    out = dest / "taggers" / "averaged_perceptron_tagger_eng"
    out.mkdir(parents=True, exist_ok=True)
    for param, name in zip(tagger.encode_json_obj(), tagger.param_files("eng"), strict=True):
        (out / name).write_text(json.dumps(param), encoding="utf-8")


def build(root: str | os.PathLike, g2pw_json: str | os.PathLike) -> Path:
    """Build everything under ``root``; returns the ``tts_infer.yaml`` path."""
    _import_paths()
    out = Path(root).resolve()
    out.mkdir(parents=True, exist_ok=True)
    build_bert(out)
    build_hubert(out)
    build_sv(out)
    build_g2pw(out, Path(g2pw_json))
    build_weights(out)
    return write_config(out)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?")
    ap.add_argument("--g2pw-json")
    ap.add_argument("--link-checkout", action="store_true")
    ap.add_argument("--nltk-tagger", metavar="DIR")
    args = ap.parse_args(argv)
    if args.nltk_tagger:
        build_tagger(Path(args.nltk_tagger))
        return 0
    if not args.root:
        ap.error("ROOT is required")
    if args.link_checkout:
        link_checkout(Path(args.root).resolve())
        return 0
    if not args.g2pw_json:
        ap.error("--g2pw-json is required to build weights")
    cfg = build(args.root, args.g2pw_json)
    print(json.dumps({"root": str(Path(args.root).resolve()), "config": str(cfg),
                      "weights": WEIGHTS, "extra_sovits": EXTRA_SOVITS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
