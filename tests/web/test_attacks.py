"""`gankit serve` attacked as another account on a shared machine would attack it: a real server
on loopback (started with `python -m`, so its working folder is first on its sys.path), and
requests with no token, a wrong one, the token in a cookie or a query string, import paths that
would run code, files dropped beside the server (modules, a file named like a preset), runs
planted in a shared runs folder (links to the owner's files, a config swapped between the
server's check and the training's start, by a real second account where the machine allows it),
a server folder another account made first, text/plain and form posts, forged origins, bodies
nested thousands deep, numbers beyond the server's ranges, more trainings than it runs at once,
oversized bodies and queries, and paths that try to escape. Each refusal must come before
anything is imported or started: no marker file may appear and no run folder either.
(The browser's side, cookies and framing from a page on another port: test_browser_attacks.py.)"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import gankit  # noqa: E402

from .serving import Server  # noqa: E402

pytestmark = [pytest.mark.xdist_group("web-attacks"), pytest.mark.slow]

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


# Another account of the machine, for real where the tests run as root (as CI does); elsewhere the
# same account plays it, which still runs every race but cannot show ownership checks.
SECOND_ACCOUNT = os.geteuid() == 0 and shutil.which("setpriv") is not None
NOBODY = 65534
needs_second_account = pytest.mark.skipif(not SECOND_ACCOUNT, reason="needs root and setpriv for a second account")


def as_other_account(argv: list[str]) -> list[str]:
    """``argv`` run as the second account (uid 65534) where the machine allows it."""
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv] if SECOND_ACCOUNT else argv


def give_to_other_account(path: Path) -> None:
    """Make ``path`` and everything in it the second account's, as if it had written them."""
    if SECOND_ACCOUNT:
        for item in [path, *path.rglob("*")]:
            os.lchown(item, NOBODY, NOBODY)


