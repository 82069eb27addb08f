"""Helpers for tests, benchmarks and demos that users may reuse in their own tests.

Nothing here is a product default: ``FakeEngine`` is a test double, and the clip generator
makes synthetic audio, not speech.

Example:
    >>> import tempfile, os
    >>> from rasv.testing import make_clip, write_list
    >>> d = tempfile.mkdtemp()
    >>> p = make_clip(os.path.join(d, "a.wav"), 4.0)
    >>> lst = write_list(os.path.join(d, "x.list"), [(p, "spk", "ZH", "你好")])
    >>> open(lst, encoding="utf-8").read().count("|")
    3
"""

from rasv.testing.checkpoints import make_checkpoint, make_checkpoint_pair
from rasv.testing.clips import make_clip, make_request, make_voice, write_list
from rasv.testing.embeddings import FakeEmbeddingBackend
from rasv.testing.examples import Example, example, raises, workspace
from rasv.testing.fake_engine import FakeEngine
from rasv.testing.fake_gsv import FakeGsvApiV1Server, FakeGsvServer
from rasv.testing.gsv_root import make_gsv_root
from rasv.testing.processes import interruptible

__all__ = [
    "Example",
    "FakeEmbeddingBackend",
    "FakeEngine",
    "FakeGsvApiV1Server",
    "FakeGsvServer",
    "example",
    "interruptible",
    "make_checkpoint",
    "make_checkpoint_pair",
    "make_clip",
    "make_request",
    "make_gsv_root",
    "make_voice",
    "raises",
    "workspace",
    "write_list",
]
