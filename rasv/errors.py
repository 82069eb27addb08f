"""One error hierarchy for rasv.

Every error a user can cause or meet derives from :class:`RasvError`, so notebooks, the CLI
and the panels can catch one class and show its message, which is always one clear sentence.

Example:
    >>> import rasv
    >>> try:
    ...     raise rasv.ClipNotFound(42)
    ... except rasv.RasvError as e:
    ...     print(e)
    clip 42 does not exist in this workspace
"""

from __future__ import annotations

from typing import Any


class RasvError(Exception):
    """Base class of every rasv error."""


class WorkspaceError(RasvError):
    """The workspace folder or database cannot be used as asked."""


class WorkspaceLocked(WorkspaceError):
    """Another process held the workspace database for longer than the lock timeout."""

    def __init__(self, path: Any, waited_s: float, detail: str = "", pid: int | None = None,
                 command: str = "") -> None:
        self.path = path
        self.waited_s = waited_s
        #: The process holding the file (from DuckDB's lock message) and its command line.
        self.pid = pid
        self.command = command
        msg = (
            f"workspace {path} stayed locked by another process for {waited_s:.1f} s; "
            "close other programs that keep it open with shared=False (or a plain duckdb "
            "connection) and try again"
        )
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class NotFound(RasvError):
    """A named object does not exist."""

    kind = "object"

    def __init__(self, key: Any, detail: str = "") -> None:
        self.key = key
        msg = f"{self.kind} {key} does not exist in this workspace"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


class RoleNotFound(NotFound):
    kind = "role"


class ClipNotFound(NotFound):
    kind = "clip"


class TextNotFound(NotFound):
    kind = "text"


class AuxClipNotFound(NotFound):
    kind = "aux clip"


class ModelNotFound(NotFound):
    kind = "model"


class TaskNotFound(NotFound):
    kind = "task"


class TakeNotFound(NotFound):
    kind = "take"


class ProductNotFound(NotFound):
    kind = "product"


class LongTextNotFound(NotFound):
    kind = "long-text run"


class AlreadyExists(RasvError):
    """An object with the same identity already exists."""


class InvalidInput(RasvError, ValueError):
    """A value given by the user is out of range or of the wrong form."""


class ListFormatError(InvalidInput):
    """A GPT-SoVITS ``.list`` file (or one of its lines) cannot be read."""

    def __init__(self, path: Any, reason: str, line_no: int | None = None) -> None:
        self.path = path
        self.line_no = line_no
        self.reason = reason
        where = f"{path}, line {line_no}" if line_no is not None else f"{path}"
        super().__init__(f"{where}: {reason}")


class AudioError(RasvError):
    """An audio file is missing, unreadable or not audio."""


class CapabilityError(RasvError):
    """A request asks an engine or model version for something it does not do."""


class IgnoredParams(CapabilityError):
    """A task varies parameters its engine ignores, so those takes would sound alike.

    ``names`` holds the ignored dimensions, so a panel can offer to drop them or keep them.
    """

    def __init__(self, message: str, names: Any = ()) -> None:
        self.names = tuple(sorted(names))
        super().__init__(message)


class ReferenceOutOfRange(CapabilityError):
    """A reference clip breaks GPT-SoVITS's 3–10 s rule (checked before anything is sent)."""


class CheckpointError(InvalidInput):
    """A file is missing or is not a readable GPT-SoVITS checkpoint."""


class EngineError(RasvError):
    """Base class of errors raised while talking to a synthesis engine.

    ``transient`` tells the runner whether retrying the same request may succeed.
    """

    transient: bool = False


class EngineUnavailable(EngineError):
    """The engine cannot be reached (server down, connection refused, timed out)."""

    transient = True


class EngineGone(EngineUnavailable):
    """The engine's process is gone for good (its Ray actor or node died): retrying it cannot
    help, so the runner drops the engine at once and hands its take to the others."""


class TakeTimeout(EngineError):
    """An engine gave no answer for one take within the run's ``take_timeout``."""

    transient = True


class EngineRequestError(EngineError):
    """The engine answered a request with an error or with unusable audio.

    Attributes:
        status: HTTP status (``None`` for in-process engines).
        body: the response body, decoded as text where possible.
        request: the request that failed (a ``SynthesisRequest`` or a dict).
        transient: True when retrying may help (server-side 5xx, silent failure replies).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        request: Any = None,
        transient: bool = False,
    ) -> None:
        self.status = status
        self.body = body
        self.request = request
        self.transient = transient
        super().__init__(message)


class NotAnEngine(EngineUnavailable, EngineRequestError):
    """Something answers at the engine's address, but it is not that engine (a wrong port,
    another web app): as unusable as a server that is down, and no take's fault."""

    transient = False


class TaskError(RasvError):
    """A task spec is inconsistent, or a task cannot be run or edited as asked."""


class EmptyGrid(TaskError):
    """A task's grid has no takes: no texts, no clips, or an empty list of values."""


class TaskBusy(TaskError):
    """A task cannot be changed or deleted while a run is working on it."""


class Cancelled(RasvError):
    """A run was cancelled by the user."""


class RasvWarning(UserWarning):
    """A warning rasv raises where ``force=True`` turned a refusal into a warning."""


class BackendUnavailable(RasvError):
    """An optional model backend (embedding, VAD, ASR, MOS) is not installed or has no weights.

    The message names what to install or where to put the weights.
    """


class ServeError(RasvError):
    """The dashboard server (``rasv serve``) could not be started."""


class QueueFull(RasvError):
    """The API server's queue is full (``rasv api``); the client should retry later.

    ``retry_after_s`` is the wait the server suggests (its ``Retry-After`` header).
    """

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"the server is busy (queue full); retry in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class NoEngine(RasvError):
    """No engine of the kind a voice was made with is connected to the API server."""


__all__ = [
    "AlreadyExists",
    "AudioError",
    "AuxClipNotFound",
    "BackendUnavailable",
    "Cancelled",
    "CapabilityError",
    "CheckpointError",
    "ClipNotFound",
    "EmptyGrid",
    "EngineError",
    "EngineGone",
    "EngineRequestError",
    "EngineUnavailable",
    "IgnoredParams",
    "InvalidInput",
    "ListFormatError",
    "LongTextNotFound",
    "ModelNotFound",
    "NoEngine",
    "NotAnEngine",
    "NotFound",
    "ProductNotFound",
    "QueueFull",
    "RasvError",
    "RasvWarning",
    "ReferenceOutOfRange",
    "RoleNotFound",
    "ServeError",
    "TakeNotFound",
    "TakeTimeout",
    "TaskBusy",
    "TaskError",
    "TaskNotFound",
    "TextNotFound",
    "WorkspaceError",
    "WorkspaceLocked",
]
