"""Engines for rasv: GPT-SoVITS over HTTP or in-process, and an offline espeak-ng engine.

- :class:`GsvApiV2` — a running ``api_v2.py`` server (the main engine);
- :class:`GsvApiV1` — the legacy ``api.py`` server, with its limits declared;
- :class:`GsvServer` — start ``api_v2.py`` with GPT-SoVITS's interpreter; ``GsvServer.pool``;
- :class:`GsvInProcess` — ``TTS_infer_pack.TTS`` in a child process;
- :class:`EspeakEngine` — espeak-ng speech for demos and tests (not a voice cloner);
- :class:`RayPool` — one engine per Ray actor, on any node of a cluster (``rasv[ray]``);
- :func:`build_engine` — an engine from its short form (a URL, ``espeak``, ``fake``);
- :func:`find_weights` — the checkpoints of a GPT-SoVITS install with their versions;
- :func:`synth` — low-level espeak-ng synthesis.

Every engine implements :class:`rasv.Engine`. See ``docs/engines.md``.

Example:
    >>> import gsv_bridge
    >>> sorted(n for n in gsv_bridge.__all__ if n.startswith("Gsv"))
    ['GsvApiV1', 'GsvApiV2', 'GsvInProcess', 'GsvServer']
"""

from gsv_bridge.api_v1 import GsvApiV1
from gsv_bridge.api_v2 import GsvApiV2, ServerInfo
from gsv_bridge.espeak import synth
from gsv_bridge.espeak_engine import EspeakEngine
from gsv_bridge.factory import build_engine
from gsv_bridge.inprocess import GsvInProcess
from gsv_bridge.paths import PathMap
from gsv_bridge.ray_pool import RayPool
from gsv_bridge.server import GsvServer, ServerPool
from gsv_bridge.weights import find_weights

__all__ = [
    "EspeakEngine",
    "GsvApiV1",
    "GsvApiV2",
    "GsvInProcess",
    "GsvServer",
    "PathMap",
    "RayPool",
    "ServerInfo",
    "ServerPool",
    "build_engine",
    "find_weights",
    "synth",
]
