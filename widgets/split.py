"""The Split tab: cut a long or flawed clip into new reference clips, on ``ws.clips.split``.

Choose a clip (the longest first) and see its waveform over its spectrogram. Build one or
more *segments*, each an ordered list of regions of the clip that are joined into one new
clip: type a region's start and end, click its two ends on the waveform, or take a
suggestion from ``ws.clips.suggest_cuts`` (pieces of 3–10 s cut in silences). Regions can be
reordered, edited and deleted; a segment plays joined, exactly as it will be cut. Split
makes one new clip per segment with a link to its parent; they are listed under the
figure and appear in the Clips tab. A bad region is one sentence in the notice line, and
nothing is cut until every segment is valid.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import make_clip
    >>> from widgets.context import Context
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> c = ws.clips.add(role, make_clip(os.path.join(ws.root, "long.wav"), 12.0))
    >>> ctx = Context(ws, lang="en"); ctx.role = role
    >>> panel = SplitPanel(ctx)
    >>> panel.add_region(0.5, 4.0); _ = panel.new_segment(); panel.add_region(5.0, 9.5)
    >>> panel.segments
    [[(0.5, 4.0)], [(5.0, 9.5)]]
    >>> [ws.clips.get(i).name for i in panel.split()]
    ['long-1', 'long-2']
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rasv.clips import is_valid_reference, region_samples
from rasv.engine import Audio
from rasv.errors import InvalidInput
from widgets.background import Background, Progress
from widgets.context import Context, Panel, col, row, unobserved
from widgets.figure_fit import FitFigures, fill_width
from widgets.figures import FigureView
from widgets.player import Player
from widgets.table import Table, column

Region = tuple[float, float]

#: One colour per segment (regions of the same segment share it); more segments wrap.
SEGMENT_COLOURS = ("#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b",
                   "#6d4c41", "#d81b60")

def clip_figure(ws: Any, clip_id: int) -> go.Figure:
    """The clip's waveform over its mel spectrogram (:mod:`rasv.audio.spectrogram`, cached per
    audio content), with each waveform column's time as ``customdata`` so that a click on
    the waveform says where it fell.

    Example:
        >>> import rasv, tempfile, os
        >>> from rasv.testing import make_clip
        >>> ws = rasv.open(tempfile.mkdtemp()); r = ws.roles.create("a")
        >>> c = ws.clips.add(r, make_clip(os.path.join(ws.root, "c.wav"), 2.0))
        >>> fig = clip_figure(ws, c.id)
        >>> [t.type for t in fig.data], float(fig.data[1].customdata[-1]) < 2.0
        (['scatter', 'scatter', 'heatmap'], True)
    """
    from rasv.audio import spectrogram

    spec, env = spectrogram.clip_visuals(ws, int(clip_id))
    fig = spectrogram.figure(spec, env, height=330)
    fig.data[1].customdata = env.times  # the upper edge of the waveform carries the hover
    fig.update_layout(hovermode="x")
    return fig


def region_shapes(segments: list[list[Region]], current: int,
                  suggestions: list[Region] = (), pin: float | None = None) -> list[dict]:
    """Plotly shapes for the regions of every segment (labelled ``segment.region``), the
    suggested pieces (dashed) and a pending first click (a line).

    Example:
        >>> [s["label"]["text"] for s in region_shapes([[(0, 1), (2, 3)], [(4, 5)]], 0)
        ...  if "label" in s]
        ['1.1', '1.2', '2.1']
    """
    shapes = []
    for s, e in suggestions:
        shapes.append({"type": "rect", "xref": "x2", "yref": "paper", "x0": s, "x1": e,
                       "y0": 0, "y1": 1, "line": {"color": "#9e9e9e", "width": 1,
                                                  "dash": "dash"},
                       "fillcolor": "rgba(0,0,0,0)", "layer": "above"})
    for k, seg in enumerate(segments):
        colour = SEGMENT_COLOURS[k % len(SEGMENT_COLOURS)]
        for j, (s, e) in enumerate(seg):
            shapes.append({
                "type": "rect", "xref": "x2", "yref": "paper", "x0": s, "x1": e, "y0": 0,
                "y1": 1, "fillcolor": colour, "opacity": 0.32 if k == current else 0.14,
                "line": {"color": colour, "width": 2 if k == current else 0},
                "layer": "above",
                "label": {"text": f"{k + 1}.{j + 1}", "textposition": "top left",
                          "font": {"size": 11, "color": colour}},
            })
    if pin is not None:
        shapes.append({"type": "line", "xref": "x2", "yref": "paper", "x0": pin, "x1": pin,
                       "y0": 0, "y1": 1, "line": {"color": "#212121", "width": 2,
                                                  "dash": "dot"}})
    return shapes


def _fmt_regions(regions: Any) -> str:
    """A split clip's regions as text; ``Clip.segments`` holds them as one segment (a list
    of regions) or as a list of such segments.

    Example:
        >>> _fmt_regions((((0.5, 4.0), (5.0, 6.25)),)), _fmt_regions(None)
        ('0.50–4.00 + 5.00–6.25', '')
    """
    flat: list[Any] = []
    for item in regions or ():
        if len(item) and isinstance(item[0], (list, tuple)):
            flat.extend(item)
        else:
            flat.append(item)
    return " + ".join(f"{float(s):.2f}–{float(e):.2f}" for s, e in flat)


class SplitPanel(Panel):
    """Controller and view of the Split tab.

    Controller methods (what tests and notebooks call): :meth:`choose`, :meth:`add_region`,
    :meth:`click_time`, :meth:`move_region`, :meth:`set_region`, :meth:`delete_region`,
    :meth:`new_segment`, :meth:`delete_segment`, :meth:`suggest`, :meth:`use_suggestion`,
    :meth:`preview`, :meth:`split`.
    """

    tab = "tab.split"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        self.clip_id: int | None = None
        self.segments: list[list[Region]] = [[]]
        self.current = 0
        self.suggestions: list[Region] = []
        self.pin: float | None = None
        self._audio: tuple[int, np.ndarray, int] | None = None  # (clip id, mono, rate)
        narrow = {"description_width": "initial"}
        self.player = Player(lang=ctx.lang)

        self.clip_pick = W.Dropdown(description=t("split.clip"), style=narrow,
                                    layout=W.Layout(width="520px"))
        self.clip_pick.observe(self._on_pick, "value")
        self.play_clip = W.Button(description=t("split.play_clip"), icon="play",
                                  layout=W.Layout(width="auto"))
        self.play_clip.on_click(ctx.guard(lambda _b: self.play_whole()))
        self.info = W.HTML("")
        self.figure = FigureView(go.Figure(),
                                 on_click=lambda _t, _i, c: ctx.guard(self.click_time)(c))
        fill_width(self.figure)
        self.click_hint = W.HTML("")

        # -- suggestions -----------------------------------------------------------------
        self.vad = W.Dropdown(options=[("auto", "auto"), ("silero", "silero"), ("RMS", "rms")],
                              value="auto", description=t("split.vad"), style=narrow,
                              layout=W.Layout(width="160px"))
        self.suggest_button = W.Button(description=t("split.suggest"), icon="magic",
                                       layout=W.Layout(width="auto"))
        self.suggest_button.on_click(ctx.guard(lambda _b: self.suggest()))
        self.use_all = W.Button(description=t("split.use_all"), layout=W.Layout(width="auto"))
        self.use_all.on_click(ctx.guard(lambda _b: self.use_all_suggestions()))
        self.suggested = Table([
            column("n", "#", "num", digits=0),
            column("start", t("split.start"), "num", digits=2),
            column("end", t("split.end"), "num", digits=2),
            column("length", t("split.length"), "num", digits=2),
            column("actions", "", "buttons", actions=[
                {"action": "play", "label": t("action.play")},
                {"action": "add", "label": t("split.to_segment")},
                {"action": "new", "label": t("split.as_segment")}]),
        ], lang=ctx.lang, page_size=20)
        self.suggested.on_action(ctx.guard(self._on_suggestion_action))

        # -- segments and regions --------------------------------------------------------
        self.segment_pick = W.ToggleButtons(description=t("split.segment"), style=narrow)
        self.segment_pick.observe(self._on_segment_pick, "value")
        self.new_segment_button = W.Button(description=t("split.new_segment"), icon="plus",
                                           layout=W.Layout(width="auto"))
        self.new_segment_button.on_click(ctx.guard(lambda _b: self.new_segment()))
        self.delete_segment_button = W.Button(description=t("split.delete_segment"),
                                              icon="trash", layout=W.Layout(width="auto"))
        self.delete_segment_button.on_click(ctx.guard(lambda _b: self.delete_segment()))
        self.start = W.BoundedFloatText(value=0.0, min=0.0, max=1e6, step=0.01,
                                        description=t("split.start"), style=narrow,
                                        layout=W.Layout(width="160px"))
        self.end = W.BoundedFloatText(value=0.0, min=0.0, max=1e6, step=0.01,
                                      description=t("split.end"), style=narrow,
                                      layout=W.Layout(width="160px"))
        self.add_button = W.Button(description=t("split.add_region"), icon="plus",
                                   layout=W.Layout(width="auto"))
        self.add_button.on_click(ctx.guard(lambda _b: self.add_region(self.start.value,
                                                                      self.end.value)))
        self.regions = Table([
            column("n", "#", "num", digits=0),
            column("start", t("split.start"), "edit"),
            column("end", t("split.end"), "edit"),
            column("length", t("split.length"), "num", digits=2),
            column("actions", "", "buttons", actions=[
                {"action": "play", "label": t("action.play")},
                {"action": "up", "label": "↑"},
                {"action": "down", "label": "↓"},
                {"action": "delete", "label": t("action.delete"), "danger": True}]),
        ], lang=ctx.lang, page_size=50)
        self.regions.add_class("rasv-regions")
        self.regions.on_edit(ctx.guard(self._on_region_edit))
        self.regions.on_action(ctx.guard(self._on_region_action))
        self.segment_info = W.HTML("")
        self.preview_button = W.Button(description=t("split.preview"), icon="headphones",
                                       layout=W.Layout(width="auto"))
        self.preview_button.on_click(ctx.guard(lambda _b: self.preview()))
        self.split_button = W.Button(description=t("split.split"), icon="scissors",
                                     button_style="primary", layout=W.Layout(width="auto"))
        self.split_button.on_click(ctx.guard(lambda _b: self.split()))

        # -- what was cut from this clip -------------------------------------------------
        self.children_title = W.HTML("")
        self.children = Table([
            column("play", "", "play", width="32px"),
            column("name", t("clips.col.name"), title=True),
            column("regions", t("split.regions")),
            column("duration_s", t("clips.col.duration"), "num", digits=2),
            column("valid", t("clips.col.valid"), "flag"),
            column("text", t("clips.col.text"), "edit", width="30%"),
            column("category", t("clips.col.category")),
        ], lang=ctx.lang, page_size=20)
        self.children.add_class("rasv-children")
        self.children.on_edit(ctx.guard(self._on_child_edit))
        self.children.on_action(ctx.guard(lambda cid, _a: self.play_child(int(cid))))
        self.player.observe(self._on_playing, "playing")

        self.job = Background(ctx, buttons=[self.suggest_button])
        self.widget = col([
            FitFigures(),
            row([self.clip_pick, self.play_clip, self.info]),
            self.player,
            col([self.figure.widget], width="100%"),
            self.click_hint,
            row([self.segment_pick, self.new_segment_button, self.delete_segment_button]),
            row([self.start, self.end, self.add_button, self.segment_info]),
            self.regions,
            row([self.preview_button, self.split_button]),
            W.HTML(f"<b>{html.escape(t('split.suggestions'))}</b>"),
            row([self.vad, self.suggest_button, self.use_all, self.job.widget]),
            self.suggested,
            self.children_title,
            self.children,
        ])
        self.widget.add_class("rasv-split")
        ctx.observe(lambda _c: ctx.guard(self.on_role)(), "role")
        self.on_role()

    # -- the clip --------------------------------------------------------------------------

    def on_role(self) -> None:
        """List the new role's clips, longest first, and show the first."""
        self._show_clip(None)
        self.refresh()

    def refresh(self, *_: Any) -> None:
        """Re-read the role's clips (other tabs may have added, split or deleted some)."""
        if self.role is None:
            self.clip_pick.options = []
            self._show_clip(None)
            return
        df = self.ws.clips.df(self.role, sort="-duration_s")
        current = self.clip_id
        options = [(self._label(r), int(r.id)) for r in df.itertuples(index=False)]
        ids = [v for _, v in options]
        keep = current if current in ids else (ids[0] if ids else None)
        # Replace the options without the observer loading the first clip on the way.
        with unobserved(self.clip_pick, self._on_pick):
            self.clip_pick.options = options
            self.clip_pick.value = keep
        if keep != current:
            self._show_clip(keep)
        else:
            self._paint_children()

    def _label(self, r: Any) -> str:
        text = str(r.text or "")
        text = text if len(text) <= 28 else text[:27] + "…"
        tail = f" · {text}" if text else ""
        return f"{r.name} ({float(r.duration_s):.1f} s){tail}"

    def choose(self, clip_id: int) -> None:
        """Show clip ``clip_id`` (its regions start empty)."""
        self.clip_pick.value = int(clip_id)

    def show(self, clip: int | None = None, **_: Any) -> None:
        """Open on a clip (what ``ctx.navigate("split", clip=…)`` calls)."""
        if clip is not None:
            self.choose(int(clip))

    def _show_clip(self, clip_id: int | None) -> None:
        self.clip_id = clip_id
        self.segments, self.current, self.suggestions, self.pin = [[]], 0, [], None
        self._audio = None
        self.player.clear()
        if clip_id is None:
            self.info.value = ""
            self.figure.update(go.Figure())
        else:
            clip = self.ws.clips.get(clip_id)
            self.info.value = html.escape(self.t(
                "split.info", duration=f"{clip.duration_s:.2f}", rate=clip.sample_rate,
                channels=clip.channels, category=clip.category))
            self.end.value = round(min(clip.duration_s, 10.0), 2)
            self.start.value = 0.0
            self._base = clip_figure(self.ws, clip_id)
            self.figure.update(self._base)
        self._paint_all()

    def _samples(self) -> tuple[np.ndarray, int]:
        """The clip's audio (mono, native rate), read once per clip."""
        if self.clip_id is None:
            raise InvalidInput(self.t("split.no_clip"))
        if self._audio is None or self._audio[0] != self.clip_id:
            from rasv.audio import read

            x, rate = read(self.ws.clips.abspath(self.clip_id), sr=None)
            self._audio = (self.clip_id, x, int(rate))
        return self._audio[1], self._audio[2]

    def play_whole(self) -> None:
        """Play the whole clip (pause it when it plays)."""
        if self.clip_id is None:
            raise InvalidInput(self.t("split.no_clip"))
        key = f"clip{self.clip_id}"
        if self.player.key == key:
            self.player.toggle()
            return
        clip = self.ws.clips.get(self.clip_id)
        self.player.load_file(self.ws.clips.abspath(clip.id), key=key, label=clip.name,
                              play=True)

    # -- regions ---------------------------------------------------------------------------

    def _check(self, segments: list[list[Region]]) -> None:
        """Validate every segment against the clip with the library's own rule, so the
        panel refuses exactly what ``ws.clips.split`` would refuse, in the same words."""
        x, rate = self._samples()
        region_samples(segments, rate, x.shape[0])

    def add_region(self, start: float, end: float, segment: int | None = None) -> None:
        """Append a region to a segment (the current one by default)."""
        if self.clip_id is None:
            raise InvalidInput(self.t("split.no_clip"))
        k = self.current if segment is None else int(segment)
        region = (round(float(start), 3), round(float(end), 3))
        trial = [list(seg) for seg in self.segments]
        trial[k].append(region)
        self._check(trial)
        self.segments = trial
        self.pin = None
        self._paint_all()

    def set_region(self, index: int, start: float | None = None, end: float | None = None
                   ) -> None:
        """Change one region of the current segment."""
        seg = list(self.segments[self.current])
        s, e = seg[int(index)]
        seg[int(index)] = (round(float(s if start is None else start), 3),
                           round(float(e if end is None else end), 3))
        trial = [list(x) for x in self.segments]
        trial[self.current] = seg
        self._check(trial)
        self.segments = trial
        self._paint_all()

    def move_region(self, index: int, step: int) -> None:
        """Move a region of the current segment up (``-1``) or down (``+1``) in the order
        the segment is joined in."""
        seg = self.segments[self.current]
        i, j = int(index), int(index) + int(step)
        if 0 <= j < len(seg):
            seg[i], seg[j] = seg[j], seg[i]
            self._paint_all()

    def delete_region(self, index: int) -> None:
        """Remove a region of the current segment."""
        del self.segments[self.current][int(index)]
        self._paint_all()

    def click_time(self, seconds: float | None) -> None:
        """A click on the waveform: the first click pins a region's start, the second its
        end, and the region is added to the current segment."""
        if seconds is None or self.clip_id is None:
            return
        at = round(float(seconds), 3)
        if self.pin is None:
            self.pin = at
            self.start.value = at
            self._paint_regions()
            return
        start, end = sorted((self.pin, at))
        self.start.value, self.end.value = start, end
        self.pin = None
        try:
            self.add_region(start, end)
        finally:
            self._paint_regions()

    # -- segments --------------------------------------------------------------------------

    def new_segment(self) -> int:
        """Start another segment (another new clip); returns its index."""
        if self.segments[-1]:
            self.segments.append([])
        self.current = len(self.segments) - 1
        self._paint_all()
        return self.current

    def delete_segment(self, index: int | None = None) -> None:
        """Remove a segment (the current one by default); one empty segment always stays."""
        k = self.current if index is None else int(index)
        del self.segments[k]
        if not self.segments:
            self.segments = [[]]
        self.current = min(k, len(self.segments) - 1)
        self._paint_all()

    def select_segment(self, index: int) -> None:
        """Make segment ``index`` the one regions are added to."""
        self.current = max(0, min(int(index), len(self.segments) - 1))
        self._paint_all()

    # -- suggestions -----------------------------------------------------------------------

    def suggest(self, *, wait: bool = False) -> list[Region] | None:
        """Find pieces of 3–10 s cut in silences (in the background unless ``wait``)."""
        if self.clip_id is None:
            raise InvalidInput(self.t("split.no_clip"))
        clip_id, backend = self.clip_id, self.vad.value

        def work(_progress: Progress) -> list[Region]:
            return self.ws.clips.suggest_cuts(clip_id, backend=backend)

        def done(pieces: list[Region]) -> None:
            if clip_id != self.clip_id:  # the user moved on to another clip meanwhile
                return
            self.suggestions = [(float(s), float(e)) for s, e in pieces]
            self._paint_suggestions()
            self._paint_regions()
            if pieces:
                self.ctx.say(self.t("split.suggested", n=len(pieces)))
            else:
                self.ctx.say(self.t("split.no_suggestion"), "warn")

        self.job.start(work, label=self.t("split.suggesting"), on_done=done, wait=wait)
        return self.suggestions if wait else None

    def use_suggestion(self, index: int, *, new_segment: bool = False) -> None:
        """Add suggested piece ``index`` to the current segment, or as a segment of its own."""
        s, e = self.suggestions[int(index)]
        if new_segment and self.segments[self.current]:
            self.new_segment()
        self.add_region(s, e)

    def use_all_suggestions(self) -> None:
        """Every suggested piece becomes a segment of its own (one new clip each)."""
        if not self.suggestions:
            raise InvalidInput(self.t("split.no_suggestion"))
        kept = [seg for seg in self.segments if seg]
        trial = kept + [[piece] for piece in self.suggestions]
        self._check(trial)
        self.segments = trial
        self.current = len(trial) - 1
        self._paint_all()

    # -- listening and cutting -------------------------------------------------------------

    def joined(self, segment: int | None = None) -> Audio:
        """The audio a segment becomes: its regions joined in order (mono, for listening;
        the split itself keeps every channel and the original format).

        Raises:
            InvalidInput: the segment has no regions, or one is outside the clip.
        """
        k = self.current if segment is None else int(segment)
        seg = self.segments[k]
        if not seg:
            raise InvalidInput(self.t("split.empty_segment", k=k + 1))
        x, rate = self._samples()
        spans = region_samples([seg], rate, x.shape[0])[0]
        return Audio(np.concatenate([x[a:b] for a, b in spans]).astype(np.float32), rate)

    def preview(self, segment: int | None = None) -> float:
        """Play a segment joined, as it will be cut; returns its length in seconds."""
        k = self.current if segment is None else int(segment)
        audio = self.joined(k)
        name = self.ws.clips.get(self.clip_id).name
        self.player.load(audio.to_wav_bytes(), key=f"seg{k}",
                         label=self.t("split.preview_label", k=k + 1, name=name), play=True)
        return audio.duration_s

    def play_region(self, start: float, end: float, key: str) -> None:
        """Play one stretch of the clip."""
        x, rate = self._samples()
        a, b = region_samples([[(start, end)]], rate, x.shape[0])[0][0]
        self.player.load(Audio(x[a:b].astype(np.float32), rate).to_wav_bytes(), key=key,
                         label=f"{start:.2f}–{end:.2f} s", play=True)

    def split(self) -> list[int]:
        """Cut the clip: one new clip per segment; returns their ids.

        Raises:
            InvalidInput: a segment has no regions or a region is bad (nothing is cut).
        """
        if self.clip_id is None:
            raise InvalidInput(self.t("split.no_clip"))
        if len(self.segments) == 1 and not self.segments[0]:
            raise InvalidInput(self.t("split.nothing"))
        ids = self.ws.clips.split(self.clip_id, [list(seg) for seg in self.segments])
        names = [self.ws.clips.get(i).name for i in ids]
        self.segments, self.current, self.pin = [[]], 0, None
        self.player.clear()
        self.refresh()
        self._paint_all()
        self.ctx.say(self.t("split.done", n=len(ids), names=", ".join(names)))
        return ids

    def play_child(self, clip_id: int) -> None:
        """Play (or pause) a clip cut from this one."""
        key = str(clip_id)
        if self.player.key == key:
            self.player.toggle()
            return
        clip = self.ws.clips.get(clip_id)
        self.player.load_file(self.ws.clips.abspath(clip_id), key=key, label=clip.name,
                              play=True)

    # -- painting --------------------------------------------------------------------------

    def _paint_all(self) -> None:
        self._paint_segments()
        self._paint_region_table()
        self._paint_suggestions()
        self._paint_regions()
        self._paint_children()

    def _paint_segments(self) -> None:
        options = [(str(k + 1), k) for k in range(len(self.segments))]
        with unobserved(self.segment_pick, self._on_segment_pick):
            self.segment_pick.options = options
            self.segment_pick.value = self.current
        self.segment_pick.style.button_width = "44px"
        seg = self.segments[self.current]
        total = sum(e - s for s, e in seg)
        if not seg:
            self.segment_info.value = html.escape(self.t("split.segment_empty",
                                                         k=self.current + 1))
        else:
            ok = is_valid_reference(total)
            mark = ("<span style='color:#2e7d32'>✓ 3–10 s</span>" if ok else
                    "<span style='color:#c62828'>✗ 3–10 s</span>")
            self.segment_info.value = html.escape(self.t(
                "split.segment_total", k=self.current + 1, n=len(seg),
                seconds=f"{total:.2f}")) + " " + mark

    def _paint_region_table(self) -> None:
        rows = [{"id": j, "n": j + 1, "start": f"{s:.3f}", "end": f"{e:.3f}",
                 "length": e - s} for j, (s, e) in enumerate(self.segments[self.current])]
        self.regions.set_rows(rows)
        self.regions.layout.display = "" if rows else "none"

    def _paint_suggestions(self) -> None:
        rows = [{"id": j, "n": j + 1, "start": s, "end": e, "length": e - s}
                for j, (s, e) in enumerate(self.suggestions)]
        self.suggested.set_rows(rows)
        self.suggested.layout.display = "" if rows else "none"
        self.use_all.disabled = not rows

    def _paint_regions(self) -> None:
        if self.clip_id is None:
            self.click_hint.value = ""
            return
        shapes = region_shapes(self.segments, self.current, self.suggestions, self.pin)
        if self.figure.interactive:
            self.figure.figure.layout.shapes = shapes  # a relayout, not the whole figure
        else:
            fig = go.Figure(self._base)
            fig.update_layout(shapes=shapes)
            self.figure.update(fig)
        hint = "split.click_end" if self.pin is not None else "split.click_start"
        self.click_hint.value = (
            f"<span style='color:var(--jp-ui-font-color2,#777);font-size:12px'>"
            f"{html.escape(self.t(hint, at=f'{self.pin:.2f}' if self.pin is not None else ''))}"
            "</span>" if self.figure.interactive else "")

    def _paint_children(self) -> None:
        if self.clip_id is None or self.role is None:
            self.children.set_rows([], total=0)
            self.children_title.value = ""
            self.children.layout.display = "none"
            return
        df = self.ws.clips.df(self.role, parent_id=self.clip_id, sort="name")
        df["regions"] = [_fmt_regions(self.ws.clips.get(int(i)).segments) for i in df["id"]]
        df["_muted"] = ~df["valid"].astype(bool) if len(df) else pd.Series(dtype=bool)
        self.children.set_rows(df)
        self.children.layout.display = "" if len(df) else "none"
        self.children_title.value = (
            "<b>" + html.escape(self.t("split.children", n=len(df))) + "</b>" if len(df) else "")

    # -- view glue -------------------------------------------------------------------------

    def _on_pick(self, change: dict) -> None:
        if change["new"] != self.clip_id:
            self.ctx.guard(self._show_clip)(change["new"])

    def _on_segment_pick(self, change: dict) -> None:
        if change["new"] is not None:
            self.select_segment(change["new"])

    def _on_region_edit(self, index: Any, key: str, value: Any) -> None:
        try:
            seconds = float(str(value).strip())
        except ValueError:
            self._paint_region_table()
            raise InvalidInput(self.t("split.bad_time", value=value)) from None
        try:
            self.set_region(int(index), **{key: seconds})
        except InvalidInput:
            self._paint_region_table()  # put the old value back in the cell
            raise

    def _on_region_action(self, index: Any, action: str) -> None:
        j = int(index)
        if action == "play":
            s, e = self.segments[self.current][j]
            self.play_region(s, e, key=f"r{self.current}.{j}")
        elif action == "up":
            self.move_region(j, -1)
        elif action == "down":
            self.move_region(j, +1)
        elif action == "delete":
            self.delete_region(j)

    def _on_suggestion_action(self, index: Any, action: str) -> None:
        j = int(index)
        if action == "play":
            s, e = self.suggestions[j]
            self.play_region(s, e, key=f"s{j}")
        elif action == "add":
            self.use_suggestion(j)
        elif action == "new":
            self.use_suggestion(j, new_segment=True)

    def _on_child_edit(self, clip_id: Any, key: str, value: Any) -> None:
        self.ws.clips.update(int(clip_id), **{key: value})
        self._paint_children()

    def _on_playing(self, change: dict) -> None:
        key = self.player.key
        self.children.playing = int(key) if change["new"] and key.isdigit() else None

    def close(self) -> None:
        """Stop playback."""
        self.player.clear()


__all__ = ["SEGMENT_COLOURS", "SplitPanel", "clip_figure", "region_shapes"]
