"""`gankit serve` attacked as another account on a shared machine would attack it: a real server
on loopback (started with `python -m`, so its working folder is first on its sys.path), and
requests with no token, a wrong one, a cookie of another port, import paths that would run code,
files dropped beside the server, text/plain and form posts, forged origins, oversized bodies
and queries, and paths that try to escape. Each refusal must come before anything is imported
or started: no marker file may appear and no run folder either."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import gankit  # noqa: E402

from .serving import Server  # noqa: E402

pytestmark = pytest.mark.xdist_group("web-attacks")

TINY = ["train.steps=6", "model.g_width=8", "model.d_width=8", "train.sample_steps=[0]", "train.log_every=2",
        "train.sample_count=4"]
OWN_FAMILY = textwrap.dedent('''
    """The owner's own family for 2-D points."""
    from torch import nn
    import gankit

    def generator(in_dim, spec, cfg):
        return nn.Sequential(nn.Linear(in_dim, 16), nn.ReLU(), nn.Linear(16, 2))

    def discriminator_body(in_shape, cfg):
        return nn.Sequential(nn.Linear(in_shape[0], 16), nn.LeakyReLU(0.2)), 16

    Tiny = gankit.Family(("points",), generator, discriminator_body)
''')
MARKING_MODULE = textwrap.dedent('''
    import pathlib
    pathlib.Path({marker!r}).write_text("imported")
    Family = None
