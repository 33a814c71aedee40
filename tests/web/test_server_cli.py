"""`gankit serve` as a real process: loopback without a token by default, a printed token for
any other host, and the live stream of a run's metrics as the run appends them."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from gankit.config import build_config  # noqa: E402


class Server:
    """A `gankit serve` process and the lines it prints."""

    def __init__(self, *args: str):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "gankit", "serve", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                        start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line_with(self, words: str, seconds: float = 90) -> str:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line with {words!r} in {self.seen}"
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, f"the server ended: {self.seen}"
            self.seen.append(line)
            if words in line:
                return line

    def address(self) -> tuple[str, int, str]:
        line = self.line_with("listening on")
        match = re.search(r"http://([^/:]+|\[[^]]+\]):(\d+)/(\?token=(\S+))?", line)
        assert match, line
        return match.group(1), int(match.group(2)), match.group(4) or ""

    def stop(self) -> int:
        """Ctrl-C: uvicorn shuts down (the lifespan ends the toys), then gankit exits 130."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def fake_run(runs: Path, name: str) -> Path:
    """A run directory as a training in progress leaves it: config.yaml and two metrics rows."""
    run = runs / name
    run.mkdir(parents=True)
    cfg = build_config("digits", ["train.steps=100"])
    cfg.name = name
    (run / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "d_loss": 1.0 / (s + 1)}) + "\n" for s in (0, 10)))
    return run


def test_serve_binds_loopback_without_a_token_and_streams_new_rows(tmp_path):
    run = fake_run(tmp_path / "runs", "live")
    server = Server("--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path / "studies"))
    try:
        host, port, token = server.address()
        assert host == "127.0.0.1" and token == ""
        assert not any("token" in line for line in server.seen)
        base = f"http://127.0.0.1:{port}"
        runs = httpx.get(f"{base}/api/runs", timeout=30).json()["runs"]
        assert [r["id"] for r in runs] == ["live"] and runs[0]["step"] == 10
        assert httpx.get(f"{base}/api/runs", headers={"Host": "evil.example"}, timeout=30).status_code == 403
        with httpx.stream("GET", f"{base}/api/runs/live/stream", timeout=30) as response:
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
        toy = httpx.post(f"{base}/api/toy", json={"mixture": "grid25"}, timeout=180)
        assert toy.status_code == 200, toy.text
        assert httpx.post(f"{base}/api/toy/{toy.json()['id']}/step", json={"steps": 2}, timeout=60).json()["step"] == 2
        workers = children(server.process.pid)
        assert workers  # the toy's worker process
    finally:
        code = server.stop()
    assert code == 130, server.seen
    # multiprocessing's resource tracker (a child too) exits a moment after the server: wait for it
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(gone(pid) for pid in workers):
        time.sleep(0.1)
    assert all(gone(pid) for pid in workers)  # ended with the server


def test_serve_on_another_host_requires_a_token_and_prints_it(tmp_path):
    server = Server("--host", "0.0.0.0", "--runs-dir", str(tmp_path / "runs"), "--studies-dir", str(tmp_path))
    try:
        host, port, token = server.address()
        assert host == "0.0.0.0" and len(token) >= 20
        line = server.line_with("a token is required")
        assert token in line
        base = f"http://127.0.0.1:{port}"
        refused = httpx.get(f"{base}/api/runs", timeout=30)
        assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert httpx.get(f"{base}/api/runs?token={token}", timeout=30).status_code == 200
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
