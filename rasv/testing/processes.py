"""Children a test can stop as a user stops them: with Ctrl+C.

A child inherits its parent's ignored signals and blocked-signal mask. Some libraries a test
process loads leave SIGINT ignored or blocked in it (an in-process kernel, a worker pool), and a
child started from there then shrugs off the interrupt a test sends: ``rasv run`` finishes
instead of stopping, ``rasv api`` never exits. :func:`interruptible` gives the child SIGINT as a
terminal would.

Example:
    >>> import subprocess, sys, signal, time
    >>> code = "import time; print('up', flush=True); time.sleep(30)"
    >>> p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
    ...                      stderr=subprocess.DEVNULL, **interruptible())
    >>> p.stdout.readline()
    b'up\\n'
    >>> p.send_signal(signal.CTRL_BREAK_EVENT if sys.platform == "win32" else signal.SIGINT)
    >>> p.wait(timeout=10) != 0
    True
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any


def _default_sigint() -> None:
    # Runs in the child between fork and exec: Python installs its KeyboardInterrupt handler
    # at start-up only when SIGINT is not ignored, and a blocked SIGINT is never delivered.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def interruptible() -> dict[str, Any]:
    """``Popen`` keywords that let a test interrupt the child (SIGINT, or CTRL_BREAK on Windows).

    Example:
        >>> sorted(interruptible()) in (["preexec_fn"], ["creationflags"])
        True
    """
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"preexec_fn": _default_sigint}


__all__ = ["interruptible"]
