"""The report in a real browser: Debian's headless Chromium (/usr/bin/chromium) driven by Playwright.

Checks that every picture loads, nothing is logged as an error, nothing but the page itself is
requested, and the grid slider (keyboard and value), the thumbnails and play/pause work.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gankit.report import build_report

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out



class Opened:
    """A report opened in a fresh page, with every request, console error and page error recorded."""

    def __init__(self, browser, path: Path):
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.goto(self.url, wait_until="load")

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def check_clean(self) -> None:
        """Every <img> decoded, no errors, no request but the page."""
        broken = self.page.evaluate("""() => Array.from(document.images)
            .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.alt)""")
        assert self.page.evaluate("document.images.length") > 0
        assert broken == []
        assert self.errors == []
        assert [u for u in self.requests if not u.startswith("data:")] == [self.url]
        duplicated = self.page.evaluate("""() => { const seen = new Set(), twice = [];
            document.querySelectorAll('[id]').forEach(e => { if (seen.has(e.id)) twice.push(e.id); seen.add(e.id); });
            return twice; }""")
        assert duplicated == []  # several inline SVGs never share an id

    def shown(self, panel: int = 0) -> tuple[str, str, str, str]:
        """(slider label, big picture's src, its step, its caption) of one panel of the first viewer."""
        return self.page.evaluate("""(i) => {
            const v = document.querySelector('.viewer'), p = v.querySelectorAll('.viewer-panel')[i];
            const big = p.querySelector('img.viewer-big');
            return [v.querySelector('.viewer-step').textContent, big.getAttribute('src'),
                    big.dataset.shown, p.querySelector('.viewer-caption').textContent]; }""", panel)


def test_one_run_in_the_browser(browser, decorated_run, tmp_path):
    opened = Opened(browser, build_report([decorated_run], tmp_path / "run.html"))
    opened.check_clean()
    page = opened.page
    label, src_last, step, _ = opened.shown()
    assert (label, step) == ("step 4", "4")
    slider = page.locator(".viewer-slider")
    slider.focus()
    page.keyboard.press("Home")
    label, src_first, step, caption = opened.shown()
    assert (label, step, caption) == ("step 0", "0", "step 0") and src_first != src_last
    page.keyboard.press("ArrowRight")
    label, src, step, caption = opened.shown()
    assert (label, step, caption) == ("step 1", "1", "step 1") and src not in (src_first, src_last)
    assert slider.get_attribute("aria-valuetext") == "step 1"
    slider.fill("3")  # setting the value, as a script or assistive technology would
    label, src3, step, _ = opened.shown()
    assert (label, step) == ("step 3", "3") and src3 != src
    assert page.locator("button.thumb[aria-current=true]").get_attribute("data-step") == "3"
    page.locator("button.thumb[data-step='1']").click()
    assert opened.shown()[0] == "step 1"
    play = page.locator(".viewer-play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    page.wait_for_function("() => document.querySelector('.viewer-step').textContent !== 'step 1'", timeout=5000)
    play.click()
    assert play.get_attribute("aria-pressed") == "false" and "Play" in play.inner_text()
    assert page.locator("svg.chart").count() >= 4  # losses, outputs, gradient norms, eval metrics
    opened.check_clean()


def test_several_runs_share_one_slider(browser, tiny_runs, tmp_path):
    sparse = tmp_path / "sparse"
    shutil.copytree(tiny_runs["seed1"], sparse)
    for step in (1, 3):
        (sparse / "samples" / f"step_{step:06d}.png").unlink()
    paths = [tiny_runs["plain"], tiny_runs["wgan"], sparse]
    opened = Opened(browser, build_report(paths, tmp_path / "runs.html"))
    opened.check_clean()
    page = opened.page
    assert page.locator(".viewer").count() == 1 and page.locator(".viewer-panel").count() == 3
    slider = page.locator(".viewer-slider")
    slider.fill("3")
    assert opened.shown(0)[2] == "3" and opened.shown(1)[2] == "3"
    label, _, step, caption = opened.shown(2)
    assert (label, step, caption) == ("step 3", "2", "step 2 (no grid at step 3)")
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert [opened.shown(i)[2] for i in range(3)] == ["4", "4", "4"]
    opened.check_clean()


def test_study_in_the_browser(browser, study_dir, tmp_path):
    opened = Opened(browser, build_report([study_dir], tmp_path / "study.html"))
    opened.check_clean()
    page = opened.page
    assert page.locator("ul.verdicts li").count() == 3
    assert page.locator("td.best").count() == 2
    before = opened.shown(1)
    page.locator(".viewer-slider").focus()
    page.keyboard.press("ArrowLeft")
    after = opened.shown(1)
    assert (before[0], after[0]) == ("step 4", "step 3") and after[1] != before[1] and after[2] == "3"
    opened.check_clean()
