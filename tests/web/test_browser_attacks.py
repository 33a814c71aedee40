"""The web lab against a page that another account serves on another port of 127.0.0.1, in a real
browser (Debian's headless Chromium driven by Playwright). Browsers send a host's cookies to every
port of it and treat every port of 127.0.0.1 as the same site, so such a page is where a token
kept in a cookie would leak. The owner has the lab open in one tab; the same browser then loads
the other account's page (a link, an image). That page's server must receive no cookie and no
token; its pictures of the lab's runs must not load, whether the run exists or not (no probing);
its frame of the lab must stay empty (no clickjacking)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="uvicorn is not installed: gankit serve needs it")

import gankit  # noqa: E402

from .serving import Server  # noqa: E402
from .test_browser_web import Opened  # noqa: E402

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

SECOND_ACCOUNT = os.geteuid() == 0 and shutil.which("setpriv") is not None
TINY = {"train.steps": 4, "model.g_width": 8, "model.d_width": 8, "train.sample_steps": [0], "train.sample_count": 4}

# The other account's web server: one page that embeds the lab, and a log of every request's headers.
ATTACKER = textwrap.dedent('''
    import http.server, json, sys
    lab, log = sys.argv[1], sys.argv[2]
    PAGE = """<!doctype html><html><head><title>cat pictures</title></head><body>
    <img id="exists" src="LAB/api/runs/demo/grid/0.png">
    <img id="missing" src="LAB/api/runs/no-such-run/grid/0.png">
    <img id="page" src="LAB/run/demo">
    <iframe id="framed" src="LAB/" width="600" height="400"></iframe>
    </body></html>""".replace("LAB", lab).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with open(log, "a") as handle:
                handle.write(json.dumps({"path": self.path, "headers": dict(self.headers)}) + "\\n")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Page)
    print(server.server_address[1], flush=True)
    server.serve_forever()
''')


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real server over one tiny finished run, "demo"."""
    runs = tmp_path_factory.mktemp("lab") / "runs"
    gankit.train(overrides=TINY, runs_dir=runs, name="demo", progress=False, say=lambda text: None)
    served = Server("--runs-dir", str(runs), "--studies-dir", str(runs.parent))
    _, port, token = served.address()
    served.base, served.token = f"http://127.0.0.1:{port}", token
    yield served
    served.stop()


@pytest.fixture
def attacker(lab):
    """The other account's server (uid 65534 where the tests run as root) on a free port: its base
    URL and the file it logs each request's headers to."""
    folder = Path(tempfile.mkdtemp(prefix="gankit-other-"))
    folder.chmod(0o1777)
    log = folder / "requests.jsonl"
    command = [sys.executable, "-I", "-c", ATTACKER, lab.base, str(log)]
    if SECOND_ACCOUNT:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=folder)
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_page_on_another_port_gets_no_token_cannot_probe_runs_nor_frame_the_lab(browser, lab, attacker):
    base, log = attacker
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        owner = Opened(context, lab.base, lab.url.removeprefix(lab.base))  # the lab, open and working
        owner.page.locator("tr[data-id='demo']").wait_for()
        assert owner.page.evaluate("sessionStorage.getItem('gankit-token')") == lab.token

        visit = context.new_page()  # the same browser, another tab: the other account's page
        requests: list[str] = []
        visit.on("request", lambda request: requests.append(request.url))
        visit.goto(base + "/", wait_until="load")
        visit.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
        visit.wait_for_timeout(500)

        # what the other account's server received: no cookie at all, and nowhere the token
        received = [json.loads(line) for line in log.read_text().splitlines()]
        assert received and all("Cookie" not in r["headers"] and "cookie" not in r["headers"] for r in received)
        assert lab.token not in log.read_text()
        assert context.cookies() == []
        # its pictures of the lab's runs fail alike for a run that exists and one that does not
        sizes = visit.evaluate("['exists', 'missing', 'page'].map(id => document.getElementById(id).naturalWidth)")
        assert sizes == [0, 0, 0]
        # its frame of the lab stays empty: the page is refused, so none of the lab's scripts load
        framed = [frame for frame in visit.frames if frame != visit.main_frame]
        assert len(framed) == 1 and not framed[0].url.startswith(lab.base)
        assert not any(url.startswith(lab.base + "/static/") for url in requests)
        assert not any(url.startswith(lab.base + "/api/") and "grid" not in url for url in requests)
        # and the lab's own tab still works, its token untouched
        assert owner.page.evaluate("sessionStorage.getItem('gankit-token')") == lab.token
        owner.check_clean()
    finally:
        context.close()
