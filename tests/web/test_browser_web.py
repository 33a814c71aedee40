"""`gankit serve` in a real browser: Debian's headless Chromium (/usr/bin/chromium) driven by
Playwright, against a real `gankit serve` process. The browser comes in as a user does: it opens
the address the server printed (with its token after "#"), and keeps that tab open; every page
opened later in the same browser gets the token from it (the lab's tabs share it, no cookie does).

The run list, a run's page (curves, grids, the play panel), a run started and stopped from the
page, the toy lab and a study page. Every page must load nothing from another host and log no
error. With GANKIT_SCREENSHOTS=DIR, a screenshot of each page is saved into DIR
(`GANKIT_SCREENSHOTS=docs/screenshots pytest tests/web/test_browser_web.py`).
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

pytest.importorskip("uvicorn", reason="uvicorn is not installed: gankit serve needs it")

import gankit  # noqa: E402

from .serving import Server  # noqa: E402

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = {"train.steps": 20, "model.g_width": 16, "model.d_width": 8, "train.sample_steps": [0, 20],
        "train.sample_count": 16}


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("GANKIT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A runs folder with one tiny finished run, "demo", and a studies folder with one study of two
    arms whose runs are copies of it."""
    root = tmp_path_factory.mktemp("serve")
    runs, studies = root / "runs", root / "studies"
    gankit.train(overrides=TINY, runs_dir=runs, name="demo", progress=False, say=lambda text: None)
    study = studies / "tiny"
    for arm in ("bce", "hinge"):
        shutil.copytree(runs / "demo", study / "runs" / f"{arm}-s0")
    (study / "study.yaml").write_text(yaml.safe_dump({
        "title": "A tiny study", "base": "digits",
        "arms": [{"name": "bce", "label": "BCE"}, {"name": "hinge", "label": "hinge loss"}]}))
    (study / "summary.json").write_text(json.dumps({
        "format": 1, "study": "tiny", "title": "A tiny study",
        "arms": [{"name": "bce", "label": "BCE"}, {"name": "hinge", "label": "hinge loss"}],
        "runs": [{"name": f"{arm}-s0", "arm": arm, "seed": 0, "dir": f"runs/{arm}-s0", "values": {}}
                 for arm in ("bce", "hinge")],
        "design": "looks at 3, 6, ... up to 15 seeds",
        "verdicts": [{"claim": "hinge covers more modes", "verdict": "inconclusive", "evidence": "hinge 7 vs BCE 6",
                      "settled": False, "seeds": 6, "reason": "too few seeds: roughly 11 per arm would decide it"}]}))
    return runs, studies


@contextmanager
def serving(runs: Path, studies: Path, *args: str):
    """A real `gankit serve` over the folders while in the block (base, port and printed url)."""
    served = Server("--runs-dir", str(runs), "--studies-dir", str(studies), *args)
    try:
        _, port, _ = served.address()
        served.base = f"http://127.0.0.1:{port}"
        yield served
    finally:
        served.kill_trainings()  # a run a failed test left training
        served.stop()


@pytest.fixture(scope="module")
def server(folders):
    """The real server over the test folders."""
    with serving(*folders) as served:
        yield served


