"""The README's pictures of a trained run and a study, in the web lab and as reports: made on
request from runs that really trained (the other browser tests use a 20-step run, whose grids
are grey noise).

    GANKIT_SCREENSHOTS=docs/screenshots GANKIT_SCREENSHOT_RUN=RUN [GANKIT_SCREENSHOT_STUDY=STUDY_DIR] \\
        .venv/bin/python -m pytest tests/web/test_screenshots.py

Every page must load, draw its curves and pictures and log no error, as in the other browser tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="uvicorn is not installed: gankit serve needs it")

from gankit.report import build_report  # noqa: E402

from .serving import Server  # noqa: E402
from .test_browser_web import Opened, _screenshot  # noqa: E402

RUN = os.environ.get("GANKIT_SCREENSHOT_RUN")
STUDY = os.environ.get("GANKIT_SCREENSHOT_STUDY")
pytestmark = [pytest.mark.skipif(not (os.environ.get("GANKIT_SCREENSHOTS") and RUN),
                                reason="made on request: GANKIT_SCREENSHOTS=DIR GANKIT_SCREENSHOT_RUN=RUN"), pytest.mark.slow]


def test_screenshots_of_a_trained_run_and_a_study(browser, tmp_path):
    runs, studies = tmp_path / "runs", tmp_path / "studies"
    run = Path(RUN)
    shutil.copytree(run, runs / run.name, ignore=shutil.ignore_patterns(".lock", "report.html"))
    if STUDY:
        shutil.copytree(Path(STUDY), studies / Path(STUDY).name, ignore=shutil.ignore_patterns(".lock", "report.html"))
    server = Server("--runs-dir", str(runs), "--studies-dir", str(studies))
    try:
        _, port, _ = server.address()
        base = f"http://127.0.0.1:{port}"
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        Opened(context, base, server.url.removeprefix(base))  # the printed address, left open: the other tabs ask it
        listing = Opened(context, base, "/")
        listing.page.locator(f"tr[data-id='{run.name}']").wait_for()
        _screenshot(listing.page, "list")
        listing.check_clean()
        page = Opened(context, base, f"/run/{run.name}")
        page.page.wait_for_function("() => GK.charts.losses && GK.charts.losses.plot.data[0].length > 0")
        page.page.wait_for_function("() => { const i = document.querySelector('#grid-img');"
                                    " return i && i.complete && i.naturalWidth > 0; }")
        page.page.wait_for_function("() => document.querySelector('#play img.samples')?.naturalWidth > 0")
        _screenshot(page.page, "run")
        page.check_clean()
        if STUDY:
            study = Opened(context, base, f"/study/{Path(STUDY).name}")
            study.page.wait_for_function("() => Array.from(document.querySelectorAll('section.arm img.samples'))"
                                         ".filter(i => i.complete && i.naturalWidth > 0).length > 1")
            _screenshot(study.page, "study")
            study.check_clean()
    finally:
        server.stop()
    reports = [build_report([runs / run.name], tmp_path / "run.html")]
    if STUDY:
        reports.append(build_report([studies / Path(STUDY).name], tmp_path / "study.html"))
    for name, report in zip(("report-run", "report-study"), reports):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.resolve().as_uri(), wait_until="load")
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        _screenshot(page, name)
        page.close()
        assert errors == []
