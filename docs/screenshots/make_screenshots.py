"""Re-take the screenshots in this folder: python docs/screenshots/make_screenshots.py [zh|en]

Builds a fresh demo workspace, serves it, and drives headless Chromium through the Clips,
Review (analysis, playback, keyboard scores, a tag), Tasks (a task built in the form), Run and
Engines tabs. Look at every image before committing it (docs/workbench.md shows the English
set and the Chinese Clips and Review).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from widgets.dashboard import start, stop  # noqa: E402
from widgets.demo import build_demo  # noqa: E402
from widgets.testing import launch  # noqa: E402

OUT = Path(__file__).resolve().parent
LABELS = {
    "en": {"review": "Review", "tasks": "Tasks", "run": "Run", "engines": "Engines",
           "analyse": "Analyse", "add": "Add a dimension", "create": "Create task"},
    "zh": {"review": "结果评测", "tasks": "推理任务", "run": "运行", "engines": "推理引擎",
           "analyse": "自动分析", "add": "添加变量", "create": "创建任务"},
}


def shot(page, name: str, max_height: int) -> None:
    page.wait_for_timeout(800)
    box = page.locator(".rasv-workbench").first.bounding_box()
    page.screenshot(path=str(OUT / f"{name}.png"),
                    clip={"x": box["x"], "y": box["y"], "width": box["width"],
                          "height": min(box["height"], max_height)})


def main(lang: str) -> None:
    t = LABELS[lang]
    ws = Path(tempfile.mkdtemp(prefix="rasv-shots-")) / "demo"
    build_demo(ws)
    proc, url = start(ws, lang=lang, quiet=True, engines=["espeak"])
    try:
        with sync_playwright() as p:
            browser, context = launch(p, width=1200, height=1600)
            page = context.new_page()
            page.goto(url, timeout=120_000)
            page.wait_for_selector(".rasv-cliptable tbody tr[data-id]", timeout=120_000)
            page.locator(".rasv-cliptable tbody tr[data-id]").nth(2).locator(
                "button.rasv-play").click()
            shot(page, f"clips-{lang}", 640)

            page.locator(".lm-TabBar-tab", has_text=t["review"]).click()
            page.wait_for_function(
                "() => document.querySelectorAll('.rasv-take canvas').length >= 5")
            page.locator(".rasv-review button", has_text=t["analyse"]).click()
            page.wait_for_function(
                "() => document.querySelectorAll('.rasv-tag.suggested').length >= 1",
                timeout=120_000)
            page.locator(".rasv-take").first.locator(".rasv-take-play").click()
            for key in ("4", "2", "5"):
                page.wait_for_timeout(500)
                page.keyboard.press(key)
            page.locator(".rasv-tag.suggested").first.click()
            shot(page, f"review-{lang}", 720)

            page.locator(".lm-TabBar-tab", has_text=t["tasks"]).click()
            page.wait_for_timeout(800)
            page.locator(".rasv-tasks .jupyter-widget-Collapse-header").first.click()
            page.wait_for_timeout(800)
            lists = page.locator(".rasv-tasks select[multiple]")
            lists.nth(0).select_option(index=[0])
            page.wait_for_timeout(300)
            lists.nth(2).select_option(index=[0, 1])
            page.wait_for_timeout(300)
            page.locator(".rasv-tasks button", has_text=t["add"]).click()
            page.wait_for_timeout(800)
            page.locator(".rasv-tasks .rasv-row select").last.select_option("speed_factor")
            page.wait_for_timeout(500)
            page.locator(".rasv-tasks input[placeholder='5, 10, 15']").fill("0.9 1.0 1.1")
            page.keyboard.press("Enter")
            page.locator(".rasv-tasks input[placeholder='k sweep']").fill("speed check")
            page.wait_for_timeout(1500)
            shot(page, f"tasks-{lang}", 1100)

            page.locator(".rasv-tasks button", has_text=t["create"]).click()
            page.wait_for_timeout(1500)
            page.locator(".rasv-run button").first.click()
            page.wait_for_timeout(2500)
            shot(page, f"run-{lang}", 500)

            page.locator(".lm-TabBar-tab", has_text=t["engines"]).click()
            page.wait_for_timeout(1500)
            shot(page, f"engines-{lang}", 700)
            browser.close()
    finally:
        stop(proc)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "en")
