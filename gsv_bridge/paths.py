"""Map local (workspace) paths to the paths a GPT-SoVITS server sees.

GPT-SoVITS takes file *paths*, not uploads, so a server in another container, a VM or a
Colab runtime must see the workspace's clips under its own prefix. ``PathMap`` rewrites the
longest matching local prefix; Windows and POSIX separators are both understood, and the
output uses the server prefix's separator style.

Example:
    >>> m = PathMap({"/home/me/voices": "/content/voices"})
    >>> m.to_server("/home/me/voices/audio/clips/ab/ab12.wav")
    '/content/voices/audio/clips/ab/ab12.wav'
    >>> m.to_server("/elsewhere/x.wav")
    '/elsewhere/x.wav'
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def _norm(p: str) -> str:
    return str(p).replace("\\", "/")


class PathMap:
    """Prefix rewriting from local paths to server paths (longest prefix wins).

    Args:
        mapping: ``{local_prefix: server_prefix}``; ``None`` or empty maps nothing.

    Example:
        >>> PathMap({"D:/voices": "/data/voices"}).to_server("D:\\\\voices\\\\a\\\\b.wav")
        '/data/voices/a/b.wav'
        >>> PathMap({"/w": "C:\\\\gsv\\\\w"}).to_server("/w/audio/c.wav")
        'C:\\\\gsv\\\\w\\\\audio\\\\c.wav'
    """

    def __init__(self, mapping: Mapping[str | os.PathLike, str | os.PathLike] | None = None) -> None:
        pairs = [(_norm(os.fspath(k)).rstrip("/"), os.fspath(v)) for k, v in (mapping or {}).items()]
        self.pairs: list[tuple[str, str]] = sorted(pairs, key=lambda kv: len(kv[0]), reverse=True)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __repr__(self) -> str:
        return f"PathMap({dict(self.pairs)!r})"

    def _match(self, path: str) -> tuple[str, str, str] | None:
        p = _norm(path)
        key = p.lower() if os.name == "nt" else p
        for local, server in self.pairs:
            lk = local.lower() if os.name == "nt" else local
            if key == lk or key.startswith(lk + "/"):
                return local, server, p[len(local):].lstrip("/")
        return None

    def maps(self, path: str | os.PathLike) -> bool:
        """True when some local prefix covers ``path``.

        Example:
            >>> PathMap({"/a": "/b"}).maps("/a/x"), PathMap({"/a": "/b"}).maps("/ab/x")
            (True, False)
        """
        return self._match(os.fspath(path)) is not None

    def to_server(self, path: str | os.PathLike) -> str:
        """The server's path for a local path (unchanged when no prefix matches)."""
        raw = os.fspath(path)
        m = self._match(raw)
        if m is None:
            return raw
        _, server, rest = m
        if not rest:
            return server
        sep = "\\" if ("\\" in server and "/" not in server) else "/"
        return server.rstrip("/\\") + sep + rest.replace("/", sep)


__all__ = ["PathMap"]
