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
    EngineRequestError,
    EngineUnavailable,
    InvalidInput,
    ListFormatError,
    LongTextNotFound,
    ModelNotFound,
    NotAnEngine,
    NotFound,
    ProductNotFound,
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
    "CheckpointError",
    "Clip",
    "ClipNotFound",
    "EmptyGrid",
    "Engine",
    "EngineError",
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
    "NotAnEngine",
    "NotFound",
    "Params",
    "Product",
    "ProductNotFound",
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
]
