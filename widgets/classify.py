"""The Classify tab: sort a role's clips by voice, on ``ws.classify``.

Two ways to work, as in RefAudioSelectorV2 and beyond it:

- **Similar to a seed.** Pick a seed clip and the categories to compare, press Compare: a
  0.1-bin histogram of the scores (a click on a bar jumps the ranked list to that bin) and
  the clips ranked by similarity, each with a player. Take a threshold from a row or type
  it, and move every clip at or above it into a category, existing or new.
- **Clusters.** Group the whole role (by a distance threshold, or automatically), see a 2-D
  map coloured by cluster with outliers marked — a click on a point plays the clip and shows
  its row — move a cluster into a category, and send one representative per cluster to the
  Tasks tab as a task's clips.

Embeddings are computed on a background thread with a progress bar, so the panel keeps
answering; clips whose embedding is cached cost nothing.

Example:
    >>> import rasv, tempfile, os
    >>> from rasv.testing import make_clip
    >>> from widgets.context import Context
    >>> ws = rasv.open(tempfile.mkdtemp()); role = ws.roles.create("a")
    >>> for i, f0 in enumerate([110, 115, 260]):
    ...     _ = ws.clips.add(role, make_clip(os.path.join(ws.root, f"{i}.wav"), 3.0,
    ...                                      f0=f0, seed=i))
    >>> ctx = Context(ws, lang="en"); ctx.role = role
    >>> panel = ClassifyPanel(ctx)
    >>> panel.backend_name.value = "rasv.testing:FakeEmbeddingBackend"
    >>> panel.seed.value = 1
    >>> sim = panel.compare(wait=True)
    >>> sim.clip_id.tolist()
    [1, 2, 3]
    >>> panel.threshold.value = 0.9
    >>> panel.target.value = "low"
    >>> panel.move_similar()
    [1, 2]
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rasv.classify import (
    BACKEND_NAMES,
    ClusterFrame,
    EmbeddingBackend,
    SimilarityFrame,
    get_backend,
)
from rasv.errors import InvalidInput
from widgets.background import Background, Progress
from widgets.context import Context, Panel, col, row
from widgets.figures import FigureView
from widgets.player import Player
from widgets.table import Table, column, dispatch

#: Backends that read a folder: GPT-SoVITS's root for ``gsv``, a model folder for the others.
_FOLDER_BACKENDS = {"gsv": "gsv_root", "modelscope": "model_dir", "campplus": "model_dir",
                    "eres2net": "model_dir", "eres2netv2": "model_dir"}

#: Enough distinct colours for the clusters one screen can tell apart; more wrap around.
CLUSTER_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#e7ba52", "#637939", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363",
)


def histogram_figure(hist: pd.DataFrame, *, title: str = "") -> go.Figure:
    """A bar per 0.1 bin of similarity scores, highest bin first (``customdata``: bin index).

    Example:
        >>> from rasv.classify import score_histogram
        >>> fig = histogram_figure(score_histogram(np.array([0.95, 0.91, 0.42])))
        >>> fig.data[0].x[:2], fig.data[0].y[:2]
        (('0.9–1.0', '0.8–0.9'), (2, 0))
    """
    labels = [str(x) for x in hist["label"]]
    counts = [int(x) for x in hist["count"]]
    fig = go.Figure(go.Bar(
        x=labels, y=counts, customdata=list(range(len(hist))),
        marker={"color": ["#1976d2" if c else "#cfd8dc" for c in counts]},
        hovertemplate="%{x}: %{y}<extra></extra>",
    ))
    fig.update_layout(
        height=220, margin={"l": 40, "r": 10, "t": 30 if title else 8, "b": 40},
        title={"text": title, "font": {"size": 13}} if title else None,
        xaxis={"type": "category", "tickangle": -45}, yaxis={"rangemode": "tozero"},
        plot_bgcolor="white", bargap=0.15,
    )
    return fig


def cluster_map_figure(frame: pd.DataFrame, *, title: str = "", outliers_label: str = "outliers"
                       ) -> go.Figure:
    """The 2-D map of a :class:`~rasv.classify.namespace.ClusterFrame`: one trace per cluster (stars
    mark representatives) and a last trace crossing out the outliers. ``customdata`` of
    every point is its clip id.

    Example:
        >>> f = pd.DataFrame({"clip_id": [1, 2, 3], "name": ["a", "b", "c"],
        ...                   "category": ["x"] * 3, "text": ["", "", ""],
        ...                   "cluster": [0, 0, 1], "size": [2, 2, 1], "x": [0.0, 0.1, 1.0],
        ...                   "y": [0.0, 0.1, 1.0], "outlier": [False, False, True],
        ...                   "representative": [True, False, True]})
        >>> fig = cluster_map_figure(f)
        >>> [t.name for t in fig.data], list(fig.data[2].customdata)
        (['#0 (2)', '#1 (1)', 'outliers'], [3])
    """
    traces = []
    for c, g in frame.groupby("cluster", sort=True):
        reps = g["representative"].to_numpy(dtype=bool)
        traces.append(go.Scatter(
            x=g["x"].to_numpy(np.float32), y=g["y"].to_numpy(np.float32), mode="markers",
            name=f"#{int(c)} ({len(g)})", customdata=g["clip_id"].astype(int).tolist(),
            text=[_hover(r) for r in g.itertuples(index=False)],
            hovertemplate="%{text}<extra></extra>",
            marker={"color": CLUSTER_COLOURS[int(c) % len(CLUSTER_COLOURS)],
                    "size": np.where(reps, 15, 9).tolist(),
                    "symbol": np.where(reps, "star", "circle").tolist(),
                    "line": {"width": 0.5, "color": "white"}},
        ))
    out = frame[frame["outlier"].astype(bool)]
    traces.append(go.Scatter(
        x=out["x"].to_numpy(np.float32), y=out["y"].to_numpy(np.float32), mode="markers",
        name=outliers_label, customdata=out["clip_id"].astype(int).tolist(),
        text=[_hover(r) for r in out.itertuples(index=False)],
        hovertemplate="%{text}<extra></extra>",
        marker={"symbol": "x-thin-open", "size": 16, "color": "#b71c1c",
                "line": {"width": 2, "color": "#b71c1c"}},
    ))
    fig = go.Figure(traces)
    fig.update_layout(
        height=420, margin={"l": 30, "r": 10, "t": 30 if title else 8, "b": 30},
        title={"text": title, "font": {"size": 13}} if title else None,
        plot_bgcolor="white", legend={"itemclick": "toggle", "font": {"size": 11}},
        xaxis={"zeroline": False, "showticklabels": False},
        yaxis={"zeroline": False, "showticklabels": False, "scaleanchor": "x"},
        hovermode="closest",
    )
    return fig


def _hover(r: Any) -> str:
    text = str(r.text or "")
    text = text if len(text) <= 40 else text[:39] + "…"
    return (f"<b>{html.escape(str(r.name))}</b> · #{int(r.cluster)}<br>"
            f"{html.escape(str(r.category))} · {html.escape(text)}")


def _clip_label(r: Any) -> str:
    text = str(r.text or "")
    text = text if len(text) <= 24 else text[:23] + "…"
    return f"{r.name} · {text} ({float(r.duration_s):.1f} s)" if text else (
        f"{r.name} ({float(r.duration_s):.1f} s)")


def _page_of(rank: int, page_size: int) -> int:
    return (int(rank) - 1) // max(page_size, 1) + 1


class ClassifyPanel(Panel):
    """Controller and view of the Classify tab.

    Controller methods (what tests and notebooks call): :meth:`embed`, :meth:`compare`,
    :meth:`jump_to_bin`, :meth:`use_threshold`, :meth:`move_similar`, :meth:`cluster`,
    :meth:`focus_clip`, :meth:`show_cluster`, :meth:`assign_cluster`,
    :meth:`use_representatives`. Slow ones take ``wait=True`` to run in the caller's thread.
    """

    tab = "tab.classify"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        self.sim: SimilarityFrame | None = None
        self.hist: pd.DataFrame | None = None
        self.clusters: ClusterFrame | None = None
        self.focus_cluster: int | None = None
        self.player = Player(lang=ctx.lang)
        self.player.observe(self._on_playing, "playing")
        narrow = {"description_width": "initial"}

        # -- the model -------------------------------------------------------------------
        self.backend_name = W.Combobox(value="auto", options=list(BACKEND_NAMES),
                                       ensure_option=False, description=t("classify.backend"),
                                       layout=W.Layout(width="250px"), style=narrow)
        self.folder = W.Text(description=t("classify.folder"), layout=W.Layout(width="380px"),
                             style=narrow)
        self.device = W.Dropdown(options=["auto", "cpu", "cuda"], value="auto",
                                 description=t("classify.device"),
                                 layout=W.Layout(width="150px"), style=narrow)
        self.embed_button = W.Button(description=t("classify.embed"), icon="cogs",
                                     layout=W.Layout(width="auto"))
        self.embed_button.on_click(ctx.guard(lambda _b: self.embed()))
        self.backend_name.observe(lambda _c: self._paint_folder(), "value")

        # -- what to compare -------------------------------------------------------------
        self.mode = W.ToggleButtons(
            options=[(t("classify.mode.seed"), "seed"), (t("classify.mode.cluster"), "cluster")],
            value="seed")
        self.mode.observe(lambda _c: self._paint_mode(), "value")
        self.categories = W.SelectMultiple(description=t("classify.categories"), rows=4,
                                           layout=W.Layout(width="300px"), style=narrow)
        self.categories_hint = W.HTML(
            f"<span style='color:var(--jp-ui-font-color2,#777);font-size:12px'>"
            f"{html.escape(t('classify.categories_hint'))}</span>")

        # -- seed similarity -------------------------------------------------------------
        self.seed = W.Dropdown(description=t("classify.seed"), layout=W.Layout(width="420px"),
                               style=narrow)
        self.seed_play = W.Button(icon="play", tooltip=t("action.play"),
                                  layout=W.Layout(width="36px"))
        self.seed_play.on_click(ctx.guard(lambda _b: self.seed.value is not None
                                          and self.play(self.seed.value)))
        self.compare_button = W.Button(description=t("classify.compare"), icon="search",
                                       button_style="primary", layout=W.Layout(width="auto"))
        self.compare_button.on_click(ctx.guard(lambda _b: self.compare()))
        self.histogram = FigureView(histogram_figure(self._empty_hist()),
                                    on_click=lambda _t, _i, c: ctx.guard(self.jump_to_bin)(c))
        self.bin_pick = W.Dropdown(description=t("classify.bin"), style=narrow,
                                   layout=W.Layout(width="200px",
                                                   display="none" if self.histogram.interactive
                                                   else ""))
        self.bin_pick.observe(self._on_bin_pick, "value")
        self.ranked = Table([
            column("play", "", "play", width="32px"),
            column("rank", t("classify.col.rank"), "num", digits=0),
            column("score", t("classify.col.score"), "num", digits=4),
            column("bin", t("classify.bin")),
            column("name", t("clips.col.name"), title=True),
            column("category", t("clips.col.category")),
            column("text", t("clips.col.text"), width="30%", title=True),
            column("duration_s", t("clips.col.duration"), "num", digits=2),
            column("valid", t("clips.col.valid"), "flag"),
            column("actions", "", "buttons", actions=[
                {"action": "threshold", "label": t("classify.use_threshold")},
                {"action": "seed", "label": t("classify.use_seed")}]),
        ], lang=ctx.lang, page_size=50)
        self.ranked.add_class("rasv-ranked")
        self.ranked.on_action(ctx.guard(self._on_ranked_action))
        self.ranked.observe(lambda _c: self._paint_ranked(), ["page", "page_size"])
        self.threshold = W.BoundedFloatText(value=0.75, min=-1.0, max=1.0, step=0.01,
                                            description=t("classify.threshold"),
                                            layout=W.Layout(width="200px"), style=narrow)
        self.threshold.observe(lambda _c: self._paint_would_move(), "value")
        self.target = W.Combobox(placeholder=t("classify.target"), ensure_option=False,
                                 layout=W.Layout(width="200px"))
        self.move_button = W.Button(description=t("classify.move"), icon="share",
                                    layout=W.Layout(width="auto"))
        self.move_button.on_click(ctx.guard(lambda _b: self.move_similar()))
        self.would_move = W.HTML("")
        # The histogram leaves room beside it for the threshold step it leads to.
        self.seed_box = col([
            row([self.seed, self.seed_play, self.compare_button]),
            row([self.histogram.widget,
                 col([self.bin_pick, self.threshold, self.target, self.move_button,
                      self.would_move], flex="1 1 260px", align_items="flex-start")],
                align_items="flex-start"),
            self.ranked,
        ])

        # -- clusters --------------------------------------------------------------------
        self.method = W.ToggleButtons(
            options=[(t("classify.method.auto"), "auto"),
                     (t("classify.method.agglomerative"), "agglomerative"),
                     (t("classify.method.hdbscan"), "hdbscan")], value="auto")
        self.method.observe(lambda _c: self._paint_method(), "value")
        self.distance = W.Text(description=t("classify.distance"),
                               placeholder=t("classify.distance_hint"),
                               layout=W.Layout(width="260px"), style=narrow)
        self.n_clusters = W.BoundedIntText(value=0, min=0, max=10000,
                                           description=t("classify.n_clusters"),
                                           layout=W.Layout(width="240px"), style=narrow)
        self.cluster_button = W.Button(description=t("classify.cluster"), icon="object-group",
                                       button_style="primary", layout=W.Layout(width="auto"))
        self.cluster_button.on_click(ctx.guard(lambda _b: self.cluster()))
        self.map = FigureView(cluster_map_figure(self._empty_clusters()),
                              on_click=lambda _t, _i, c: ctx.guard(self.focus_clip)(c))
        self.detail = W.HTML("")
        self.summary = Table([
            column("id", "#", "num", digits=0),
            column("size", t("classify.col.size"), "num", digits=0),
            column("n_valid", t("clips.col.valid"), "num", digits=0),
            column("n_outliers", t("classify.outliers"), "num", digits=0),
            column("representative_name", t("classify.col.representative"), title=True),
            column("top_category", t("classify.col.top_category")),
            column("actions", "", "buttons", actions=[
                {"action": "show", "label": t("classify.show")},
                {"action": "play", "label": t("classify.play_rep")},
                {"action": "assign", "label": t("classify.assign")}]),
        ], lang=ctx.lang, page_size=20)
        self.summary.on_action(ctx.guard(self._on_summary_action))
        self.summary.observe(lambda _c: self._paint_summary(), ["page", "page_size"])
        self.c_target = W.Combobox(placeholder=t("classify.target"), ensure_option=False,
                                   layout=W.Layout(width="200px"))
        self.members_title = W.HTML("")
        self.members = Table([
            column("play", "", "play", width="32px"),
            column("name", t("clips.col.name"), title=True),
            column("category", t("clips.col.category")),
            column("text", t("clips.col.text"), width="30%", title=True),
            column("duration_s", t("clips.col.duration"), "num", digits=2),
            column("valid", t("clips.col.valid"), "flag"),
            column("d_cluster", t("classify.col.d_cluster"), "num", digits=3),
            column("representative", t("classify.col.rep"), "flag"),
            column("outlier", t("classify.col.outlier"), "flag"),
            column("actions", "", "buttons", actions=[
                {"action": "seed", "label": t("classify.use_seed")}]),
        ], lang=ctx.lang, page_size=20)
        self.members.add_class("rasv-members")
        self.members.on_action(ctx.guard(self._on_member_action))
        self.members.observe(lambda _c: self._paint_members(), ["page", "page_size"])
        self.reps_button = W.Button(description=t("classify.reps"), icon="tasks",
                                    layout=W.Layout(width="auto"))
        self.reps_button.on_click(ctx.guard(lambda _b: self.use_representatives()))
        self.reps_ids = W.Text(description=t("classify.reps_ids"), layout=W.Layout(width="420px"),
                               style=narrow)
        self.cluster_box = col([
            row([self.method, self.distance, self.n_clusters, self.cluster_button]),
            row([self.map.widget,
                 col([self.detail, self.summary,
                      row([self.c_target, W.HTML(html.escape(t("classify.assign_hint")))]),
                      self.reps_button, self.reps_ids], flex="1 1 420px",
                     align_items="flex-start")],
                align_items="flex-start"),
            self.members_title,
            self.members,
        ])

        self.job = Background(ctx, buttons=[self.embed_button, self.compare_button,
                                            self.cluster_button])
        self.widget = col([
            row([self.backend_name, self.folder, self.device, self.embed_button]),
            self.job.widget,
            row([self.mode, self.categories, self.categories_hint]),
            self.player,
            self.seed_box,
            self.cluster_box,
        ])
        self.widget.add_class("rasv-classify")
        self._paint_folder()
        self._paint_mode()
        self._paint_method()
        ctx.observe(lambda _c: ctx.guard(self.on_role)(), "role")
        self.on_role()

    # -- the model -----------------------------------------------------------------------

    def backend(self) -> EmbeddingBackend:
        """The embedding backend the form describes (loaded on first use, then shared).

        Raises:
            BackendUnavailable: the model cannot run here (the message says what to install).
        """
        name = (self.backend_name.value or "").strip() or "auto"
        folder = self.folder.value.strip().strip('"').strip("'") or None
        kwargs: dict[str, Any] = {}
        key = _FOLDER_BACKENDS.get(name.lower())
        if key and folder:
            kwargs[key] = folder
        device = None if self.device.value == "auto" else self.device.value
        return get_backend(name, device=device, **kwargs)

    def _need_role(self) -> Any:
        if self.role is None:
            raise InvalidInput(self.t("clips.no_role"))
        return self.role

    def _compared(self) -> list[str] | None:
        chosen = list(self.categories.value)
        return chosen or None

    def embed(self, *, wait: bool = False) -> bool:
        """Compute (or find cached) the embeddings of the role's clips, in the background."""
        role = self._need_role()
        t = self.t

        def work(progress: Progress) -> Any:
            return self.ws.classify.embed(role, backend=self.backend(), progress=progress,
                                          clip_ids=None)

        def done(rep: Any) -> None:
            msg = t("classify.embedded", backend=rep.backend, total=rep.total,
                    computed=rep.computed, cached=rep.cached, failed=len(rep.failed))
            self.ctx.say(msg, "warn" if rep.failed else "info")

        return self.job.start(work, label=t("classify.embedding"), on_done=done, wait=wait)

    # -- seed similarity -------------------------------------------------------------------

    def compare(self, seed: int | None = None, *, wait: bool = False) -> SimilarityFrame | None:
        """Rank the compared clips by similarity to the seed (the form's, or ``seed``).

        Runs in the background unless ``wait``; returns the ranking when it waited.
        """
        self._need_role()
        if seed is not None:
            self.seed.value = int(seed)
        if self.seed.value is None:
            raise InvalidInput(self.t("classify.need_seed"))
        seed_id, cats = int(self.seed.value), self._compared()

        def work(progress: Progress) -> SimilarityFrame:
            return self.ws.classify.similar_to(seed_id, categories=cats,
                                               backend=self.backend(), progress=progress)

        self.job.start(work, label=self.t("classify.comparing"), on_done=self._show_similar,
                       wait=wait)
        return self.sim if wait else None

    def _show_similar(self, sim: SimilarityFrame) -> None:
        hist = sim.histogram()
        # Ranks follow the scores down and bins are contiguous, so bin k holds the ranks
        # first_rank … first_rank + count - 1: the library's binning, not a second one.
        bins = np.full(len(sim), "", dtype=object)
        ranks = sim["rank"].to_numpy()
        for label, count, first in zip(hist["label"], hist["count"], hist["first_rank"],
                                       strict=True):
            if count:
                bins[(ranks >= int(first)) & (ranks < int(first) + int(count))] = label
        sim = sim.copy()
        sim["bin"] = bins
        self.sim, self.hist = sim, hist
        seed_name = next((n for n, s in zip(sim["name"], sim["seed"], strict=True) if s), "")
        if not seed_name:
            seed_name = self.ws.clips.get(sim.seed_id).name
        self.histogram.update(histogram_figure(
            hist, title=self.t("classify.histogram_title", seed=seed_name)))
        self.bin_pick.options = [("", None)] + [
            (f"{lab} ({n})", i) for i, (lab, n) in enumerate(
                zip(hist["label"], hist["count"], strict=True)) if n]
        self.ranked.page = 1
        self._paint_ranked()
        self._paint_would_move()
        self.ctx.say(self.t("classify.compared", n=len(sim), seed=seed_name))

    def jump_to_bin(self, index: int | None) -> int | None:
        """Show the page of the ranked list where bin ``index`` (0 = highest) starts.

        Returns the rank of the bin's best clip, None for an empty bin.
        """
        if self.hist is None or index is None:
            return None
        b = self.hist.iloc[int(index)]
        if int(b["count"]) == 0 or pd.isna(b["first_rank"]):
            self.ctx.say(self.t("classify.bin_empty", label=b["label"]), "warn")
            return None
        rank = int(b["first_rank"])
        self.ranked.page = _page_of(rank, self.ranked.page_size)
        self.ctx.say(self.t("classify.jumped", label=b["label"], n=int(b["count"]), rank=rank))
        return rank

    def use_threshold(self, clip_id: int) -> float:
        """Take the score of a ranked clip as the threshold."""
        sim = self._need_sim()
        score = float(sim.loc[sim["clip_id"] == int(clip_id), "score"].iloc[0])
        # Shown to 4 decimals as in the list; rounded down so the clicked row is included.
        self.threshold.value = math.floor(score * 1e4 + 1e-6) / 1e4
        return self.threshold.value

    def would_move_ids(self) -> list[int]:
        """Clips of the ranking at or above the threshold (what Move would move)."""
        if self.sim is None:
            return []
        keep = self.sim["score"] >= float(self.threshold.value) - 1e-9
        return [int(i) for i in self.sim.loc[keep, "clip_id"]]

    def move_similar(self, threshold: float | None = None, category: str | None = None
                     ) -> list[int]:
        """Move every ranked clip scoring at least the threshold into the target category
        (created if new); returns the ids that changed category."""
        sim = self._need_sim()
        if threshold is not None:
            self.threshold.value = float(threshold)
        name = (category if category is not None else self.target.value or "").strip()
        if not name:
            raise InvalidInput(self.t("classify.need_target"))
        changed = self.ws.classify.assign(self.would_move_ids(), name)
        sim.loc[sim["clip_id"].isin(changed), "category"] = name
        self._after_move(name)
        self._paint_ranked()
        self.ctx.say(self.t("classify.moved", n=len(changed), category=name))
        return changed

    def _need_sim(self) -> SimilarityFrame:
        if self.sim is None:
            raise InvalidInput(self.t("classify.need_compare"))
        return self.sim

    # -- clusters ----------------------------------------------------------------------------

    def cluster(self, *, wait: bool = False) -> ClusterFrame | None:
        """Cluster the role (or the chosen categories) with the form's method."""
        role = self._need_role()
        method = self.method.value
        threshold = None
        text = self.distance.value.strip()
        if method == "agglomerative" and text:
            try:
                threshold = float(text)
            except ValueError:
                raise InvalidInput(self.t("classify.bad_distance", value=text)) from None
        n = int(self.n_clusters.value) if method != "hdbscan" else 0
        cats = self._compared()

        def work(progress: Progress) -> ClusterFrame:
            return self.ws.classify.cluster(role, method=method, threshold=threshold,
                                            n_clusters=n or None, backend=self.backend(),
                                            categories=cats, progress=progress)

        self.job.start(work, label=self.t("classify.clustering"), on_done=self._show_clusters,
                       wait=wait)
        return self.clusters if wait else None

    def _show_clusters(self, frame: ClusterFrame) -> None:
        self.clusters = frame
        self.map.update(cluster_map_figure(frame, title=self.t("classify.map_title"),
                                           outliers_label=self.t("classify.outliers")))
        self.summary.page = 1
        self._paint_summary()
        k = int(frame["cluster"].nunique()) if len(frame) else 0
        self.show_cluster(0 if k else None)
        self.reps_ids.value = ""
        self.detail.value = ""
        self.ctx.say(self.t("classify.clustered", n=len(frame), k=k,
                            outliers=int(frame["outlier"].sum()) if len(frame) else 0))

    def show_cluster(self, cluster: int | None) -> None:
        """List the members of ``cluster`` under the map."""
        self.focus_cluster = None if cluster is None else int(cluster)
        self.members.page = 1
        self._paint_members()

    def focus_clip(self, clip_id: int | None) -> dict[str, Any] | None:
        """What a click on the map does: play the clip, list its cluster, show its row."""
        if clip_id is None or self.clusters is None:
            return None
        frame = self.clusters
        hit = frame[frame["clip_id"] == int(clip_id)]
        if hit.empty:
            return None
        r = hit.iloc[0]
        self.focus_cluster = int(r["cluster"])
        members = self._members_frame()
        position = int(np.flatnonzero(members["clip_id"].to_numpy() == int(clip_id))[0])
        self.members.page = position // self.members.page_size + 1
        self._paint_members()
        self.play(int(clip_id))
        t = self.t
        flags = [t("classify.col.rep")] if bool(r["representative"]) else []
        if bool(r["outlier"]):
            flags.append(t("classify.col.outlier"))
        self.detail.value = (
            f"<div class='rasv-focus'><b>{html.escape(str(r['name']))}</b> · "
            f"#{int(r['cluster'])} · {html.escape(str(r['category']))} · "
            f"{float(r['duration_s']):.2f} s · d={float(r['d_cluster']):.3f}"
            f"{' · ' + html.escape(', '.join(flags)) if flags else ''}<br>"
            f"{html.escape(str(r['text'] or ''))}</div>")
        return {k: r[k] for k in ("clip_id", "name", "category", "cluster", "outlier")}

    def assign_cluster(self, cluster: int, category: str | None = None) -> list[int]:
        """Move every clip of ``cluster`` into a category (the form's target by default)."""
        frame = self._need_clusters()
        name = (category if category is not None else self.c_target.value or "").strip()
        if not name:
            raise InvalidInput(self.t("classify.need_target"))
        ids = [int(i) for i in frame.loc[frame["cluster"] == int(cluster), "clip_id"]]
        changed = self.ws.classify.assign(ids, name)
        frame.loc[frame["clip_id"].isin(changed), "category"] = name
        self._after_move(name)
        self._paint_summary()
        self._paint_members()
        self.ctx.say(self.t("classify.assigned", cluster=int(cluster), n=len(changed),
                            category=name))
        return changed

    def use_representatives(self) -> list[int]:
        """Offer one clip per cluster as a task's clips: open the Tasks tab with them when
        the workbench has one; the ids are also left in a text box to copy."""
        ids = self._need_clusters().representatives()
        self.reps_ids.value = ", ".join(str(i) for i in ids)
        if self.ctx.navigate("tasks", clips=ids):
            self.ctx.say(self.t("classify.reps_sent", n=len(ids)))
        else:
            self.ctx.say(self.t("classify.reps_copy", n=len(ids)))
        return ids

    def _need_clusters(self) -> ClusterFrame:
        if self.clusters is None:
            raise InvalidInput(self.t("classify.need_cluster"))
        return self.clusters

    def _members_frame(self) -> pd.DataFrame:
        if self.clusters is None or self.focus_cluster is None:
            return self._empty_clusters()
        return self.clusters[self.clusters["cluster"] == self.focus_cluster]

    # -- shared ----------------------------------------------------------------------------

    def play(self, clip_id: int) -> None:
        """Play a clip (pause it when it is the one playing)."""
        self.player.play_clip(self.ws.clips, clip_id, key=str(int(clip_id)))

    def show(self, seed: int | None = None, mode: str | None = None, clip: int | None = None,
             **_: Any) -> None:
        """Open with a seed clip chosen: what ``ctx.navigate("classify", seed=…)`` (or
        ``clip=…``, as the Clips tab's row button sends) calls."""
        if mode in ("seed", "cluster"):
            self.mode.value = mode
        seed = seed if seed is not None else clip
        if seed is not None:
            self.mode.value = "seed"
            self.seed.value = int(seed)

    def on_role(self) -> None:
        """Forget the results of the previous role and list the new role's clips."""
        self.player.clear()
        self.sim = self.hist = None
        self.clusters = None
        self.focus_cluster = None
        self.histogram.update(histogram_figure(self._empty_hist()))
        self.map.update(cluster_map_figure(self._empty_clusters()))
        self.detail.value = self.would_move.value = self.reps_ids.value = ""
        self.members_title.value = ""
        self.bin_pick.options = [("", None)]
        self.job.say("")
        self.refresh()
        self._paint_ranked()
        self._paint_summary()
        self._paint_members()

    def refresh(self, *_: Any) -> None:
        """Re-read the role's clips and categories (they may have changed in other tabs)."""
        if self.role is None:
            self.seed.options = []
            self.categories.options = []
            self.target.options = self.c_target.options = []
            return
        clips = self.ws.clips.df(self.role, sort="name")
        current = self.seed.value
        self.seed.options = [(_clip_label(r), int(r.id)) for r in clips.itertuples(index=False)]
        ids = set(clips["id"].astype(int))
        self.seed.value = current if current in ids else (int(clips["id"].iloc[0])
                                                          if len(clips) else None)
        self._reload_categories()
        if clips.empty:
            self.ctx.say(self.t("classify.no_clips"), "warn")

    def _reload_categories(self) -> None:
        cats = self.ws.clips.categories.list(self.role) if self.role is not None else []
        chosen = tuple(c for c in self.categories.value if c in cats)
        self.categories.options = cats
        self.categories.value = chosen
        self.target.options = cats
        self.c_target.options = cats

    def _after_move(self, _category: str) -> None:
        self._reload_categories()

    # -- painting --------------------------------------------------------------------------

    @staticmethod
    def _empty_hist() -> pd.DataFrame:
        from rasv.classify import score_histogram

        return score_histogram(np.zeros(0))

    @staticmethod
    def _empty_clusters() -> pd.DataFrame:
        return pd.DataFrame({k: pd.Series(dtype=d) for k, d in (
            ("clip_id", "int64"), ("name", "object"), ("category", "object"),
            ("text", "object"), ("duration_s", "float64"), ("valid", "bool"),
            ("cluster", "int64"), ("size", "int64"), ("x", "float64"), ("y", "float64"),
            ("d_cluster", "float64"), ("outlier", "bool"), ("representative", "bool"))})

    def _paint_ranked(self) -> None:
        if self.sim is None:
            self.ranked.set_rows([], total=0)
            return
        page = self.sim.iloc[self.ranked.offset:self.ranked.offset + self.ranked.page_size]
        df = pd.DataFrame(page).rename(columns={"clip_id": "id"})
        df["_muted"] = ~df["valid"].astype(bool)
        self.ranked.set_rows(df, total=len(self.sim))

    def _paint_would_move(self) -> None:
        if self.sim is None:
            self.would_move.value = ""
            return
        n = len(self.would_move_ids())
        self.would_move.value = html.escape(
            self.t("classify.would_move", n=n, threshold=f"{float(self.threshold.value):.4g}"))

    def _paint_summary(self) -> None:
        if self.clusters is None:
            self.summary.set_rows([], total=0)
            return
        df = self.clusters.summary().rename(columns={"cluster": "id"})
        self.summary.set_rows(
            df.iloc[self.summary.offset:self.summary.offset + self.summary.page_size],
            total=len(df))

    def _paint_members(self) -> None:
        members = self._members_frame()
        if self.focus_cluster is None:
            self.members_title.value = ""
        else:
            self.members_title.value = "<b>" + html.escape(self.t(
                "classify.members", cluster=self.focus_cluster, n=len(members))) + "</b>"
        page = members.iloc[self.members.offset:self.members.offset + self.members.page_size]
        df = pd.DataFrame(page).rename(columns={"clip_id": "id"})
        df["_muted"] = ~df["valid"].astype(bool) if len(df) else []
        self.members.set_rows(df, total=len(members))

    def _paint_folder(self) -> None:
        name = (self.backend_name.value or "").strip().lower()
        key = _FOLDER_BACKENDS.get(name)
        self.folder.layout.display = "" if key else "none"
        self.folder.placeholder = self.t(
            "classify.folder_gsv" if key == "gsv_root" else "classify.folder_model")

    def _paint_mode(self) -> None:
        seed = self.mode.value == "seed"
        self.seed_box.layout.display = "" if seed else "none"
        self.cluster_box.layout.display = "none" if seed else ""

    def _paint_method(self) -> None:
        method = self.method.value
        self.distance.layout.display = "" if method == "agglomerative" else "none"
        self.n_clusters.layout.display = "none" if method == "hdbscan" else ""

    # -- view glue -------------------------------------------------------------------------

    def _on_ranked_action(self, clip_id: Any, action: str) -> None:
        dispatch({"play": self.play, "threshold": self.use_threshold,
                  "seed": self._compare_with}, clip_id, action)

    def _compare_with(self, clip_id: int) -> None:
        self.show(seed=clip_id)  # also back to seed mode, from a cluster's members
        self.compare()

    def _on_summary_action(self, cluster: Any, action: str) -> None:
        frame = self._need_clusters()
        if action == "show":
            self.show_cluster(int(cluster))
        elif action == "play":
            reps = frame[(frame["cluster"] == int(cluster)) & frame["representative"]]
            if len(reps):
                self.focus_clip(int(reps["clip_id"].iloc[0]))
        elif action == "assign":
            self.assign_cluster(int(cluster))

    def _on_member_action(self, clip_id: Any, action: str) -> None:
        dispatch({"play": self.focus_clip, "seed": self._compare_with}, clip_id, action)

    def _on_bin_pick(self, change: dict) -> None:
        if change["new"] is not None:
            self.ctx.guard(self.jump_to_bin)(change["new"])

    def _on_playing(self, change: dict) -> None:
        key = self.player.key
        playing = int(key) if change["new"] and key.isdigit() else None
        self.ranked.playing = playing
        self.members.playing = playing

    def close(self) -> None:
        """Stop playback (a running job finishes on its own; it holds no workspace lock)."""
        self.player.clear()


__all__ = ["CLUSTER_COLOURS", "ClassifyPanel", "cluster_map_figure", "histogram_figure"]
