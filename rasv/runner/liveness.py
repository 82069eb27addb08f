"""Who owns a claimed take, and whether that owner may still be working.

A run claims rows under an owner string ``host:pid:run``. A row whose owner died goes back to
pending on the next run; this module decides "died": another process on this host is checked
by pid (a zombie counts as dead), a run of this very process by the set of runs live here,
and a run on another host counts as alive (it cannot be checked). The temporary WAVs a run
writes carry the same host and pid, so a dead run's leftovers can be told from a live one's.

Example:
    >>> owner = make_owner("abc")
    >>> owner_alive(owner)
    False
    >>> activate(owner); owner_alive(owner)
    True
    >>> deactivate(owner); owner_alive(owner)
    False
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

#: This machine's name, the first part of every owner written here.
HOST = socket.gethostname()
# Temporary WAVs are named after the writing process, so leftovers of a dead run can be told
# from the files a live run (maybe in another process) is writing right now.
_TMP_HOST = hashlib.sha1(HOST.encode()).hexdigest()[:8]
_TMP_RE = re.compile(r"^\.tmp-rasv-([0-9a-f]{8})-(\d+)-")
_ACTIVE: set[str] = set()  # owner strings of the runs live in this process
_ACTIVE_LOCK = threading.Lock()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine is running (a zombie is not).

    Example:
        >>> pid_alive(os.getpid()), pid_alive(0)
        (True, False)
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A killed child its parent has not reaped yet is a zombie: it runs nothing.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def make_owner(run_id: str) -> str:
    """The owner string (``host:pid:run``) a run of this process records on its claims.

    Example:
        >>> make_owner("r1").endswith(f":{os.getpid()}:r1")
        True
    """
    return f"{HOST}:{os.getpid()}:{run_id}"


def activate(owner: str) -> None:
    """Mark ``owner`` as a run live in this process (its claims are not stale).

    Example:
        >>> activate(make_owner("x")); deactivate(make_owner("x"))
    """
    with _ACTIVE_LOCK:
        _ACTIVE.add(owner)


def deactivate(owner: str) -> None:
    """Mark ``owner``'s run as over (its leftover claims may be recovered).

    Example:
        >>> deactivate(make_owner("never-started"))
    """
    with _ACTIVE_LOCK:
        _ACTIVE.discard(owner)


def owner_alive(owner: str | None) -> bool:
    """Whether the run that wrote ``owner`` (``host:pid:run``) may still be working.

    Runs on other hosts cannot be checked and count as alive (free their takes with
    ``ws.tasks.reset(task, running=True)`` if that machine is gone).

    Example:
        >>> owner_alive(None), owner_alive(f"{socket.gethostname()}:999999999:x")
        (False, False)
    """
    if not owner:
        return False
    try:
        host, pid_text, token = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != HOST:
        return True
    if pid == os.getpid():
        with _ACTIVE_LOCK:
            return owner in _ACTIVE
    return pid_alive(pid)


def live_owners(owners: Iterable[str | None]) -> set[str]:
    """The owners in ``owners`` whose runs may still be working.

    Example:
        >>> live_owners([None, "elsewhere:1:x"])
        {'elsewhere:1:x'}
    """
    return {o for o in set(owners) if o and owner_alive(o)}


def tmp_prefix() -> str:
    """The name prefix of the temporary WAVs this process writes.

    Example:
        >>> tmp_prefix().startswith(".tmp-rasv-"), is_stale_tmp(tmp_prefix() + "x.wav")
        (True, False)
    """
    return f".tmp-rasv-{_TMP_HOST}-{os.getpid()}-"


def is_stale_tmp(name: str) -> bool:
    """Whether file ``name`` is a temporary WAV left by a dead process of this machine.

    Example:
        >>> is_stale_tmp(f".tmp-rasv-{_TMP_HOST}-999999999-ab.wav"), is_stale_tmp("ab.wav")
        (True, False)
    """
    m = _TMP_RE.match(name)
    return bool(m and m.group(1) == _TMP_HOST and not pid_alive(int(m.group(2))))


__all__ = [
    "HOST",
    "activate",
    "deactivate",
    "is_stale_tmp",
    "live_owners",
    "make_owner",
    "owner_alive",
    "pid_alive",
    "tmp_prefix",
]
