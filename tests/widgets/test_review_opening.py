"""Opening the Review tab: what reaches the page first (issue 13, "Review tab to 20 drawn
takes"). The order of the messages is what makes the cards appear early; the time itself is
measured in bench/bench_workbench.py and bench/bench_review.py."""

from __future__ import annotations

import pytest

from widgets.i18n import Translator
from widgets.review import PAGE_SIZE, ReviewPanel
from widgets.workbench import Workbench

pytestmark = pytest.mark.usefixtures("no_player_messages")


def _score_some(ws, task, n):
    ids = ws.takes.df(task, sort="plan").id.tolist()
    for i, t in enumerate(ids[:n]):
        ws.scores.set(t, 1 + i % 5)


def test_cards_are_sent_before_the_star_model_and_best_so_far(ctx, done_task, ws):
    _score_some(ws, done_task, 6)
    panel = ReviewPanel(ctx, fill=False)
    en = Translator("en")
    assert panel.list.items == [] and panel.list.text_empty == en("tab.loading")
    events = []
    panel.list.observe(lambda c: events.append(("cards", len(c["new"]))), "spectra_meta")
    panel.list.observe(lambda c: events.append(
        ("predicted", sum(i["predicted"] is not None for i in c["new"]))), "items")
    panel.best.observe(lambda c: events.append(("best", c["new"])), "value")
    panel.refresh()
    kinds = [k for k, _ in events]
    # The page's cards with their spectrograms first, then the predictions on them, then the
    # "Best so far" line.
    assert kinds[0] == "cards" and events[0][1] == PAGE_SIZE
    assert kinds.index("best") > max(i for i, k in enumerate(kinds) if k == "predicted")
    assert events[kinds.index("best") - 1][1] > 0  # predictions did arrive on the cards
    assert "takes heard" in panel.best.value
    assert panel.list.text_empty == en("review.empty")
    unscored = [i for i in panel.list.items if i["stars"] is None]
    assert unscored and all(isinstance(i["predicted"], float) for i in unscored)


def test_the_workbench_shows_the_review_controls_before_it_reads_the_takes(ws, ctx, done_task,
                                                                           monkeypatch):
    events = []
    read = ReviewPanel.refresh

    def refresh(self, *args):
        events.append("read")
        return read(self, *args)

    monkeypatch.setattr(ReviewPanel, "refresh", refresh)
    wb = Workbench(ws, lang="en", role=ctx.role, watch=False)
    slot = wb.tabs.children[wb.tab_names().index("review")]
    slot.observe(lambda c: events.append("shown"), "children")
    panel = wb.select("review")
    assert len(panel.list.items) == PAGE_SIZE and len(panel.list.spectra_meta) == PAGE_SIZE
    assert slot.children == (panel.widget,)
    # Shown first, then its takes read once: the cards fill the panel on the page.
    assert events == ["shown", "read"]
    wb.select("clips")
    wb.select("review")  # opened again: read again in place, not rebuilt
    assert events == ["shown", "read", "read"]
    assert wb.panel("review") is panel and slot.children == (panel.widget,)


def test_blind_mode_and_an_empty_task_still_hide_or_fill_the_best_box(ctx, done_task, ws):
    panel = ReviewPanel(ctx)
    panel.blind.value = True
    assert panel.best_box.layout.display == "none"
    assert all(i["predicted"] is None for i in panel.list.items)
    panel.blind.value = False
    panel.unscored.value = True
    _score_some(ws, done_task, 24)  # every take scored: the unscored filter leaves none
    panel.load()
    assert panel.df.empty and panel.best_box.layout.display == ""
    assert "takes heard" in panel.best.value
