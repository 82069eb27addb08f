"""The child-process side of :class:`gsv_bridge.GsvInProcess`.

It runs under the user's GPT-SoVITS interpreter, which has none of rasv's dependencies, so
it uses the standard library only (the audio arrays GPT-SoVITS returns are turned into bytes
by their own ``tobytes``).

Protocol: one JSON object per line on stdin; each answer is one JSON line on the original
stdout, followed by ``nbytes`` raw bytes when it carries audio. GPT-SoVITS prints a lot, so
file descriptor 1 is pointed at stderr before anything is imported and the protocol keeps a
private duplicate of the original stdout.

Commands: ``{"op": "load", "kind": "gpt"|"sovits", "path": ...}``,
``{"op": "set_ref", "path": ...}``, ``{"op": "run", "inputs": {...}}``, ``{"op": "ping"}``,
``{"op": "exit"}``.

Example:
    >>> import json
    >>> json.loads(_encode({"ok": True}).decode())
    {'ok': True}
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def _encode(msg: dict[str, Any]) -> bytes:
    return (json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8")


def _error(e: BaseException) -> dict[str, Any]:
    text = str(e) or type(e).__name__
    return {"ok": False, "error": f"{type(e).__name__}: {text}", "type": type(e).__name__,
            "trace": traceback.format_exc(limit=6)}


def _invalidate_caches(tts: Any) -> None:
    # GPT-SoVITS keys its reference cache by path and its prompt cache by text, and keeps
    # both across SoVITS switches; clearing the keys makes the next run recompute them.
    cache = getattr(tts, "prompt_cache", None)
    if isinstance(cache, dict):
        for key in ("ref_audio_path", "prompt_text"):
            if key in cache:
                cache[key] = None


def code_paths(root: str) -> list[str]:
    """Where GPT-SoVITS's code is: the root of a checkout, else the installed package.

    A checkout has ``GPT_SoVITS/TTS_infer_pack`` in its root; a pip install (e.g.
    ``gpt-sovits-cpufast``) keeps the ``GPT_SoVITS`` package in site-packages and the data
    in the root. GPT-SoVITS imports its modules by top-level name, so the package folder
    and its parent go on ``sys.path``.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "GPT_SoVITS", "TTS_infer_pack"))
        >>> code_paths(d) == [d, os.path.join(d, "GPT_SoVITS")]
        True
    """
    if os.path.isdir(os.path.join(root, "GPT_SoVITS", "TTS_infer_pack")):
        return [root, os.path.join(root, "GPT_SoVITS")]
    import importlib.util

    spec = importlib.util.find_spec("GPT_SoVITS")
    if spec is not None and spec.submodule_search_locations:
        package = os.path.abspath(list(spec.submodule_search_locations)[0])
        return [os.path.dirname(package), package]
    return [root, os.path.join(root, "GPT_SoVITS")]  # the import below says what is missing


def _serve(tts: Any, out: Any) -> int:
    for raw in iter(sys.stdin.buffer.readline, b""):
        line = raw.decode("utf-8").strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            if op == "exit":
                out.write(_encode({"ok": True}))
                return 0
            if op == "ping":
                out.write(_encode({"ok": True}))
            elif op == "load":
                if cmd["kind"] == "gpt":
                    tts.init_t2s_weights(cmd["path"])
                else:
                    tts.init_vits_weights(cmd["path"])
                    _invalidate_caches(tts)
                out.write(_encode({"ok": True, "version": getattr(tts.configs, "version", None)}))
            elif op == "set_ref":
                tts.set_ref_audio(cmd["path"])
                out.write(_encode({"ok": True}))
            elif op == "run":
                sr, chunks = None, []
                # Consume the generator fully: GPT-SoVITS yields 1 s of 16 kHz zeros before it
                # re-raises an inference error, and only iterating to the end shows the error.
                for rate, audio in tts.run(cmd["inputs"]):
                    sr = int(rate)
                    chunks.append(audio.astype("int16").tobytes())
                payload = b"".join(chunks)
                out.write(_encode({"ok": True, "sr": sr, "nbytes": len(payload),
                                   "chunks": len(chunks)}))
                out.write(payload)
            else:
                out.write(_encode({"ok": False, "error": f"unknown op {op!r}", "type": "ValueError"}))
        except Exception as e:  # report every failure to the parent, keep serving
            out.write(_encode(_error(e)))
        out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start GPT-SoVITS's ``TTS`` from ``--gsv-root`` with ``--config`` and serve commands."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--gsv-root", required=True)
    ap.add_argument("--config", required=True)
    args = ap.parse_args(argv)
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    here = os.path.dirname(os.path.abspath(__file__))
    # This file's folder is sys.path[0]; our module names must not shadow GPT-SoVITS's.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    root = os.path.abspath(args.gsv_root)
    os.chdir(root)
    sys.path[:0] = code_paths(root)
    try:
        from TTS_infer_pack.TTS import TTS, TTS_Config  # GPT-SoVITS's in-process API

        tts = TTS(TTS_Config(args.config))
    except BaseException as e:  # import errors, missing weights, CUDA problems …
        out.write(_encode(_error(e)))
        out.flush()
        return 1
    out.write(_encode({"ok": True, "ready": True,
                       "version": getattr(tts.configs, "version", None),
                       "python": sys.version.split()[0]}))
    out.flush()
    return _serve(tts, out)


if __name__ == "__main__":
    sys.exit(main())
