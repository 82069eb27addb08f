"""One take id = one audio: the cache work rasv does before each GPT-SoVITS synthesis.

GPT-SoVITS's ``TTS`` object (behind ``api_v2.py`` and in-process alike) keeps caches whose
keys miss part of what they depend on, so the same seeded request can give different audio
depending on what the server did before (measured on upstream and on the PyPI fork):

- the reference is reloaded only when its *path* changes; a SoVITS switch keeps the old
  model's prompt tokens and speaker conditioning;
- loading a reference or building a first-use model *inside* a request draws random numbers
  after the request's ``set_seed`` (upstream HuBERT's LayerDrop, the fork's g2pW), so the
  first take after that differs from the same take later;
- the prompt's phonemes and BERT features are cached by the prompt *text* alone: the same
  text in another language, or across a v1 ↔ v2 switch (other phoneme set), reuses them.

:func:`plan` says what to do so that a take depends only on (models, reference, prompt,
parameters, seed): load the reference explicitly whenever it is not the one loaded under
the current SoVITS model, warm a fresh process once with a throwaway synthesis (Chinese
text and an English prompt: every first-use model is built then), and push the cached
prompt out with a throwaway whenever the take's prompt text is cached under another
language or phoneme set. Each engine keeps a :class:`CacheState` and carries the steps out.

Example:
    >>> st = CacheState()
    >>> plan(st, ref="/r.wav", sovits="/s.pth", prompt_text="你好", prompt_lang="zh",
    ...      version="v2")
    ('set_ref', 'warm')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: GPT-SoVITS's sentence-final marks (``text_segmentation_method.splits``): a prompt text that
#: does not end in one gets ``。`` (``.`` for English) appended before it is cached.
SPLITS = frozenset("，。？！,.?!~:：—…")

#: The throwaway synthesis: Chinese text (builds g2pW and the Chinese frontend), an English
#: prompt (the English frontend) whose text is never a user's, fixed seed.
WARM_TEXT = "你好。"
WARM_PROMPT = "rasv warm up."


def normalized_prompt(prompt_text: str, prompt_lang: str) -> str:
    """The prompt text as GPT-SoVITS caches it (final mark added when missing).

    Example:
        >>> normalized_prompt("你好", "zh"), normalized_prompt("hi", "en"), normalized_prompt("hi!", "en")
        ('你好。', 'hi.', 'hi!')
    """
    text = prompt_text.strip("\n")
    if text and text[-1] not in SPLITS:
        text += "." if prompt_lang == "en" else "。"
    return text


def phone_set(version: str | None) -> str:
    """``v1`` or ``v2``: v1 models have their own phoneme symbols, every later one v2's.

    Example:
        >>> phone_set("v1"), phone_set("v2ProPlus")
        ('v1', 'v2')
    """
    return "v1" if version == "v1" else "v2"


@dataclass
class CacheState:
    """What the GPT-SoVITS process has cached, as far as this engine drove it.

    ``fresh``: no synthesis yet (first-use models unbuilt); ``ref``: the reference loaded
    explicitly and ``ref_sovits`` the SoVITS model it was loaded under; ``prompt``: the
    cached prompt as (normalized text, language, phoneme set).
    """

    fresh: bool = True
    ref: str | None = None
    ref_sovits: str | None = None
    prompt: tuple[str, str, str] | None = None
    #: A synthesis failed or was cut off: what it left cached is not known.
    prompt_unknown: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        """A new process (started, restarted or crashed): nothing is cached."""
        self.fresh, self.ref, self.ref_sovits, self.prompt = True, None, None, None
        self.prompt_unknown = False

    def done(self, step: str) -> None:
        """Count a step carried out (tests and benchmarks read :attr:`counts`)."""
        self.counts[step] = self.counts.get(step, 0) + 1


def plan(state: CacheState, *, ref: str, sovits: str | None, prompt_text: str,
         prompt_lang: str, version: str | None) -> tuple[str, ...]:
    """The steps to run before a take, in order: ``set_ref``, ``warm``, ``reset_prompt``.

    Example:
        >>> st = CacheState(fresh=False, ref="/r.wav", ref_sovits="/a.pth",
        ...                 prompt=("你好。", "zh", "v2"))
        >>> plan(st, ref="/r.wav", sovits="/a.pth", prompt_text="你好", prompt_lang="zh",
        ...      version="v2")
        ()
        >>> plan(st, ref="/r.wav", sovits="/b.pth", prompt_text="你好", prompt_lang="zh",
        ...      version="v2")   # another SoVITS model: its own prompt tokens
        ('set_ref',)
        >>> plan(st, ref="/r.wav", sovits="/a.pth", prompt_text="你好", prompt_lang="ja",
        ...      version="v2")   # same text, other language: cached phonemes are wrong
        ('reset_prompt',)
    """
    steps: list[str] = []
    if state.ref != ref or state.ref_sovits != sovits:
        steps.append("set_ref")
    if state.fresh:
        steps.append("warm")
    if prompt_text and not state.fresh:
        key = prompt_key(prompt_text, prompt_lang, version)
        cached = state.prompt
        if state.prompt_unknown or (cached is not None and cached[0] == key[0] and cached != key):
            steps.append("reset_prompt")
    return tuple(steps)


def prompt_key(prompt_text: str, prompt_lang: str, version: str | None) -> tuple[str, str, str]:
    """(normalized text, language, phoneme set): what the cached prompt features depend on.

    Example:
        >>> prompt_key("hi", "en", "v2Pro")
        ('hi.', 'en', 'v2')
    """
    return normalized_prompt(prompt_text, prompt_lang), prompt_lang, phone_set(version)


def after_take(state: CacheState, *, prompt_text: str, prompt_lang: str,
               version: str | None) -> None:
    """Record what a successful take left cached.

    Example:
        >>> st = CacheState(fresh=False)
        >>> after_take(st, prompt_text="hi", prompt_lang="en", version="v1"); st.prompt
        ('hi.', 'en', 'v1')
    """
    state.fresh = False
    if prompt_text:
        state.prompt = prompt_key(prompt_text, prompt_lang, version)
        state.prompt_unknown = False


def throwaway_body(ref: str, body: dict[str, Any]) -> dict[str, Any]:
    """A ``/tts`` body for the warm-up and prompt-reset synthesis (same reference and model).

    Example:
        >>> b = throwaway_body("/r.wav", {"text": "x", "top_k": 5, "seed": 3})
        >>> b["text"], b["prompt_text"], b["seed"], b["top_k"]
        ('你好。', 'rasv warm up.', 0, 5)
    """
    out = dict(body)
    out.update(text=WARM_TEXT, text_lang="zh", prompt_text=WARM_PROMPT, prompt_lang="en",
               ref_audio_path=ref, aux_ref_audio_paths=[], seed=0, speed_factor=1.0,
               text_split_method="cut5", streaming_mode=False, media_type="wav")
    return out


def after_throwaway(state: CacheState) -> None:
    """Record what the throwaway synthesis left cached.

    Example:
        >>> st = CacheState(); after_throwaway(st); st.fresh, st.prompt[0]
        (False, 'rasv warm up.')
    """
    state.fresh = False
    state.prompt = (WARM_PROMPT, "en", "*")
    state.prompt_unknown = False


def prepare(state: CacheState, *, ref: str, sovits: str | None, prompt_text: str,
            prompt_lang: str, version: str | None, load_ref: Callable[[], None],
            throwaway: Callable[[], None]) -> None:
    """Carry out :func:`plan`'s steps through an engine's own two calls, keeping ``state`` true.

    ``load_ref`` loads ``ref`` explicitly; ``throwaway`` runs one :func:`throwaway_body`
    synthesis. When either raises, ``state`` says the reference (or the cached prompt) is not
    known, so the next take plans the step again.

    Example:
        >>> st, sent = CacheState(), []
        >>> prepare(st, ref="/r.wav", sovits="/s.pth", prompt_text="你好", prompt_lang="zh",
        ...         version="v2", load_ref=lambda: sent.append("ref"),
        ...         throwaway=lambda: sent.append("tts"))
        >>> sent, st.ref, st.fresh, st.counts
        (['ref', 'tts'], '/r.wav', False, {'set_ref': 1, 'warm': 1})
    """
    for step in plan(state, ref=ref, sovits=sovits, prompt_text=prompt_text,
                     prompt_lang=prompt_lang, version=version):
        if step == "set_ref":
            state.ref = None
            load_ref()
            state.ref, state.ref_sovits = ref, sovits
        else:  # warm / reset_prompt: one throwaway synthesis does both
            state.prompt_unknown = True
            throwaway()
            after_throwaway(state)
        state.done(step)


__all__ = ["CacheState", "after_take", "after_throwaway", "normalized_prompt", "phone_set",
           "plan", "prepare", "prompt_key", "throwaway_body"]
