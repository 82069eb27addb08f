"""Client overhead of GsvApiV2 per request, as a ratio to a bare HTTP client.

Both post the same /tts body to the same fake api_v2 server, run as a separate process so
the server does not compete with the client for the GIL. The bare client is http.client on
one keep-alive connection that only sends bytes and reads the reply; GsvApiV2 also checks the
request and the reference clip, maps paths, decodes the WAV and checks it for the silent-
failure reply. Run: python bench/bench_bridge.py [N]
"""

from __future__ import annotations

import http.client
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gsv_bridge import GsvApiV2  # noqa: E402
from rasv import SynthesisRequest  # noqa: E402
from rasv.testing import make_clip  # noqa: E402
from rasv.testing.fake_gsv import fake_gsv_processes  # noqa: E402


def main(n: int = 300) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    ref = make_clip(tmp / "ref.wav", 4.0)
    with fake_gsv_processes(1, root=tmp) as (url,):
        req = SynthesisRequest(text="你好。", text_lang="zh", ref_audio_path=ref,
                               prompt_text="参考文本", prompt_lang="zh", seed=1)
        eng = GsvApiV2(url)
        eng.synthesize(req)  # warm: server detection, reference cache, connection
        body = json.dumps({**req.to_api_body(), "streaming_mode": False},
                          ensure_ascii=False).encode()
        conns: list[http.client.HTTPConnection] = []

        def bare() -> None:
            conn = conns[-1]
            conn.request("POST", "/tts", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200

        def client() -> None:
            eng.synthesize(req)

        rounds = {"bare": [], "client": []}
        for _ in range(3):  # interleaved rounds, best of three, to damp machine noise
            for name, f in (("bare", bare), ("client", client)):
                # A fresh keep-alive connection per round: the server closes idle ones (5 s).
                conns.append(http.client.HTTPConnection(urlsplit(url).netloc))
                f()
                t0 = time.perf_counter()
                for _ in range(n):
                    f()
                rounds[name].append((time.perf_counter() - t0) / n)
        b, c = min(rounds["bare"]), min(rounds["client"])
        print(f"requests per round: {n} (short text, fake api_v2 server in its own process)")
        print(f"bare http.client POST : {b * 1e3:7.3f} ms/request (baseline 1.00)")
        print(f"GsvApiV2.synthesize   : {c * 1e3:7.3f} ms/request (ratio {c / b:.2f})")
        print(f"client overhead       : {(c - b) * 1e3:7.3f} ms/request "
              "(checks, path mapping, WAV decode, silence check)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
