"""rasv: find the reference audio, checkpoints and settings that make a GPT-SoVITS voice best.

The library is the product; the panels, notebooks and CLI are thin over it.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> role = ws.roles.create("男性-张三")
    >>> role.category, role.name
    ('男性', '张三')
    >>> ws.close()
"""

from rasv.engine import (
    Audio,
    Capabilities,
    Engine,
    SynthesisRequest,
    capabilities_for_version,
)
from rasv.errors import (
    AlreadyExists,
    AudioError,
    AuxClipNotFound,
    BackendUnavailable,
    Cancelled,
    CapabilityError,
    CheckpointError,
    ClipNotFound,
    EmptyGrid,
    EngineError,
    EngineGone,
    EngineRequestError,
    EngineUnavailable,
    IgnoredParams,
    InvalidInput,
    ListFormatError,
    LongTextNotFound,
    ModelNotFound,
    NoEngine,
    NotAnEngine,
    NotFound,
    ProductNotFound,
    QueueFull,
    RasvError,
    RasvWarning,
    ReferenceOutOfRange,
    RoleNotFound,
    TakeNotFound,
    TakeTimeout,
    TaskBusy,
    TaskError,
    TaskNotFound,
    TextNotFound,
    WorkspaceError,
    WorkspaceLocked,
)
from rasv.langs import guess_lang, normalize_lang
from rasv.longtext.namespace import LongTextChunk, LongTextRun
from rasv.params import Params
from rasv.products.namespace import Product
from rasv.records import DEFAULT_CATEGORY, AuxClip, Clip, ImportReport, Model, Role, TextItem
from rasv.scores.namespace import Score
from rasv.takes.namespace import Take
from rasv.workspace import Workspace, open  # noqa: A004

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CATEGORY",
    "AlreadyExists",
    "Audio",
    "AudioError",
    "AuxClip",
    "AuxClipNotFound",
    "BackendUnavailable",
    "Cancelled",
    "Capabilities",
    "CapabilityError",
    "IgnoredParams",
    "CheckpointError",
    "Clip",
    "ClipNotFound",
    "EmptyGrid",
    "Engine",
    "EngineError",
    "EngineGone",
    "EngineRequestError",
    "EngineUnavailable",
    "ImportReport",
    "InvalidInput",
    "ListFormatError",
    "LongTextChunk",
    "LongTextNotFound",
    "LongTextRun",
    "Model",
    "ModelNotFound",
    "NoEngine",
    "NotAnEngine",
    "NotFound",
    "Params",
    "Product",
    "ProductNotFound",
    "QueueFull",
    "RasvError",
    "RasvWarning",
    "ReferenceOutOfRange",
    "Role",
    "RoleNotFound",
    "Score",
    "SynthesisRequest",
    "Take",
    "TakeNotFound",
    "TakeTimeout",
    "TaskBusy",
    "TaskError",
    "TaskNotFound",
    "TextItem",
    "TextNotFound",
    "Workspace",
    "WorkspaceError",
    "WorkspaceLocked",
    "capabilities_for_version",
    "guess_lang",
    "normalize_lang",
    "open",
    "serve_api",
]


def __getattr__(name: str):  # noqa: ANN202
    # Serving pulls in http.server and the scheduler; load it only when someone serves.
    if name == "serve_api":
        from rasv.serving import serve_api

        return serve_api
    raise AttributeError(f"module 'rasv' has no attribute {name!r}")