@pytest.fixture
def shared():
    """A folder every account may write in, sticky like /tmp (a lab's shared scratch space)."""
    folder = Path(tempfile.mkdtemp(prefix="gankit-shared-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


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
    """A client as a browser is, holding every cookie a lab might ever have set, with the token
    as their value (the browser sends no Authorization header by itself)."""
    return httpx.Client(base_url=server.base, timeout=120, headers=headers,
                        cookies={name: server.token for name in ("gankit_token", f"gankit_token_{server.port}",
                                                                 "token", "session")})


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

@pytest.mark.parametrize("path", ["/api/runs", "/api/runs/victim", "/api/units", "/api/presets", "/api/studies",
                                  "/api/runs/victim/samples.png", "/api/runs/victim/grid/0.png",
                                  "/api/runs/victim/metrics", "/api/runs/victim/stream?once=1", "/nothing",
                                  "/static/../api/runs"])
def test_without_the_token_in_the_header_nothing_answers(server, path):
    assert "token is required" in one_line(httpx.get(server.base + path, timeout=30), 401)
    in_query = httpx.get(server.base + path, params={"token": server.token}, timeout=30)
    assert "token is required" in one_line(in_query, 401)
    with browser_like(server) as browser:  # every cookie a browser could hold opens nothing
        assert "token is required" in one_line(browser.get(path), 401)
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


def test_the_pages_are_public_shells_that_set_no_cookie(server):
    """The printed address's page, any run's page and the scripts: the same bytes for anyone, no
    run's data in them, no cookie set, framing forbidden."""
    first = httpx.get(server.url, timeout=30)  # the fragment (#token=...) never reaches the server
    assert first.status_code == 200 and "text/html" in first.headers["content-type"]
    assert "set-cookie" not in first.headers and server.token not in first.text
    assert first.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    victim = httpx.get(server.base + "/run/victim", timeout=30)
    assert victim.text == httpx.get(server.base + "/run/nobody", timeout=30).text
    assert "set-cookie" not in victim.headers


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
    with browser_like(server, Origin=server.base) as browser:  # what a form of another page could send
        assert "token is required" in one_line(browser.post("/api/runs", content=body.encode(), headers=headers), 401)
    with api(server) as client:
        response = client.post("/api/runs", content=body.encode(), headers=headers)
        assert "Content-Type: application/json" in one_line(response, 403)
    assert run_folders(site) == before


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_cross_origin_writes_are_refused_with_or_without_a_token(server, site, origin):
    before = run_folders(site)
    body = {"preset": "digits", "overrides": TINY}
    assert httpx.post(server.base + "/api/runs", json=body, headers={"Origin": origin}, timeout=30).status_code == 401
    with browser_like(server, Origin=origin) as browser:
        assert "token is required" in one_line(browser.post("/api/runs", json=body), 401)
        assert "token is required" in one_line(browser.post("/api/runs/victim/stop", json={}), 401)
    with api(server, Origin=origin) as client:
        assert "cross-origin" in one_line(client.post("/api/runs", json=body), 403)
        assert "cross-origin" in one_line(client.post(f"/api/runs?token={server.token}", json=body), 403)
    assert run_folders(site) == before


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


# ------------------------------------------------------------------ a file beside the server is no preset

def test_a_file_named_like_a_preset_beside_the_server_is_not_that_preset(server, site):
    """`digits` and `digits.yaml` dropped into the server's working folder, naming another data
    source and an importable family: a launch of the preset `digits` trains the shipped one,
    and a path is no preset name for the server."""
    evil = "name: evil\ndata: {source: ring8, root: /etc}\nmodel: {arch: installed_marker:Family}\n"
    dropped = [site["work"] / "digits", site["work"] / "digits.yaml"]
    for path in dropped:
        path.write_text(evil)
    try:
        with api(server) as client:
            made = client.post("/api/runs", json={"preset": "digits", "overrides": TINY, "name": "shipped"})
            assert made.status_code == 202, made.text
            assert finished(client, "shipped")["exit_code"] == 0
            for named in ("./digits", "digits.yaml", str(site["work"] / "digits")):
                assert "unknown preset" in one_line(client.post("/api/runs", json={"preset": named}), 400)
    finally:
        for path in dropped:
            path.unlink()
    config = yaml.safe_load((site["runs"] / "shipped" / "config.yaml").read_text())
    assert config["data"]["source"] == "digits" and config["data"]["root"] is None
    assert config["model"]["arch"] == "dcgan"
    assert markers(site) == []


# ------------------------------------------------------------------ runs planted in a shared runs folder

def test_links_planted_in_a_run_folder_are_never_followed(server, site):
    """A run whose picture, metrics, generator and config are links to files of the owner's, and a
    run folder that is itself a link: nothing of the owner's files reaches a response."""
    secret = site["root"] / "owner-secret.txt"
    secret.write_text("owner's secret: s3cr3t-bytes\n")
    planted = site["runs"] / "linked"
    shutil.copytree(site["runs"] / "victim", planted)
    for name in ("samples/step_000000.png", "metrics.jsonl", "generator.safetensors", "checkpoints/last.pt"):
        (planted / name).unlink()
        (planted / name).symlink_to(secret)
    (planted / "samples" / "step_000200.png").symlink_to(secret)
    (site["runs"] / "whole-link").symlink_to(site["runs"] / "victim")
    try:
        with api(server) as client:
            listed = {run["id"] for run in client.get("/api/runs").json()["runs"]}
            assert "linked" in listed and "whole-link" not in listed
            answers = [client.get(f"/api/runs/linked/grid/{step}.png") for step in (0, 200)]
            assert [answer.status_code for answer in answers] == [404, 404]
            answers.append(client.get("/api/runs/linked/metrics"))
            assert answers[-1].json() == {"rows": []}
            answers.append(client.get("/api/runs/linked/stream?once=1"))
            answers.append(client.get("/api/runs/linked"))
            assert answers[-1].json()["grids"] == [6] and answers[-1].json()["has_generator"] is False
            answers.append(client.get("/api/runs/linked/samples.png"))
            assert "no trained generator" in one_line(answers[-1], 409)
            answers.append(client.get("/api/runs/whole-link"))
            one_line(answers[-1], 404)
            assert not any(b"s3cr3t" in answer.content for answer in answers)
    finally:
        shutil.rmtree(planted)
        (site["runs"] / "whole-link").unlink()
    assert secret.read_text() == "owner's secret: s3cr3t-bytes\n"


def test_the_servers_folder_is_private_and_writes_nothing_through_a_link(server, site):
    """RUNS/.gankit-serve and its folders are 0700, its files 0600 and new: a link in its logs
    folder (as an older gankit, or anyone who once could, left it) is never written through."""
    secret = site["root"] / "owner-log-target.txt"
    secret.write_text("untouched\n")
    home = site["runs"] / ".gankit-serve"
    (home / "logs").mkdir(exist_ok=True)
    (home / "logs" / "logged.log").symlink_to(secret)
    with api(server) as client:
        made = client.post("/api/runs", json={"preset": "digits", "overrides": TINY, "name": "logged"})
        assert made.status_code == 202, made.text
        assert finished(client, "logged")["exit_code"] == 0
    assert secret.read_text() == "untouched\n"
    assert "run directory" in (home / "logs" / "logged.2.log").read_text()
    for folder in (home, home / "logs", home / "configs", home / "launched"):
        assert stat.S_IMODE(folder.lstat().st_mode) == 0o700, folder
    for path in [*(home / "configs").iterdir(), *(home / "launched").iterdir(), home / "logs" / "logged.2.log"]:
        assert stat.S_IMODE(path.lstat().st_mode) == 0o600, path
    given = json.loads((home / "configs" / "logged.json").read_text())  # what the training was handed
    trained = yaml.safe_load((site["runs"] / "logged" / "config.yaml").read_text())
    unresolved = ("name", "speed")  # the run's name and the speed switches it resolved ("auto") when it started
    assert {k: v for k, v in given.items() if k not in unresolved} == {k: v for k, v in trained.items()
                                                                      if k not in unresolved}
    assert given["train"]["steps"] == 6 and given["model"]["g_width"] == 8


@needs_second_account
@pytest.mark.parametrize("made", ["folder", "link"])
def test_a_server_folder_another_account_made_first_is_refused(shared, made):
    """In a shared runs folder, the second account makes `.gankit-serve` first (open to all, with
    a link in its logs to a file of the owner's), or makes it a link: the server refuses to start,
    in one line, and touches nothing."""
    target = shared / "owner-file"
    target.write_text("the owner's\n")
    target.chmod(0o600)
    plant = ("import os; os.mkdir('.gankit-serve', 0o777); os.mkdir('.gankit-serve/logs', 0o777); "
             "os.symlink(os.path.abspath('owner-file'), '.gankit-serve/logs/x.log')" if made == "folder"
             else "import os; os.mkdir('elsewhere', 0o777); os.symlink('elsewhere', '.gankit-serve')")
    subprocess.run(as_other_account([sys.executable, "-I", "-c", plant]), cwd=shared, check=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "gankit", "serve", "--port", "0", "--runs-dir", str(shared),
                           "--studies-dir", str(shared)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert (".gankit-serve" in lines[0] and ("another account" in lines[0] or "a link" in lines[0])), lines
    assert "listening" not in done.stdout
    assert target.read_text() == "the owner's\n"


SWAPPER = textwrap.dedent('''
    import os, sys, time
    folder = sys.argv[1]
    good, evil = os.path.join(folder, ".good"), os.path.join(folder, ".evil")
    config, spare = os.path.join(folder, "config.yaml"), os.path.join(folder, "config.swap")
    swaps, end = 0, time.monotonic() + 600
    while not os.path.exists(os.path.join(folder, ".stop")) and time.monotonic() < end:
        try:
            os.unlink(spare)
        except FileNotFoundError:
            pass
        os.link(evil if swaps % 2 else good, spare)
        os.replace(spare, config)
        swaps += 1
    print(swaps)
''')


def test_a_config_swapped_between_the_check_and_the_training_never_trains(shared, tmp_path):
    """A run planted in a shared runs folder by the second account, whose config.yaml it swaps in
    a tight loop between a clean one and one naming an importable family: each resume is either
    refused (the server read the bad one) or trains exactly the config the server checked (the
    child never reads config.yaml). The family's module is never imported."""
    installed, markers_dir = tmp_path / "installed", tmp_path / "markers"
    installed.mkdir()
    markers_dir.mkdir()
    marking(installed, "swapped_in", markers_dir / "swapped_in")
    gankit.train(overrides=TINY, runs_dir=tmp_path / "own", name="tiny", progress=False, say=lambda text: None)
    planted = shared / "planted"
    shutil.copytree(tmp_path / "own" / "tiny", planted)
    good = (planted / "config.yaml").read_text()
    assert "arch: dcgan" in good
    (planted / ".good").write_text(good)
    (planted / ".evil").write_text(good.replace("arch: dcgan", "arch: swapped_in:Family"))
    give_to_other_account(planted)
    swapper = subprocess.Popen(as_other_account([sys.executable, "-I", "-c", SWAPPER, str(planted)]),
                               stdout=subprocess.PIPE, text=True)
    pythonpath = os.pathsep.join(p for p in (str(installed), os.environ.get("PYTHONPATH")) if p)
    served = Server("--runs-dir", str(shared), "--studies-dir", str(tmp_path), env={"PYTHONPATH": pythonpath})
    started, refused, steps = 0, 0, 6
    try:
        _, port, token = served.address()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(40):
                answer = client.post("/api/runs/planted/resume", json={"overrides": [f"train.steps={steps + 2}"]})
                if answer.status_code == 400:
                    assert "import path" in one_line(answer, 400)
                    refused += 1
                else:
                    assert answer.status_code == 202, answer.text
                    detail = finished(client, "planted")
                    assert detail["exit_code"] == 0, detail
                    started, steps = started + 1, steps + 2
                if started >= 2 and refused >= 1:
                    break
    finally:
        (planted / ".stop").write_text("")
        swaps = int(swapper.communicate(timeout=60)[0] or 0)
        served.kill_trainings()
        served.stop()
    assert swaps > 100 and started >= 2 and refused >= 1, (swaps, started, refused)
    assert list(markers_dir.iterdir()) == []
    configs = sorted((shared / ".gankit-serve" / "configs").iterdir())
    assert len(configs) == started
    assert all(json.loads(path.read_text())["model"]["arch"] == "dcgan" for path in configs)


# ------------------------------------------------------------------ unbounded inputs

def test_bodies_nested_thousands_deep_are_a_400(server, site):
    before = run_folders(site)
    deep = b'{"overrides": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    with api(server) as client:
        for path in ("/api/runs", "/api/toy", "/api/runs/victim/resume"):
            answer = client.post(path, content=deep, headers={"Content-Type": "application/json"})
            assert "nests deeper than" in one_line(answer, 400)
        # deep, but within the body's depth: an override's value, parsed as YAML
        value = client.post("/api/runs", json={"preset": "digits",
                                                "overrides": ["train.sample_steps=" + "[" * 480 + "]" * 480]})
        one_line(value, 400)
    assert run_folders(site) == before


@pytest.mark.parametrize("overrides, words", [
    ({"train.batch_size": 1_000_000_000}, "less than or equal to 65536"),
    ({"model.g_width": 100_000_000}, "less than or equal to 16384"),
    ({"train.steps": 10 ** 15}, "less than or equal to 1000000000"),
    ({"data.count": 10 ** 12}, "less than or equal to 100000000"),
    ({"eval.samples": 10 ** 9}, "less than or equal to 10000000"),
    (["train.batch_size=1e9"], "valid integer"),
    ({"train.steps": 2_000_000}, "train.steps up to 1,000,000"),
    ({"train.batch_size": 8192}, "train.batch_size up to 4,096"),
    ({"model.z_dim": 5000}, "model.z_dim up to 4,096"),
    ({"data.count": 2_000_000}, "data.count up to 1,000,000"),
    ({"train.sample_steps": list(range(210))}, "at most 200 grids"),
])
def test_numbers_beyond_the_servers_ranges_are_refused(server, site, overrides, words):
    before = run_folders(site)
    with api(server) as client:
        assert words in one_line(client.post("/api/runs", json={"preset": "digits", "overrides": overrides}), 400)
        if isinstance(overrides, dict) and "steps" not in str(overrides):
            resumed = client.post("/api/runs/victim/resume", json={"overrides": {**overrides, "train.steps": 12}})
            assert words in one_line(resumed, 400)
    assert run_folders(site) == before


def test_the_server_runs_at_most_its_trainings_at_once(tmp_path):
    """With --max-trainings 1, a second launch (or resume) while one trains is a 429 that says
    why; once the first has stopped, a launch goes through."""
    gankit.train(overrides=TINY, runs_dir=tmp_path / "runs", name="done", progress=False, say=lambda text: None)
    served = Server("--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path), "--max-trainings", "1")
    try:
        _, port, token = served.address()
        served.line_with("at most 1 trainings at once")
        long = [*TINY[1:], "train.steps=100000"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            first = client.post("/api/runs", json={"preset": "digits", "overrides": long, "name": "one"})
            assert first.status_code == 202, first.text
            second = client.post("/api/runs", json={"preset": "digits", "overrides": TINY, "name": "two"})
            assert "--max-trainings 1" in one_line(second, 429)
            resumed = client.post("/api/runs/done/resume", json={"overrides": ["train.steps=8"]})
            assert "--max-trainings 1" in one_line(resumed, 429)
            assert client.post("/api/runs/one/stop", json={}).status_code == 202
            finished(client, "one")
            third = client.post("/api/runs", json={"preset": "digits", "overrides": TINY, "name": "three"})
            assert third.status_code == 202, third.text
            assert finished(client, "three")["exit_code"] == 0
        assert not (tmp_path / "runs" / "two").exists()
    finally:
        served.kill_trainings()
        served.stop()
