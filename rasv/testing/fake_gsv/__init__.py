"""Protocol-faithful fake GPT-SoVITS servers (``api_v2.py`` and the legacy ``api.py``).

Real HTTP on 127.0.0.1 with GPT-SoVITS's routes, validation order, messages and error shapes
(``research/gsv-bridge.md`` §0, §1), its quiet failures (HTTP 200 with one second of 16 kHz
silence, a silent fallback nobody sees, stale reference caches) and its habits (requests
served one at a time, the YAML config rewritten on every weight switch, a failed switch that
leaves the config pointing at the bad file). Audio is deterministic like
:class:`rasv.testing.FakeEngine`: its length follows the text and ``speed_factor``, the seed
and reference jitter it, and the sample rate follows the SoVITS version sniffed from the
checkpoint file.

Faults are queued with :meth:`FakeGsvServer.inject`; :meth:`~FakeGsvServer.crash` and
:meth:`~FakeGsvServer.restart` simulate a dead server. ``python -m rasv.testing.fake_gsv
--port N`` runs one as a process (it also takes ``api_v2.py``'s ``-a/-p/-c`` flags, so a
stand-in ``api_v2.py`` can delegate to it).

Modules (an arrow reads "imports")::

    cli (__main__) ─┬─► v2_server ─┬─► request   (TTS_Request: fields, coercion, 422s)
                    │              └─► base      (HTTP serving, faults, call log, audio)
                    └─► v1_server ───► base
    processes: ``python -m rasv.testing.fake_gsv`` servers as child processes

Example:
    >>> import json, urllib.request
    >>> with FakeGsvServer(latency_s=0.0) as srv:
    ...     doc = json.load(urllib.request.urlopen(srv.url + "/openapi.json"))
    >>> "/set_gpt_weights" in doc["paths"]
    True
"""

from __future__ import annotations

from rasv.testing.fake_gsv.base import Call, Fault, rate_for
from rasv.testing.fake_gsv.cli import main
from rasv.testing.fake_gsv.processes import fake_gsv_processes
from rasv.testing.fake_gsv.request import TTS_FIELDS
from rasv.testing.fake_gsv.v1_server import FakeGsvApiV1Server
from rasv.testing.fake_gsv.v2_server import FakeGsvServer

__all__ = ["Call", "Fault", "FakeGsvApiV1Server", "FakeGsvServer", "TTS_FIELDS", "fake_gsv_processes",
           "main", "rate_for"]
