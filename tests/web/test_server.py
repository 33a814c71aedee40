"""gankit serve's HTTP side, through Starlette's TestClient: the run list and details, metrics
and the stream, pictures and fresh samples, refusals as one JSON line, path escapes, starting,
stopping and resuming trainings (real `gankit train` processes), the token, the toy lab."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import pytest
import yaml

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from PIL import Image  # noqa: E402

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2 than httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import gankit  # noqa: E402
from gankit.rundir.lock import DirectoryLock  # noqa: E402
from gankit.web.guard import CONTENT_SECURITY_POLICY  # noqa: E402
from gankit.web.server import create_app  # noqa: E402

# One worker for the whole module under `pytest -n 2 --dist loadgroup`: its runs are trained once.
pytestmark = [pytest.mark.xdist_group("web-server"), pytest.mark.slow]

TINY = {"train.steps": 20, "model.g_width": 16, "model.d_width": 8, "train.sample_steps": [0, 20],
        "train.sample_count": 16, "train.log_every": 5}
TINY_POINTS = {"train.steps": 20, "model.g_width": 16, "model.d_width": 16, "model.g_depth": 2, "model.d_depth": 2,
               "model.maxout_pieces": 0, "model.pack": 1, "train.batch_size": 64, "train.ema": None,
               "train.sample_steps": [0, 20], "train.sample_count": 100, "train.log_every": 10, "data.count": 1000}
PNG = b"\x89PNG\r\n\x1a\n"
TOKEN = "test-token-of-this-module"
# An API client: the token in an Authorization header (which no web page can make a browser send),
# and JSON on every request (writes need it).
API_HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A runs folder with a tiny digits run and a tiny ring8 run (trained in-process, as from a
    terminal), a hidden folder that must never show, and a study folder holding a copy of the
    digits run as its one arm's run."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    root = tmp_path_factory.mktemp("lab")
    runs, studies = root / "runs", root / "studies"
    gankit.train(overrides=TINY, runs_dir=runs, name="tiny", progress=False, say=lambda text: None)
    gankit.train("ring8", TINY_POINTS, runs_dir=runs, name="ring", progress=False, say=lambda text: None)
    shutil.copytree(runs / "tiny", runs / ".hidden")
    study = studies / "mini"
    (study / "runs").mkdir(parents=True)
    shutil.copytree(runs / "tiny", study / "runs" / "a-s0")
    (study / "study.yaml").write_text(yaml.safe_dump({
        "name": "mini", "title": "A tiny study", "question": "Does it work?", "base": "digits", "seeds": [0],
        "arms": [{"name": "a", "label": "arm A", "set": {}}]}))
    return root


@pytest.fixture(scope="module")
def client(lab):
    app = create_app(lab / "runs", lab / "studies", token=TOKEN)
    with TestClient(app, headers=API_HEADERS) as test_client:
        yield test_client
    app.state.lab.launcher.kill_all()


def wait_for(condition, seconds: float = 180, every: float = 0.25):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def one_line_error(response, status) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and message and "\n" not in message and "Traceback" not in message
    return message


def sse_events(text: str) -> list[tuple[str, object]]:
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith((":", "retry:"))]
        if not lines:
            continue
        kind = next((line[7:] for line in lines if line.startswith("event: ")), "message")
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((kind, json.loads(data)))
    return events


# ------------------------------------------------------------------ reading runs

def test_presets_are_listed(client):
    presets = client.get("/api/presets").json()["presets"]
    assert "digits" in presets and "ring8" in presets


def test_units_come_from_the_registries(client):
    from gankit.registry import PRIORS, QUANTITIES

    units = client.get("/api/units").json()
    assert set(units["quantities"]) == set(QUANTITIES) and set(units["priors"]) == set(PRIORS)
    assert units["quantities"]["d_real"]["short"] == "D real"
    assert units["quantities"]["image_coverage"]["share"] is True
    exponential = units["priors"]["exponential"]
    assert exponential["form"] == "exponential(rate[,shift])"
    assert [(p["name"], p["default"]) for p in exponential["parameters"]] == [("rate", None), ("shift", 0.0)]


def test_the_list_shows_terminal_runs_and_study_runs_but_no_hidden_folder(client):
    runs = {run["id"]: run for run in client.get("/api/runs").json()["runs"]}
    assert {"tiny", "ring", "mini:a-s0"} <= set(runs) and ".hidden" not in runs
    tiny = runs["tiny"]
    assert tiny["name"] == "tiny" and tiny["study"] is None and tiny["started_here"] is False
    assert tiny["step"] == 20 and tiny["steps"] == 20 and tiny["status"] == "finished"
    assert tiny["preset"] == "digits/dcgan"  # no preset recorded: data.source/model.arch
    assert set(tiny["last"]) >= {"d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z"}
    assert tiny["metrics"] == {}
    study_run = runs["mini:a-s0"]
    assert study_run["study"] == "mini" and study_run["name"] == "a-s0" and study_run["preset"] == "digits"


def test_run_detail(client):
    detail = client.get("/api/runs/tiny").json()
    assert detail["id"] == "tiny" and detail["kind"] == "images" and detail["num_classes"] == 0
    assert detail["z_dim"] == 100 and detail["prior"] == "normal(0,1)" and detail["objective"] == "bce"
    assert detail["config"]["train"]["steps"] == 20 and detail["config"]["model"]["g_width"] == 16
    assert detail["grids"] == [0, 20] and detail["has_generator"] is True
    assert [row["step"] for row in detail["loss_table"]] == [0, 20]
    assert isinstance(detail["loss_table"][0]["d_real"], float)
    assert detail["step"] == 20 and detail["status"] == "finished"
    points = client.get("/api/runs/ring").json()
    assert points["kind"] == "points" and points["num_classes"] == 0 and points["z_dim"] == 2
    study_run = client.get("/api/runs/mini%3Aa-s0").json()
    assert study_run["id"] == "mini:a-s0" and study_run["study"] == "mini"


def test_metrics_after_a_step(client):
    all_rows = client.get("/api/runs/tiny/metrics").json()["rows"]
    assert [row["step"] for row in all_rows] == [0, 5, 10, 15, 20]
    later = client.get("/api/runs/tiny/metrics?after=10").json()["rows"]
    assert [row["step"] for row in later] == [15, 20] and later == all_rows[3:]
    one_line_error(client.get("/api/runs/tiny/metrics?after=ten"), 400)


def test_the_stream_sends_the_rows_and_the_status(client):
    response = client.get("/api/runs/tiny/stream?once=1")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[0] == ("message", {"rows": client.get("/api/runs/tiny/metrics").json()["rows"]})
    assert ("status", {"status": "finished", "step": 20}) in events


def test_grid_pictures(client, lab):
    response = client.get("/api/runs/tiny/grid/20.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == (lab / "runs" / "tiny" / "samples" / "step_000020.png").read_bytes()
    one_line_error(client.get("/api/runs/tiny/grid/7.png"), 404)


def test_fresh_samples_follow_the_seed_and_refuse_bad_queries(client):
    first = client.get("/api/runs/tiny/samples.png?prior=normal(0,1)&seed=0&label=&n=64&raw=0")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content.startswith(PNG)
    assert Image.open(io.BytesIO(first.content)).size == (8 * 34 + 2, 8 * 34 + 2)  # 8x8 cells of 32 px
    again = client.get("/api/runs/tiny/samples.png?seed=0")
    assert again.content == first.content
    other = client.get("/api/runs/tiny/samples.png?seed=1")
    assert other.status_code == 200 and other.content != first.content
    shifted = client.get("/api/runs/tiny/samples.png?seed=0&prior=normal(-10,1)")
    assert shifted.content != first.content
    message = one_line_error(client.get("/api/runs/tiny/samples.png?prior=gaussian(0,1)"), 400)
    assert "gaussian(0,1)" in message
    one_line_error(client.get("/api/runs/tiny/samples.png?n=257"), 400)
    one_line_error(client.get("/api/runs/tiny/samples.png?n=0"), 400)
    assert "not conditional" in one_line_error(client.get("/api/runs/tiny/samples.png?label=3"), 400)
    one_line_error(client.get("/api/runs/tiny/samples.png?seed=x"), 400)
    start = time.perf_counter()
    for seed in range(5):
        assert client.get(f"/api/runs/tiny/samples.png?seed={seed}").status_code == 200
    assert (time.perf_counter() - start) / 5 < 1.0  # the generator is cached (well under 0.2 s when idle)


def test_samples_of_points_as_json_and_as_a_scatter(client):
    body = client.get("/api/runs/ring/samples.json?n=10&seed=2").json()
    assert body["kind"] == "points" and len(body["samples"]) == 10 and all(len(p) == 2 for p in body["samples"])
    assert body == client.get("/api/runs/ring/samples.json?n=10&seed=2").json()
    picture = client.get("/api/runs/ring/samples.png?n=100")
    assert picture.status_code == 200 and picture.content.startswith(PNG)


def test_interpolation_strip(client):
    response = client.get("/api/runs/tiny/interpolation.png?seed_a=0&seed_b=1&frames=8&label=")
    assert response.status_code == 200 and response.content.startswith(PNG)
    assert Image.open(io.BytesIO(response.content)).size == (8 * 34 + 2, 34 + 2)  # one row of 8 frames
    one_line_error(client.get("/api/runs/tiny/interpolation.png?frames=1"), 400)
    one_line_error(client.get("/api/runs/tiny/interpolation.png?frames=65"), 400)


def test_studies_list_their_arms_and_runs(client):
    studies = client.get("/api/studies").json()["studies"]
    assert [s["name"] for s in studies] == ["mini"]
    mini = studies[0]
    assert mini["title"] == "A tiny study" and mini["arms"] == [{"name": "a", "label": "arm A", "runs": ["mini:a-s0"]}]


@pytest.mark.parametrize("run_id", ["..", "%2E%2E", "..%2Ftiny", "tiny%2F..%2Ftiny", ".hidden", "nope", "mini:..",
                                    "mini%3A..", "mini:a-s0%2F..", "%00", "tiny%00", "..%5Ctiny", "mini", ":tiny"])
@pytest.mark.parametrize("route", ["", "/metrics", "/stream?once=1", "/grid/20.png", "/samples.png",
                                   "/samples.json", "/interpolation.png"])
def test_no_request_reaches_a_file_outside_the_listed_runs(client, run_id, route):
    response = client.get(f"/api/runs/{run_id}{route}")
    assert response.status_code in (400, 404), (run_id, route, response.status_code)
    one_line_error(response, response.status_code)


def test_static_files_stay_inside_their_folder(client):
    for path in ("/static/%2E%2E/server.py", "/static/..%2Fserver.py", "/static/vendor/..%2F..%2Fserver.py",
                 "/static/nothing-here.js"):
        response = client.get(path)
        assert response.status_code == 404 and b"create_app" not in response.content, path


def test_unknown_routes_wrong_methods_and_internal_errors_are_one_json_line(client, capfd):
    assert one_line_error(client.get("/api/nothing"), 404)
    one_line_error(client.request("DELETE", "/api/runs"), 405)
    one_line_error(client.post("/api/runs", content=b"{not json"), 400)
    one_line_error(client.post("/api/runs", json=["digits"]), 400)
    one_line_error(client.post("/api/runs", json={"preset": "digits", "colour": "red"}), 400)
    lab = client.app.state.lab
    original = lab.index.studies

    def broken():
        raise RuntimeError("a bug")

    lab.index.studies = broken
    try:
        response = client.get("/api/studies")
    finally:
        lab.index.studies = original
    assert one_line_error(response, 500) == "internal error: RuntimeError"
    assert "Traceback" in capfd.readouterr().err


# ------------------------------------------------------------------ starting, stopping, resuming

def folders(lab: Path) -> set[str]:
    return {p.name for p in (lab / "runs").iterdir()}


@pytest.mark.parametrize("body, words", [
    ({"preset": "digits", "overrides": {"train.stepz": 5}}, "unknown config key 'train.stepz'"),
    ({"preset": "digits", "overrides": ["train.steps=-1"]}, "train.steps"),
    ({"preset": "digits", "overrides": "train.steps=5"}, "overrides must be"),
    ({"preset": "digitz"}, "unknown preset 'digitz'"),
    ({"preset": "../../etc/passwd.yaml"}, "unknown preset"),
    ({"preset": "digits", "name": "a/b"}, "not a plain folder name"),
    ({"preset": "digits", "name": ".sneaky"}, "not a plain folder name"),
    ({"preset": "digits", "name": "x:y"}, "not a plain folder name"),
])
def test_a_bad_launch_starts_nothing(client, lab, body, words):
    before = folders(lab)
    message = one_line_error(client.post("/api/runs", json=body), 400)
    assert words in message
    assert folders(lab) == before and client.app.state.lab.launcher.all() == []


def test_a_run_started_from_the_page_trains_to_its_end(client, lab):
    response = client.post("/api/runs", json={"preset": "digits", "overrides": TINY, "name": "tiny"})
    assert response.status_code == 202, response.text
    made = response.json()
    assert made["id"] == "tiny-2" and isinstance(made["pid"], int)  # "tiny" is taken: gankit's rule
    listed = {run["id"]: run for run in client.get("/api/runs").json()["runs"]}
    assert listed["tiny-2"]["started_here"] is True and listed["tiny-2"]["status"] in ("starting", "running")
    assert client.get("/api/runs/tiny-2").status_code == 200  # answered before its folder holds a config

    def finished():
        detail = client.get("/api/runs/tiny-2").json()
        return detail if detail["status"] == "finished" and detail["exit_code"] is not None else None

    detail = wait_for(finished)
    assert detail["step"] == 20 and detail["steps"] == 20 and detail["preset"] == "digits"
    assert detail["started_here"] is True and detail["exit_code"] == 0 and detail["grids"] == [0, 20]
    logs = lab / "runs" / ".gankit-serve" / "logs" / "tiny-2.log"
    assert "gankit train digits" in logs.read_text()
    assert "tiny-2" not in [run["id"] for run in client.get("/api/runs").json()["runs"] if run["status"] == "starting"]


def test_stop_writes_a_checkpoint_and_resume_continues(client, lab):
    long_run = {**TINY, "train.steps": 100000, "train.sample_steps": [0], "train.checkpoint_every": 100000}
    made = client.post("/api/runs", json={"preset": "digits", "overrides": long_run, "name": "long"}).json()
    assert made["id"] == "long"
    wait_for(lambda: [row for row in client.get("/api/runs/long/metrics?after=0").json()["rows"]])
    assert client.get("/api/runs/long").json()["status"] == "running"
    assert "running" in one_line_error(client.post("/api/runs/long/resume", json={}), 409)
    response = client.post("/api/runs/long/stop")
    assert response.status_code == 202 and response.json() == {"stopping": True}

    def stopped():
        detail = client.get("/api/runs/long").json()
        return detail if detail["status"] == "stopped" and detail.get("exit_code") == 130 else None

    detail = wait_for(stopped)
    assert (lab / "runs" / "long" / "checkpoints" / "last.pt").is_file()
    step = detail["step"]
    assert 0 < step < 100000
    assert "not running" in one_line_error(client.post("/api/runs/long/stop"), 409)
    message = one_line_error(client.post("/api/runs/long/resume", json={"overrides": {"train.stepz": 1}}), 400)
    assert "train.stepz" in message
    response = client.post("/api/runs/long/resume", json={"overrides": {"train.steps": step + 10}})
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "long"

    def resumed():
        detail = client.get("/api/runs/long").json()
        return detail if detail["status"] == "finished" and detail["exit_code"] is not None else None

    detail = wait_for(resumed)
    assert detail["exit_code"] == 0 and detail["step"] == step + 10 and detail["steps"] == step + 10
    rows = client.get("/api/runs/long/metrics").json()["rows"]
    assert [row["step"] for row in rows] == sorted({row["step"] for row in rows})  # none twice
    assert "already at step" in one_line_error(client.post("/api/runs/long/resume", json={}), 400)


def test_runs_from_a_terminal_cannot_be_stopped_here(client, lab):
    assert "not running" in one_line_error(client.post("/api/runs/tiny/stop"), 409)
    with DirectoryLock(lab / "runs" / "ring"):
        assert client.get("/api/runs/ring").json()["status"] == "running"
        assert "not started from this page" in one_line_error(client.post("/api/runs/ring/stop"), 409)
        assert "running" in one_line_error(client.post("/api/runs/ring/resume", json={}), 409)
    one_line_error(client.post("/api/runs/nope/stop"), 404)


# ------------------------------------------------------------------ the token and the guard

def test_with_a_token_every_api_request_needs_it_in_the_authorization_header(lab):
    app = create_app(lab / "runs", lab / "studies", token="s3cret-token")
    bearer = {"Authorization": "Bearer s3cret-token"}
    with TestClient(app) as anonymous:
        for path in ("/api/runs", "/api/runs/tiny", "/api/runs/tiny/samples.png", "/api/runs/tiny/grid/0.png",
                     "/api/units", "/nothing", "/run/tiny/extra"):
            assert "token is required" in one_line_error(anonymous.get(path), 401)
        assert "wrong token" in one_line_error(anonymous.get("/api/runs", headers={"Authorization": "Bearer no"}), 401)
        # the token anywhere but the header opens nothing, and no answer sets a cookie
        assert "token is required" in one_line_error(anonymous.get("/api/runs?token=s3cret-token"), 401)
        for name in ("gankit_token", "gankit_token_80", "token"):
            anonymous.cookies.set(name, "s3cret-token")
        assert "token is required" in one_line_error(anonymous.get("/api/runs/tiny/stream?once=1"), 401)
        anonymous.cookies.clear()
        answers = [anonymous.get(path, headers=bearer) for path in ("/api/runs", "/api/runs/tiny/stream?once=1")]
        answers += [anonymous.get(path) for path in ("/", "/run/tiny", "/toy", "/study/mini", "/static/common.js")]
        for answer in answers:
            assert answer.status_code == 200 and "set-cookie" not in answer.headers
    with pytest.raises(gankit.GankitError):
        create_app(lab / "runs", lab / "studies", token="has space")


def test_pages_are_shells_without_data_and_every_answer_forbids_framing(lab):
    """The pages and their scripts are the same for everyone (no run, no token in them); every
    answer, refusals included, forbids framing and carries the strict policy."""
    app = create_app(lab / "runs", lab / "studies", token="s3cret-token")
    with TestClient(app) as anonymous:
        shell = anonymous.get("/run/tiny")
        assert shell.text == anonymous.get("/run/no-such-run").text  # nothing of the run is in the page
        assert "tiny" not in shell.text and "s3cret" not in shell.text
        for answer in (shell, anonymous.get("/"), anonymous.get("/static/common.js"), anonymous.get("/api/runs"),
                       anonymous.get("/api/runs", headers={"Authorization": "Bearer s3cret-token"})):
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert anonymous.post("/", json={}).status_code == 401  # only GET and HEAD of a page are public


def test_a_loopback_server_answers_only_to_loopback_names_and_same_origin_changes(lab):
    app = create_app(lab / "runs", lab / "studies", allowed_hosts=("127.0.0.1", "localhost", "::1"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/api/runs").status_code == 200
        assert local.get("/api/runs", headers={"Host": "evil.example"}).status_code == 403
        refused = local.post("/api/runs", json={"preset": "digitz"}, headers={"Origin": "http://evil.example"})
        assert "cross-origin" in one_line_error(refused, 403)
        same = local.post("/api/runs", json={"preset": "digitz"}, headers={"Origin": "http://127.0.0.1:8000"})
        assert "unknown preset" in one_line_error(same, 400)


# ------------------------------------------------------------------ the toy lab

def test_the_toy_lab_trains_switches_and_closes(client):
    made = client.post("/api/toy", json={"mixture": "ring8", "loss": "non-saturating", "g_lr": 1e-3, "d_lr": 1e-3,
                                          "regularizer": "none", "seed": 0})
    assert made.status_code == 200, made.text
    state = made.json()
    toy = state["id"]
    assert state["step"] == 0 and len(state["real"]) == 1000 and len(state["fake"]) == 512
    heat = state["heat"]
    assert heat["size"] == 40 and len(heat["values"]) == 40 * 40 and len(heat["extent"]) == 4
    assert state["settings"]["loss"] == "non-saturating" and state["losses"] == []
    stepped = client.post(f"/api/toy/{toy}/step", json={"steps": 20}).json()
    assert stepped["step"] == 20 and len(stepped["losses"]) == 20
    assert set(stepped["losses"][-1]) >= {"step", "d_real", "d_fake", "g_loss"}
    assert stepped["fake"] != state["fake"] and stepped["heat"]["values"] != heat["values"]
    assert stepped["real"] == state["real"]
    switched = client.post(f"/api/toy/{toy}/settings", json={"loss": "wasserstein", "g_lr": 5e-4,
                                                              "regularizer": "gradient_penalty"}).json()
    assert switched["settings"]["loss"] == "wasserstein" and switched["settings"]["g_lr"] == 5e-4
    assert switched["settings"]["regularizer"] == "gradient_penalty" and switched["step"] == 20
    after = client.post(f"/api/toy/{toy}/step", json={"steps": 5}).json()
    assert after["step"] == 25 and after["losses"][-1]["d_real"] < 0  # the critic's -mean D(x)
    assert client.get(f"/api/toy/{toy}").json()["step"] == 25
    one_line_error(client.post(f"/api/toy/{toy}/settings", json={"loss": "nope"}), 400)
    one_line_error(client.post(f"/api/toy/{toy}/settings", json={"d_lr": -1}), 400)
    one_line_error(client.post(f"/api/toy/{toy}/settings", json={"regularizer": "magic"}), 400)
    one_line_error(client.post(f"/api/toy/{toy}/settings", json={"mixture": "grid25"}), 400)
    one_line_error(client.post(f"/api/toy/{toy}/step", json={"steps": 201}), 400)
    worker = client.app.state.lab.toys.get(toy).process
    assert client.delete(f"/api/toy/{toy}").json() == {"deleted": True}
    assert worker.poll() is not None
    one_line_error(client.get(f"/api/toy/{toy}"), 404)
    one_line_error(client.post(f"/api/toy/{toy}/step", json={"steps": 1}), 404)


def test_a_custom_toy_mixture_of_drawn_points(client):
    points = [[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]]
    made = client.post("/api/toy", json={"mixture": "custom", "points": points, "seed": 3})
    assert made.status_code == 200, made.text
    state = made.json()
    for x, y in state["real"][:200]:  # every real point lies near one of the drawn ones (std 0.05 x 2)
        assert min((x - px) ** 2 + (y - py) ** 2 for px, py in points) < 0.6 ** 2
    assert state["settings"]["points"] == points
    stepped = client.post(f"/api/toy/{state['id']}/step", json={"steps": 3}).json()
    assert stepped["step"] == 3
    toys = client.app.state.lab.toys
    worker = toys.get(state["id"]).process
    toys.idle_s = 0.0  # as if nobody had asked for it for ten minutes
    try:
        toys.reap_idle()
    finally:
        toys.idle_s = 600.0
    one_line_error(client.get(f"/api/toy/{state['id']}"), 404)
    assert worker.poll() is not None
    one_line_error(client.post("/api/toy", json={"mixture": "custom", "points": []}), 400)
    one_line_error(client.post("/api/toy", json={"mixture": "custom", "points": [[0, "a"]]}), 400)
    one_line_error(client.post("/api/toy", json={"mixture": "spiral"}), 400)
    assert len(client.app.state.lab.toys) == 0