''')


def marking(folder: Path, module: str, marker: Path) -> Path:
    """A module ``module`` in ``folder`` that writes ``marker`` when anything imports it."""
    path = folder / f"{module}.py"
    path.write_text(MARKING_MODULE.format(marker=str(marker)))
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The server's working folder (an attacker may write there), an "installed" folder on the
    server's PYTHONPATH, the runs folder with one finished run, and where markers appear."""
    root = tmp_path_factory.mktemp("attacks")
    work, installed, runs, markers = root / "work", root / "installed", root / "runs", root / "markers"
    for folder in (work, installed, runs, markers):
        folder.mkdir()
    marking(work, "evilmod", markers / "evilmod")
    marking(installed, "installed_marker", markers / "installed_marker")
    gankit.train(overrides=TINY, runs_dir=runs, name="victim", progress=False, say=lambda text: None)
    return {"root": root, "work": work, "installed": installed, "runs": runs, "markers": markers}


@pytest.fixture(scope="module")
def server(site):
    """The server, its base URL and token."""
    pythonpath = os.pathsep.join(p for p in (str(site["installed"]), os.environ.get("PYTHONPATH")) if p)
    served = Server("--runs-dir", str(site["runs"]), "--studies-dir", str(site["root"] / "studies"),
                    cwd=site["work"], env={"PYTHONPATH": pythonpath})
    _, port, token = served.address()
    served.base, served.port, served.token = f"http://127.0.0.1:{port}", port, token
    yield served
    served.kill_trainings()
    served.stop()


def api(server, **headers) -> httpx.Client:
    """A client as a script would be: the token in an Authorization header, JSON bodies."""
    return httpx.Client(base_url=server.base, timeout=120,
                        headers={"Authorization": f"Bearer {server.token}", **headers})


def browser_like(server, **headers) -> httpx.Client:
    """A client as a browser holding the page's cookie is (the cookie goes with every request)."""
    return httpx.Client(base_url=server.base, timeout=120, headers=headers,
                        cookies={f"gankit_token_{server.port}": server.token})


def one_line(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


def finished(client: httpx.Client, run_id: str, seconds: float = 240) -> dict:
    """The run's detail once its process has ended."""
    deadline = time.monotonic() + seconds
    while True:
        detail = client.get(f"/api/runs/{run_id}").json()
        if detail.get("exit_code") is not None and detail["status"] != "starting":
            return detail
        assert time.monotonic() < deadline, detail
        time.sleep(0.5)


def run_folders(site) -> set[str]:
    return {p.name for p in site["runs"].iterdir() if not p.name.startswith(".")}


def markers(site) -> list[str]:
    return sorted(p.name for p in site["markers"].iterdir())


# ------------------------------------------------------------------ the token

@pytest.mark.parametrize("path", ["/", "/run/victim", "/toy", "/static/common.js", "/api/runs", "/api/runs/victim",
                                  "/api/runs/victim/samples.png", "/api/runs/victim/grid/0.png",
                                  "/api/runs/victim/stream?once=1", "/api/session", "/nothing"])
def test_without_the_token_nothing_answers(server, path):
    assert "token is required" in one_line(httpx.get(server.base + path, timeout=30), 401)
    assert "wrong token" in one_line(httpx.get(server.base + path, params={"token": "guess"}, timeout=30), 401)
    wrong_bearer = httpx.get(server.base + path, headers={"Authorization": "Bearer guess"}, timeout=30)
    assert "wrong token" in one_line(wrong_bearer, 401)


def test_writes_without_the_token_are_refused_and_start_nothing(server, site):
    before = run_folders(site)
    for method, path in (("POST", "/api/runs"), ("POST", "/api/runs/victim/stop"), ("POST", "/api/runs/victim/resume"),
                         ("POST", "/api/toy"), ("DELETE", "/api/toy/x")):
        response = httpx.request(method, server.base + path, json={"preset": "digits"}, timeout=30,
                                 headers={"Origin": server.base})
        one_line(response, 401)
    assert run_folders(site) == before


def test_a_cookie_of_another_port_or_another_server_is_no_token(server):
    other_port = server.port + 1 if server.port < 65535 else server.port - 1
    # this server's token, in the cookie a server on another port of this host would have set
    moved = httpx.get(server.base + "/api/runs", cookies={f"gankit_token_{other_port}": server.token}, timeout=30)
    assert "token is required" in one_line(moved, 401)
    # this port's cookie name holding another server's token
    foreign = httpx.get(server.base + "/api/runs", cookies={f"gankit_token_{server.port}": "another-servers-token"},
                        timeout=30)
    assert "wrong token" in one_line(foreign, 401)
    assert browser_like(server).get("/api/runs").status_code == 200


def test_the_printed_address_sets_an_http_only_strict_cookie_that_carries_the_pages(server):
    first = httpx.get(server.url, timeout=30)
    assert first.status_code == 200 and "text/html" in first.headers["content-type"]
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"gankit_token_{server.port}={server.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with httpx.Client(cookies=first.cookies, timeout=30) as browser:
        for path in ("/run/victim", "/static/common.js", "/api/runs"):
            assert browser.get(server.base + path).status_code == 200


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_another_account_gets_nothing_and_cannot_read_the_token(server):
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = textwrap.dedent(f'''
        import urllib.request, urllib.error
        try:
            urllib.request.urlopen("{server.base}/api/runs")
            print("answered")
        except urllib.error.HTTPError as err:
            print(err.code)
        try:
            print(open("/proc/{server.process.pid}/environ", "rb").read() and "environ readable")
        except OSError:
            print("environ unreadable")
        print("token in cmdline" if {server.token!r}.encode() in open("/proc/{server.process.pid}/cmdline", "rb").read()
              else "no token in cmdline")
    ''')
    seen = subprocess.run([*nobody, sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60)
    assert seen.stdout.split("\n")[:3] == ["401", "environ unreadable", "no token in cmdline"], seen


# ------------------------------------------------------------------ no code runs because of a request

@pytest.mark.parametrize("arch", ["evilmod:Family", "installed_marker:Family", "evilmod.sub:Family", "this:Family"])
def test_an_import_path_from_a_request_is_refused_before_anything_is_imported(server, site, arch):
    before = run_folders(site)
    with api(server) as client:
        for overrides in (["model.arch=" + arch], {"model.arch": arch}):
            message = one_line(client.post("/api/runs", json={"preset": "digits", "overrides": overrides}), 400)
            assert "import path" in message and "--allow-import" in message
        resumed = client.post("/api/runs/victim/resume", json={"overrides": [f"model.arch={arch}", "train.steps=9"]})
        assert "import path" in one_line(resumed, 400)
    time.sleep(0.5)
    assert markers(site) == [] and run_folders(site) == before


def test_a_run_whose_config_names_an_import_path_is_neither_resumed_nor_sampled(server, site):
    planted = site["runs"] / "planted"
    shutil.copytree(site["runs"] / "victim", planted)
    config = planted / "config.yaml"
    config.write_text(config.read_text().replace("arch: dcgan", "arch: evilmod:Family"))
    with api(server) as client:
        assert "import path" in one_line(client.get("/api/runs/planted/samples.png"), 400)
        assert "import path" in one_line(client.post("/api/runs/planted/resume", json={"overrides": ["train.steps=9"]}),
                                         400)
        assert client.get("/api/runs/planted").status_code == 200  # reading it imports nothing
    assert markers(site) == []


def test_files_dropped_beside_the_server_are_never_imported(server, site):
    """Modules named like what a training, a toy worker and the server itself import later
    (json, yaml, torchvision, sympy), dropped into the server's working folder after it started."""
    dropped = [marking(site["work"], name, site["markers"] / f"dropped-{name}") for name in ("json", "yaml", "torchvision", "sympy")]
    try:
        with api(server) as client:
            made = client.post("/api/runs", json={"preset": "digits", "overrides": TINY, "name": "dropped"})
            assert made.status_code == 202, made.text
            assert finished(client, "dropped")["exit_code"] == 0
            assert client.get("/api/runs/dropped/samples.png?seed=3").status_code == 200
            toy = client.post("/api/toy", json={"mixture": "ring8"})
            assert toy.status_code == 200, toy.text
            assert client.post(f"/api/toy/{toy.json()['id']}/step", json={"steps": 2}).json()["step"] == 2
            assert client.request("DELETE", f"/api/toy/{toy.json()['id']}",
                                  headers={"Content-Type": "application/json"}).status_code == 200
    finally:
        for path in dropped:
            path.unlink()
    assert markers(site) == []


def test_allowed_packages_train_and_sample_but_nothing_else_of_their_folder(tmp_path):
    """`--allow-import mynets`, mynets.py in the server's working folder: a run of its family
    trains (in the isolated process) and samples (in the server); evilmod beside it stays refused."""
    work, runs = tmp_path / "work", tmp_path / "runs"
    work.mkdir()
    (work / "mynets.py").write_text(OWN_FAMILY)
    marking(work, "evilmod", tmp_path / "evil-marker")
    served = Server("--allow-import", "mynets", "--runs-dir", str(runs), "--studies-dir", str(tmp_path), cwd=work)
    try:
        _, port, token = served.address()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            overrides = ["model.arch=mynets:Tiny", "train.steps=6", "train.log_every=2", "train.sample_steps=[]",
                         "train.ema=null", "model.pack=1", "model.maxout_pieces=0"]
            made = client.post("/api/runs", json={"preset": "ring8", "overrides": overrides, "name": "own"})
            assert made.status_code == 202, made.text
            detail = finished(client, "own")
            assert detail["exit_code"] == 0, detail
            assert len(client.get("/api/runs/own/samples.json?n=5").json()["samples"]) == 5
            refused = client.post("/api/runs", json={"preset": "digits", "overrides": ["model.arch=evilmod:Family"]})
            assert "import path" in one_line(refused, 400)
    finally:
        served.kill_trainings()
        served.stop()
    assert not (tmp_path / "evil-marker").exists()


# ------------------------------------------------------------------ writes only from the page itself

@pytest.mark.parametrize("content_type, body", [
    ("text/plain", json.dumps({"preset": "digits", "overrides": TINY})),
    ("text/plain;charset=UTF-8", json.dumps({"preset": "digits", "overrides": TINY})),
    ("application/x-www-form-urlencoded", "preset=digits"),
    ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="preset"\r\n\r\ndigits\r\n--x--\r\n'),
    (None, json.dumps({"preset": "digits", "overrides": TINY})),
])
def test_posts_that_are_not_json_are_refused(server, site, content_type, body):
    before = run_folders(site)
    headers = {"Content-Type": content_type} if content_type else {}
    for client in (browser_like(server, Origin=server.base), api(server)):
        with client:
            response = client.post("/api/runs", content=body.encode(), headers=headers)
            assert "Content-Type: application/json" in one_line(response, 403)
    assert run_folders(site) == before


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_cross_origin_writes_are_refused_with_or_without_a_token(server, site, origin):
    before = run_folders(site)
    body = {"preset": "digits", "overrides": TINY}
    assert httpx.post(server.base + "/api/runs", json=body, headers={"Origin": origin}, timeout=30).status_code == 401
    with browser_like(server, Origin=origin) as browser:
        assert "cross-origin" in one_line(browser.post("/api/runs", json=body), 403)
        assert "cross-origin" in one_line(browser.post("/api/runs/victim/stop", json={}), 403)
    with api(server, Origin=origin) as client:
        assert "cross-origin" in one_line(client.post("/api/runs", json=body), 403)
        assert "cross-origin" in one_line(client.post(f"/api/runs?token={server.token}", json=body), 403)
    assert run_folders(site) == before


def test_a_cookie_alone_needs_the_same_origin_or_the_pages_csrf_token(server):
    bad_preset = {"preset": "digitz"}  # passes the guard, then refused by the launcher: nothing starts
    with browser_like(server) as browser:
        refused = browser.post("/api/runs", json=bad_preset)
        assert "X-Gankit-Csrf" in one_line(refused, 403)
        wrong = browser.post("/api/runs", json=bad_preset, headers={"X-Gankit-Csrf": "guess"})
        assert "X-Gankit-Csrf" in one_line(wrong, 403)
        csrf = browser.get("/api/session").json()["csrf"]
        assert "unknown preset" in one_line(browser.post("/api/runs", json=bad_preset, headers={"X-Gankit-Csrf": csrf}),
                                            400)
        same_origin = browser.post("/api/runs", json=bad_preset, headers={"Origin": server.base})
        assert "unknown preset" in one_line(same_origin, 400)
    with api(server) as client:  # the Authorization header is no ambient credential: no CSRF token needed
        assert "unknown preset" in one_line(client.post("/api/runs", json=bad_preset), 400)


# ------------------------------------------------------------------ bounds

def test_oversized_bodies_and_queries_are_refused(server, site):
    before = run_folders(site)
    huge = {"preset": "digits", "overrides": ["train.steps=5"], "name": "x" * (70 << 10)}
    with api(server) as client:
        assert "larger than" in one_line(client.post("/api/runs", json=huge), 413)

        def chunks():  # no Content-Length: the server must stop reading at its limit
            yield b'{"preset": "digits", "name": "'
            for _ in range(200):
                yield b"y" * 1024
            yield b'"}'

        chunked = client.post("/api/runs", content=chunks(), headers={"Content-Type": "application/json"})
        assert "larger than" in one_line(chunked, 413)
        many = client.post("/api/runs", json={"preset": "digits", "overrides": [f"train.steps={i}" for i in range(101)]})
        assert "at most 100 overrides" in one_line(many, 400)
        long = client.post("/api/runs", json={"preset": "digits", "overrides": ["data.root=" + "a" * 2000]})
        assert "longer than" in one_line(long, 400)
        assert "longer than" in one_line(client.post("/api/runs", json={"preset": "digits", "name": "n" * 101}), 400)
        assert "query string" in one_line(client.get("/api/runs/victim/samples.png?prior=" + "9" * 3000), 414)
        assert "must lie in" in one_line(client.get("/api/runs/victim/metrics?after=" + "9" * 30), 400)
        assert "must lie in" in one_line(client.get("/api/runs/victim/samples.png?n=100000"), 400)
    assert run_folders(site) == before


# ------------------------------------------------------------------ paths that escape

@pytest.mark.parametrize("path", [
    "/api/runs/../../../etc/passwd", "/api/runs/..%2F..%2Fetc%2Fpasswd/metrics", "/api/runs/victim/../../config.yaml",
    "/static/../server.py", "/static/..%2F..%2Fweb%2Fserver.py", "/static/%2e%2e/isolated.py",
    "/api/runs/%2e%2e/grid/0.png", "/api/runs/victim%2F..%2F..%2F..%2Fetc/samples.png", "/run/..%2F..%2Fetc%2Fpasswd",
    "//etc/passwd", "/api/runs/.gankit-serve/metrics", "/api/runs/victim%00/metrics",
])
def test_paths_that_try_to_escape_reach_nothing(server, path):
    """Raw request lines (no client-side normalisation of .. or %2F)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.putheader("Authorization", f"Bearer {server.token}")
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status in (400, 404), (path, response.status)
    assert b"root:" not in body and b"create_app" not in body and b"Isolation" not in body and b"arch:" not in body
