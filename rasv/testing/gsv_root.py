"""A stand-in GPT-SoVITS folder, so the process-starting engines can be tried without one.

:func:`make_gsv_root` writes the two entry points rasv starts in a real GPT-SoVITS install:

* ``api_v2.py`` runs :class:`rasv.testing.fake_gsv.FakeGsvServer` with ``api_v2.py``'s own
  flags (``-a``, ``-p``, ``-c``), for :class:`gsv_bridge.GsvServer`;
* ``GPT_SoVITS/TTS_infer_pack/TTS.py`` holds ``TTS`` and ``TTS_Config`` with GPT-SoVITS's
  ``run()`` contract (a generator of ``(sample_rate, int16 array)``), for
  :class:`gsv_bridge.GsvInProcess`.

Neither loads a model: the audio is a deterministic tone whose length follows the text and
``speed_factor``. The scripts find this rasv through an absolute path written into them, so
they run under any interpreter that has numpy and PyYAML, with no ``PYTHONPATH``.

Example:
    >>> import tempfile
    >>> root = make_gsv_root(tempfile.mkdtemp())
    >>> sorted(p.name for p in root.iterdir())
    ['GPT_SoVITS', 'api_v2.py']
"""

from __future__ import annotations

import os
from pathlib import Path

import rasv

_HEADER = """\
# A stand-in written by rasv.testing.make_gsv_root: no model is loaded.
import os
import sys

sys.path.insert(0, {rasv_parent!r})
"""

_API_V2 = """\
from rasv.testing.fake_gsv import main

main(sys.argv[1:])
"""

_TTS = """\
import numpy as np
import yaml

from rasv.models.checkpoints import sniff
from rasv.langs import count_units
from rasv.testing.fake_gsv import rate_for


class TTS_Config:
    def __init__(self, configs):
        with open(configs, encoding="utf-8") as f:
            self.__dict__.update(yaml.safe_load(f)["custom"])
        self.configs_path = configs


class TTS:
    def __init__(self, configs):
        self.configs = configs if isinstance(configs, TTS_Config) else TTS_Config(configs)
        self.prompt_cache = {"ref_audio_path": None, "prompt_text": None}
        for path, load in ((self.configs.t2s_weights_path, self.init_t2s_weights),
                           (self.configs.vits_weights_path, self.init_vits_weights)):
            if path and os.path.exists(path):
                load(path)

    def init_t2s_weights(self, path):
        sniff(path)  # raises for a file that is not a GPT checkpoint
        self.configs.t2s_weights_path = path

    def init_vits_weights(self, path):
        self.configs.version = sniff(path).version or self.configs.version
        self.configs.vits_weights_path = path

    def set_ref_audio(self, path):
        self.prompt_cache["ref_audio_path"] = path

    def run(self, inputs):
        if not os.path.exists(inputs["ref_audio_path"]):
            raise ValueError(inputs["ref_audio_path"] + " not exists")
        sr = rate_for(self.configs.version, inputs.get("super_sampling", False), True)
        seconds = 0.2 * max(count_units(inputs["text"]), 1) / inputs.get("speed_factor", 1.0)
        t = np.arange(int(sr * seconds)) / sr
        rng = np.random.default_rng(inputs.get("seed", 0))
        tone = np.sin(2 * np.pi * (120 + 80 * rng.random()) * t) * np.hanning(len(t))
        yield sr, (tone * 8000).astype(np.int16)
"""


def make_gsv_root(path: str | os.PathLike) -> Path:
    """Write a stand-in GPT-SoVITS folder at ``path`` (created if missing); return it.

    Example:
        >>> import tempfile
        >>> root = make_gsv_root(tempfile.mkdtemp())
        >>> (root / "GPT_SoVITS" / "TTS_infer_pack" / "TTS.py").exists()
        True
    """
    root = Path(path)
    pack = root / "GPT_SoVITS" / "TTS_infer_pack"
    pack.mkdir(parents=True, exist_ok=True)
    (root / "GPT_SoVITS" / "configs").mkdir(exist_ok=True)
    header = _HEADER.format(rasv_parent=str(Path(rasv.__file__).resolve().parent.parent))
    (root / "api_v2.py").write_text(header + _API_V2, encoding="utf-8")
    (pack / "__init__.py").write_text("", encoding="utf-8")
    (pack / "TTS.py").write_text(header + _TTS, encoding="utf-8")
    return root


__all__ = ["make_gsv_root"]
