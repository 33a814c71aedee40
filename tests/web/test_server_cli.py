"""`gankit serve` as a real process: a token on every start (generated, given, or from
GANKIT_TOKEN) printed in its address, --no-token only on loopback and said loudly, and the live
stream of a run's metrics as the run appends them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from gankit.config import build_config  # noqa: E402

from .serving import Server, children, gone  # noqa: E402

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out


def fake_run(runs: Path, name: str) -> Path:
    """A run directory as a training in progress leaves it: config.yaml and two metrics rows."""
    run = runs / name
    run.mkdir(parents=True)
    cfg = build_config("digits", ["train.steps=100"])
    cfg.name = name
    (run / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "d_loss": 1.0 / (s + 1)}) + "\n" for s in (0, 10)))
    return run


def test_serve_binds_loopback_with_a_fresh_token_and_streams_new_rows(tmp_path):
    run = fake_run(tmp_path / "runs", "live")
    server = Server("--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path / "studies"))
    try:
        host, port, token = server.address()
        assert host == "127.0.0.1" and len(token) >= 20
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/runs", timeout=30).status_code == 401
        api = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=180)
        runs = api.get(f"{base}/api/runs").json()["runs"]
        assert [r["id"] for r in runs] == ["live"] and runs[0]["step"] == 10
        assert api.get(f"{base}/api/runs", headers={"Host": "evil.example"}).status_code == 403
        with api.stream("GET", f"{base}/api/runs/live/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            data = []
            for line in lines:
                if line.startswith("data: "):
                    data.append(json.loads(line[6:]))
                    if "rows" in data[-1]:
                        break
            assert [row["step"] for row in data[-1]["rows"]] == [0, 10]
            with open(run / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps({"step": 20, "d_loss": 0.5}) + "\n")
                handle.flush()
                handle.write('{"step": 30, "d_lo')  # half a line: not sent until it is whole
            for line in lines:
                if line.startswith("data: ") and '"step":20' in line:
                    assert json.loads(line[6:]) == {"step": 20, "d_loss": 0.5}
                    break
        toy = api.post(f"{base}/api/toy", json={"mixture": "grid25"})
        assert toy.status_code == 200, toy.text
        assert api.post(f"{base}/api/toy/{toy.json()['id']}/step", json={"steps": 2}).json()["step"] == 2
        workers = children(server.process.pid)
        assert workers  # the toy's worker process
    finally:
        code = server.stop()
    assert code == 130, server.seen
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(gone(pid) for pid in workers):
        time.sleep(0.1)
    assert all(gone(pid) for pid in workers)  # ended with the server


def test_serve_on_another_host_prints_its_token(tmp_path):
    server = Server("--host", "0.0.0.0", "--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path))
    try:
        host, port, token = server.address()
        assert host == "0.0.0.0" and len(token) >= 20
        server.line_with("keeps its token in that browser tab alone")
        base = f"http://127.0.0.1:{port}"
        refused = httpx.get(f"{base}/api/runs", timeout=30)
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert httpx.get(f"{base}/api/runs?token={token}", timeout=30).status_code == 401  # a header or nothing
        assert httpx.get(f"{base}/api/runs", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    finally:
        server.stop()


def test_serve_refuses_a_bad_token_and_a_busy_port_in_one_line(tmp_path, gankit):
    code, _, err = gankit("serve", "--token", "two words", "--runs-dir", str(tmp_path))
    assert code == 2 and err.strip().splitlines()[-1].startswith("gankit: error: --token")
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _, err = gankit("serve", "--port", str(port), "--runs-dir", str(tmp_path))
    assert code == 3 and f"cannot listen on 127.0.0.1:{port}" in err.strip().splitlines()[-1]


def test_a_given_token_from_the_environment_or_the_command_line(tmp_path):
    server = Server("--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path),
                    env={"GANKIT_TOKEN": "from-the-environment"})
    try:
        _, port, token = server.address()
        assert token == "from-the-environment"
        assert not any("visible to every account" in line for line in server.seen)
        base = f"http://127.0.0.1:{port}"
        bearer = {"Authorization": "Bearer from-the-environment"}
        assert httpx.get(f"{base}/api/runs", headers=bearer, timeout=30).status_code == 200
    finally:
        server.stop()
    server = Server("--token", "on-the-command-line", "--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path))
    try:
        assert server.address()[2] == "on-the-command-line"
        assert any("visible to every account" in line for line in server.seen)
    finally:
        server.stop()


def test_no_token_is_said_loudly_and_only_on_loopback(tmp_path, gankit):
    server = Server("--no-token", "--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path))
    try:
        _, port, token = server.address()
        assert token == ""
        warning = server.line_with("WARNING: --no-token")
        assert "every account on this machine" in warning
        assert httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=30).status_code == 200
    finally:
        server.stop()
    code, _, err = gankit("serve", "--no-token", "--host", "0.0.0.0", "--runs-dir", str(tmp_path))
    assert code == 2 and "--no-token only on loopback" in err.strip().splitlines()[-1]
    code, _, err = gankit("serve", "--no-token", "--token", "abc", "--runs-dir", str(tmp_path))
    assert code == 2 and "contradict" in err.strip().splitlines()[-1]
    code, _, err = gankit("serve", "--allow-import", "not a name", "--runs-dir", str(tmp_path))
    assert code == 2 and "--allow-import" in err.strip().splitlines()[-1]
