"""A real `gankit serve` process for the tests: its printed address, its children, its stop."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional


class Server:
    """A `gankit serve` process and the lines it prints."""

    def __init__(self, *args: str, cwd: Optional[Path] = None, env: Optional[dict] = None):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
        # `python -m` puts the working folder first on the server's sys.path: the harder case
        self.process = subprocess.Popen([sys.executable, "-m", "gankit", "serve", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                        start_new_session=True, cwd=cwd)
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
        """(host, port, token) of the address it printed."""
        line = self.line_with("listening on")
        match = re.search(r"http://([^/:]+|\[[^]]+\]):(\d+)/(#token=(\S+))?", line)
        assert match, line
        self.url = match.group(0)
        return match.group(1), int(match.group(2)), match.group(4) or ""

    def kill_trainings(self) -> None:
        """SIGKILL to the processes it started (trainings outlive a server by design)."""
        for pid in children(self.process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

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
    """Whether process ``pid`` has ended."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True
