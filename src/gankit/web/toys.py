"""The toy lab's sessions: one worker process per toy (an isolated interpreter, see
:mod:`gankit.web.isolated`), commands over a socket pair, killed on DELETE, on the server's
shutdown and after ``idle_s`` without a request."""

from __future__ import annotations

import secrets
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Optional

from gankit.errors import UserError
from gankit.web import toylab
from gankit.web.isolated import Isolation

CREATE_TIMEOUT_S = 180.0  # a fresh worker imports torch and gankit first
COMMAND_TIMEOUT_S = 120.0


class ToyFailed(Exception):
    """The worker failed (it crashed, timed out, or raised something unexpected)."""


class TooManyToys(UserError):
    """Every toy slot is taken (HTTP 429)."""


@dataclass
class Toy:
    """One toy session: its worker, the server's end of the pipe, its settings."""

    id: str
    process: subprocess.Popen
    conn: Connection
    settings: dict
    lock: threading.Lock = field(default_factory=threading.Lock)
    used: float = field(default_factory=time.monotonic)

    def ask(self, command: str, argument: Any = None, timeout: float = COMMAND_TIMEOUT_S) -> dict:
        """Send one command and wait for the answer (a state); UserError for a refusal."""
        with self.lock:
            self.used = time.monotonic()
            try:
                self.conn.send((command, argument))
                if not self.conn.poll(timeout):
                    raise ToyFailed("TimeoutError")
                kind, value = self.conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                raise ToyFailed("the toy's worker process ended") from None
            finally:
                self.used = time.monotonic()
        if kind == "user":
            raise UserError(value)
        if kind != "ok":
            raise ToyFailed(value)
        return value

    def alive(self) -> bool:
        """Whether the worker process still runs (reaping it once it has ended)."""
        return self.process.poll() is None

    def _wait(self, seconds: float) -> None:
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            pass

    def kill(self) -> None:
        """End the worker (asking first, then terminating)."""
        try:
            if self.alive() and self.lock.acquire(timeout=0.5):
                try:
                    self.conn.send(("close", None))
                finally:
                    self.lock.release()
                self._wait(2.0)
        except (OSError, EOFError, BrokenPipeError):
            pass
        if self.alive():
            self.process.terminate()
            self._wait(2.0)
        if self.alive():
            self.process.kill()
            self._wait(2.0)
        try:
            self.conn.close()
        except OSError:
            pass


class ToySessions:
    """Every toy of this server."""

    def __init__(self, isolation: Isolation, idle_s: float = 600.0, limit: int = 4):
        self.isolation = isolation
        self.idle_s = idle_s
        self.limit = limit
        self._toys: dict[str, Toy] = {}
        self._lock = threading.Lock()

    def create(self, request: Any) -> dict:
        """Check the settings, start a worker, build the toy there; its first state, with "id"."""
        settings = toylab.normalize(request)
        self.reap_idle()
        with self._lock:
            if len(self._toys) >= self.limit:
                raise TooManyToys(f"{self.limit} toys are open already: delete one first")
            toy_id = secrets.token_hex(8)
            toy = Toy(toy_id, *self._start_worker(), settings)
            self._toys[toy_id] = toy
        try:
            state = toy.ask("create", settings, timeout=CREATE_TIMEOUT_S)
        except BaseException:
            self.delete(toy_id)
            raise
        return {"id": toy_id, **state}

    def _start_worker(self) -> tuple[subprocess.Popen, Connection]:
        """A worker process and the server's end of its socket pair."""
        ours, theirs = socket.socketpair()
        with ours, theirs:
            argv, env = self.isolation.command("gankit.web.toylab:worker", [str(theirs.fileno())])
            process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),))
            return process, Connection(ours.detach())

    def get(self, toy_id: str) -> Optional[Toy]:
        """The toy with this id, if it is open."""
        with self._lock:
            return self._toys.get(toy_id)

    def state(self, toy: Toy) -> dict:
        """The toy's state now."""
        return {"id": toy.id, **self._ask(toy, "state")}

    def step(self, toy: Toy, steps: Any) -> dict:
        """Train ``steps`` (1..200) iterations; the state after them."""
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= toylab.MAX_STEPS:
            raise UserError(f"steps must be a whole number in 1..{toylab.MAX_STEPS} (got {steps!r})")
        return {"id": toy.id, **self._ask(toy, "step", steps)}

    def change(self, toy: Toy, changes: Any) -> dict:
        """Switch loss, learning rates or regularizer; the state after the switch."""
        settings = toylab.normalize(changes, base=toy.settings)
        state = self._ask(toy, "settings", settings)
        toy.settings = settings
        return {"id": toy.id, **state}

    def _ask(self, toy: Toy, command: str, argument: Any = None) -> dict:
        try:
            return toy.ask(command, argument)
        except ToyFailed:
            if not toy.alive():
                self.delete(toy.id)
            raise

    def delete(self, toy_id: str) -> bool:
        """End a toy's worker; False if there was no such toy."""
        with self._lock:
            toy = self._toys.pop(toy_id, None)
        if toy is None:
            return False
        toy.kill()
        return True

    def reap_idle(self) -> None:
        """End the toys nobody asked anything for ``idle_s`` (and any whose worker died)."""
        now = time.monotonic()
        with self._lock:
            idle = [t.id for t in self._toys.values()
                    if not t.lock.locked() and (now - t.used > self.idle_s or not t.alive())]
        for toy_id in idle:
            self.delete(toy_id)

    def close_all(self) -> None:
        """End every toy (the server's shutdown)."""
        with self._lock:
            ids = list(self._toys)
        for toy_id in ids:
            self.delete(toy_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._toys)