@pytest.fixture(scope="module")
def signed_in(browser, server):
    """A browser context with the printed address open in one tab (left open: the lab's other
    tabs ask it for the token)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    response = page.goto(server.url, wait_until="load")
    assert response.status == 200
    page.locator("tr[data-id='demo']").wait_for()
    yield context
    context.close()


class Opened:
    """A page of the server in a fresh tab, with every request, console error and page error recorded."""

    def __init__(self, context, base: str, path: str):
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.goto(base + path, wait_until="load")

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def check_clean(self) -> None:
        """No error logged; nothing requested from another host."""
        assert self.errors == []
        foreign = [u for u in self.requests if not u.startswith((self.base + "/", "data:", "blob:"))]
        assert foreign == []

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def opened(signed_in, server):
    """opened(path): a page of the server, closed after the test."""
    pages: list[Opened] = []

    def open_path(path: str) -> Opened:
        pages.append(Opened(signed_in, server.base, path))
        return pages[-1]

    yield open_path
    for page in pages:
        page.close()


# The pixels, drawn on a canvas (the page's policy lets it fetch nothing but its server, blob: URLs included).
IMAGE_HASH = """async (selector) => {
    const img = document.querySelector(selector);
    const canvas = Object.assign(document.createElement('canvas'), {width: img.naturalWidth, height: img.naturalHeight});
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const digest = await crypto.subtle.digest('SHA-256', pixels);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def test_the_run_list_shows_the_run(opened):
    o = opened("/")
    page = o.page
    row = page.locator("tr[data-id='demo']")
    row.wait_for()
    link = row.locator("a.run-link")
    assert link.inner_text() == "demo" and link.get_attribute("href") == "/run/demo"
    assert row.get_attribute("data-status") == "finished"
    assert row.locator(".progress .txt").inner_text() == "20 / 20"
    assert row.locator("td.d_real").inner_text() not in ("", "–")
    page.locator("#preset option[value='digits']").wait_for(state="attached")
    page.locator("#studies a[href='/study/tiny']").wait_for()
    # (the README's "list", "run" and "study" pictures come from a trained run: test_screenshots.py)
    o.check_clean()


def test_the_run_page_draws_curves_grids_and_samples(opened):
    o = opened("/run/demo")
    page = o.page
    page.wait_for_function("() => GK.charts.losses && GK.charts.losses.seriesCount >= 3"
                           " && GK.charts.losses.plot.data[0].length > 0")
    assert page.locator("#chart-losses canvas").count() >= 1
    # the losses chart holds every quantity the registry puts on it that the run logged
    assert page.evaluate("GK.charts.losses.plot.series.slice(1).map(s => s.label)") == ["D real", "D fake", "D total", "G"]
    assert page.locator("#run-status .badge").inner_text() == "finished"
    assert page.locator("#resume").is_visible() and not page.locator("#stop").is_visible()

    # the sample grids of steps 0 and 20 under the slider
    page.wait_for_function("() => { const i = document.querySelector('#grid-img');"
                           " return i.complete && i.naturalWidth > 0 && i.dataset.step === '20'; }")
    page.locator("#grid-slider").fill("0")
    page.wait_for_function("() => { const i = document.querySelector('#grid-img');"
                           " return i.dataset.step === '0' && i.complete && i.naturalWidth > 0; }")
    assert page.locator("#grid-step").inner_text() == "step 0"
    assert page.locator("#config").inner_text().count("\n") > 5
    assert page.locator("#loss-table table").count() == 1

    # the play panel: a new seed draws other samples
    samples = "#play img.samples"
    page.wait_for_function(f"() => {{ const i = document.querySelector('{samples}');"
                           " return i && i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0; }")
    before = page.evaluate(IMAGE_HASH, samples)
    query = page.locator(samples).get_attribute("data-query")
    page.locator("#play input.seed").fill("7")
    page.wait_for_function(f"(q) => {{ const i = document.querySelector('{samples}');"
                           " return i.dataset.query !== q && i.complete && i.naturalWidth > 0; }", arg=query)
    assert "seed=7" in page.locator(samples).get_attribute("data-query")
    assert page.evaluate(IMAGE_HASH, samples) != before
    # a far mean still samples
    query = page.locator(samples).get_attribute("data-query")
    page.locator("#play input.p-mu").fill("-10")  # normal(mu,sigma): its sliders come from /api/units
    page.wait_for_function(f"(q) => document.querySelector('{samples}').dataset.query !== q", arg=query)
    assert "prior=normal%28-10%2C1%29" in page.locator(samples).get_attribute("data-query")
    assert page.locator("#play .play .error").is_hidden()

    # the interpolation strip animates
    page.wait_for_function("() => { const i = document.querySelector('#play img.strip');"
                           " return i.complete && i.naturalWidth > 0; }")
    label = page.locator("#play .frame-label")
    first = label.inner_text()
    page.wait_for_function("(t) => document.querySelector('#play .frame-label').textContent !== t", arg=first)
    o.check_clean()


def test_a_run_started_from_the_form_trains_and_stops(opened):
    o = opened("/")
    page = o.page
    page.locator("#preset option[value='digits']").wait_for(state="attached")
    page.select_option("#preset", "digits")
    page.fill("#overrides", "train.steps=3000\nmodel.g_width=16\nmodel.d_width=8\ntrain.log_every=10")
    page.fill("#run-name", "from-the-page")
    page.click("#start")
    note = page.locator("#form-note a")
    note.wait_for()
    run_id = note.inner_text()
    assert run_id.startswith("from-the-page")
    row = page.locator(f"tr[data-id='{run_id}']")
    row.wait_for()
    # the step counter on the list advances (the list polls every 2 s)
    page.wait_for_function("(id) => { const r = document.querySelector(`tr[data-id='${id}']`);"
                           " return r && r.dataset.status === 'running'"
                           " && Number(r.querySelector('.progress .txt').dataset.step) > 0; }",
                           arg=run_id, timeout=180_000)
    first = int(row.locator(".progress .txt").get_attribute("data-step"))
    page.wait_for_function("([id, s]) => { const r = document.querySelector(`tr[data-id='${id}']`);"
                           " return r && Number(r.querySelector('.progress .txt').dataset.step) > s; }",
                           arg=[run_id, first], timeout=120_000)
    _screenshot(page, "list-running")

    # its page: the curves grow from the stream, without a reload
    run = opened(f"/run/{quote(run_id, safe='')}")
    run.page.wait_for_function("() => GK.charts.losses && GK.charts.losses.plot"
                               " && GK.charts.losses.plot.data[0].length > 0")
    shown = run.page.evaluate("GK.charts.losses.plot.data[0].length")
    run.page.wait_for_function("(n) => GK.charts.losses.plot.data[0].length > n", arg=shown, timeout=120_000)
    assert run.page.locator("#stop").is_visible()

    row.locator("button.stop").click()
    page.wait_for_function("(id) => { const r = document.querySelector(`tr[data-id='${id}']`);"
                           " return r && r.dataset.status === 'stopped'; }", arg=run_id, timeout=120_000)
    assert page.locator("#form-error").is_hidden()
    o.check_clean()
    # the run's page follows, and offers to resume
    run.page.wait_for_function("() => document.querySelector('#run-status .badge')?.textContent === 'stopped'")
    assert run.page.locator("#resume").is_visible() and run.page.locator("#stop").is_hidden()
    run.check_clean()


def test_the_form_shows_the_servers_error(opened):
    o = opened("/")
    page = o.page
    page.locator("#preset option[value='digits']").wait_for(state="attached")
    page.fill("#overrides", "train.steps=not-a-number")
    page.click("#start")
    error = page.locator("#form-error")
    error.wait_for()
    assert error.inner_text().strip() and "\n" not in error.inner_text().strip()
    assert "Traceback" not in error.inner_text()
    page.fill("#overrides", "no equals sign")
    page.click("#start")
    page.wait_for_function("() => document.querySelector('#form-error').textContent.includes('key=value')")
    o.errors = [e for e in o.errors if "400" not in e]  # the browser logs the refused POST itself
    o.check_clean()


def test_the_toy_lab_trains_step_by_step(opened):
    o = opened("/toy")
    page = o.page
    page.wait_for_function("() => GK.toy.state && GK.toy.state.fake.length > 0 && GK.toy.state.real.length > 0")
    before = page.evaluate("GK.toy.state.fake")
    page.click("#step")
    page.wait_for_function("() => GK.toy.state.step >= 1")
    after_step = page.evaluate("GK.toy.state.fake")
    assert after_step != before
    assert page.locator("#counter").inner_text() == str(page.evaluate("GK.toy.state.step"))

    page.click("#play")
    assert page.locator("#play").get_attribute("aria-pressed") == "true"
    page.wait_for_function("() => GK.toy.state.step >= 16", timeout=60_000)
    # the loss switches between steps
    from gankit.registry import LOSSES

    # the loss picker lists every registered loss (from /api/units), the lab's default chosen
    assert page.eval_on_selector_all("#loss option", "options => options.map(o => o.value)") == LOSSES.names()
    assert page.input_value("#loss") == "non-saturating"
    page.select_option("#loss", "hinge")
    page.wait_for_function("() => GK.toy.state.settings && GK.toy.state.settings.loss === 'hinge'")
    page.click("#play")
    assert page.locator("#play").get_attribute("aria-pressed") == "false"
    moved = page.evaluate("GK.toy.state.fake")
    assert moved != after_step
    assert page.evaluate("GK.charts.toy.seriesCount") >= 3
    assert page.locator("#toy-error").is_hidden()
    _screenshot(page, "toy")
    o.check_clean()


def test_the_study_page(opened):
    o = opened("/study/tiny")
    page = o.page
    page.locator("section.arm").nth(1).wait_for()
    assert page.locator("#study-title").inner_text() == "A tiny study"
    assert page.locator("section.arm h2").all_inner_texts()[0].startswith("BCE")
    assert page.locator("section.arm a.run-link").count() == 2
    verdict = page.locator("#verdicts li.verdict")
    assert verdict.count() == 1 and "hinge covers more modes" in verdict.inner_text()
    assert "open with 6 seeds: too few seeds: roughly 11 per arm" in verdict.locator(".strength").inner_text()
    assert "up to 15 seeds" in page.locator("#verdicts .design").inner_text()
    page.wait_for_function("() => Array.from(document.querySelectorAll('section.arm img.samples'))"
                           ".filter(i => i.complete && i.naturalWidth > 0).length === 2")
    o.check_clean()


def test_only_the_printed_address_or_its_token_lets_a_browser_in(browser, server):
    """A browser without the token gets the page's shell and a form asking for it, and no data;
    the printed address (#token=...) opens the lab, keeps the token in that tab's session storage
    alone (no cookie, nothing in local storage) and cleans the address bar; its links carry the
    lab on in the same tab; a refused token is asked for again."""
    stranger = browser.new_context()
    try:
        o = Opened(stranger, server.base, "/run/demo")
        o.page.locator("#sign-in").wait_for()
        assert o.page.locator("#run-name").inner_text() == "…"  # nothing of the run was read
        o.page.fill("#token-input", "a-wrong-guess")
        o.page.click("#sign-in button")
        o.page.wait_for_function("() => document.querySelector('#sign-in p')?.textContent.includes('refused')")
        o.page.fill("#token-input", server.url.split("#token=")[1])
        o.page.click("#sign-in button")
        o.page.wait_for_function("() => GK.charts.losses && GK.charts.losses.plot"
                                 " && GK.charts.losses.plot.data[0].length > 0")
        o.errors = [e for e in o.errors if "401" not in e]  # the browser logs the refused requests itself
        o.check_clean()
    finally:
        stranger.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        o = Opened(context, server.base, server.url.removeprefix(server.base))
        o.page.locator("tr[data-id='demo'] a.run-link").click()
        o.page.wait_for_url(f"{server.base}/run/demo")
        o.page.wait_for_function("() => GK.charts.losses && GK.charts.losses.plot"
                                 " && GK.charts.losses.plot.data[0].length > 0")
        o.page.wait_for_function("() => document.querySelector('#play img.samples')?.naturalWidth > 0")
        o.page.wait_for_function("() => document.querySelector('#grid-img')?.naturalWidth > 0")
        assert o.page.locator("#page-error").is_hidden()
        token = server.url.split("#token=")[1]
        assert "token" not in o.page.url and token not in o.page.evaluate("history.state + location.href")
        assert o.page.evaluate("sessionStorage.getItem('gankit-token')") == token
        assert o.page.evaluate("localStorage.length") == 0 and context.cookies() == []
        o.check_clean()
    finally:
        context.close()
