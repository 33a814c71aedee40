"""Training processes started from the page: ordinary ``gankit train`` commands, each in
Python's isolated mode (:mod:`gankit.web.isolated`: nothing from the server's working folder is
importable) and in a session of its own (so the server's Ctrl-C never reaches them), their output
in a log file of the server's own folder ``RUNS/.gankit-serve/`` (:mod:`gankit.web.private`).
Stop is SIGINT, gankit's clean stop.

A training gets the config the server validated, not a path to read it from: the exact data,
written to a new 0600 file in that private folder and handed over as an inherited descriptor
(``gankit train --config-fd N``). A run's config.yaml that another account swaps after the
server's check is never what trains."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from gankit.config import RunConfig
from gankit.errors import EXIT_INTERRUPTED, UserError
from gankit.rundir import RunDir
from gankit.web.isolated import Isolation
from gankit.web.limits import default_max_trainings
from gankit.web.private import PrivateFolder
from gankit.web.runs import valid_name

HOME = ".gankit-serve"  # the server's folder inside the runs folder; in it:
HOME_LOGS = "logs"  # each started training's output
HOME_CONFIGS = "configs"  # the validated config each training was started with
HOME_LAUNCHED = "launched"  # the preset and overrides of each run started here
FAILED_SHOWN_S = 600.0  # a launch that failed before its run existed is listed this long
LOG_TAIL = 64 << 10  # bytes of a log read for its last error line


class Conflict(UserError):
    """The request is valid but the run's state refuses it (HTTP 409)."""


class TooManyTrainings(UserError):
    """The server already runs as many trainings as it may (HTTP 429)."""


@dataclass
class Launch:
    """One process the server started: a new run or a resumed one."""

    id: str
    name: str
    study: Optional[str]
    run_dir: Path
    preset: Optional[str]
    config: RunConfig  # what was validated before the start, and handed to the process
    process: subprocess.Popen
    log: Path
    command: list[str]  # the gankit command it is equivalent to (after "gankit")
    resumed: bool
    home: Optional[PrivateFolder] = None  # where its log lies
    started: float = field(default_factory=time.time)
    ended: Optional[float] = None
    seen_running: bool = False  # seen holding the run's lock: once it lets go, it is ending

    def alive(self) -> bool:
        """Whether the process still runs (reaps it when it has ended)."""
        code = self.process.poll()
        if code is not None and self.ended is None:
            self.ended = time.time()
        return code is None

    @property
    def exit_code(self) -> Optional[int]:
        """The exit code once it has ended."""
        self.alive()
        return self.process.returncode

    def error(self) -> Optional[str]:
        """For a process that ended with an error: the one line gankit wrote about it."""
        code = self.exit_code
        if code is None or code in (0, EXIT_INTERRUPTED):
            return None
        try:
            text = self.home.read(HOME_LOGS, self.log.name, LOG_TAIL, tail=True) if self.home else b""
            lines = [line.strip() for line in text.decode("utf-8", errors="replace").splitlines()]
        except OSError:
            lines = []
        errors = [line for line in lines if line.startswith("gankit: error:")]
        if errors:
            return errors[-1].removeprefix("gankit: error:").strip()
        shown = [line for line in lines if line and not line.startswith("#")]
        return (shown[-1] if shown else f"the training process ended with exit code {code}")[:500]


class Launcher:
    """Starts, stops and remembers the training processes of this server (at most
    ``max_trainings`` at once; default: the cores)."""

    def __init__(self, runs_dir: Path, isolation: Isolation, max_trainings: Optional[int] = None):
        self.runs_dir = Path(runs_dir)
        self.isolation = isolation
        self.max_trainings = max_trainings or default_max_trainings()
        self.home = PrivateFolder(self.runs_dir / HOME)  # refused now, at the start, if not ours
        self._launches: dict[str, Launch] = {}
        self._lock = threading.RLock()

    # ---- what was started ----
    def get(self, run_id: str) -> Optional[Launch]:
        """The latest process started for ``run_id`` in this server session."""
        with self._lock:
            return self._launches.get(run_id)

    def all(self) -> list[Launch]:
        """Every launch of this session (reaping the processes that ended)."""
        with self._lock:
            launches = list(self._launches.values())
        for launch in launches:
            launch.alive()
        return launches

    def pending(self) -> list[Launch]:
        """New runs whose folder holds no config.yaml yet: starting, or failed lately."""
        now = time.time()
        return [launch for launch in self.all() if not launch.resumed
                and not RunDir(launch.run_dir, self.runs_dir).exists()
                and (launch.alive() or (launch.ended is not None and now - launch.ended < FAILED_SHOWN_S))]

    def recorded_preset(self, name: str) -> Optional[str]:
        """The preset a run of runs_dir was started from by a gankit serve (this one or earlier)."""
        if not valid_name(name):
            return None
        try:
            return json.loads(self.home.read(HOME_LAUNCHED, f"{name}.json")).get("preset")
        except (OSError, ValueError, AttributeError, RecursionError):
            return None

    def running(self, run_id: str) -> bool:
        """Whether a process started here for ``run_id`` still runs."""
        launch = self.get(run_id)
        return launch is not None and launch.alive()

    def training(self) -> int:
        """How many processes started here still run."""
        return sum(launch.alive() for launch in self.all())

    # ---- starting ----
    def _free_name(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``, ... : the first name no folder in the runs folder
        and no launch of this server has (gankit's own rule for run names)."""
        taken = set(self._launches)
        try:
            taken |= set(os.listdir(self.runs_dir))
        except OSError:
            pass
        for n in range(1, 10_000):
            candidate = base if n == 1 else f"{base}-{n}"
            if candidate not in taken:
                return candidate
        raise UserError(f"too many runs named '{base}' in the runs folder")

    def start_new(self, preset: str, overrides: list[str], base_name: str, config: RunConfig) -> Launch:
        """Start ``gankit train PRESET OVERRIDES --name NAME`` (all validated by the caller), NAME
        being ``base_name`` made unique here, so that the run's id is known at once."""
        with self._lock:
            name = self._free_name(base_name)
            where = ["--name", name, "--runs-dir", str(self.runs_dir), "--no-progress"]
            launch = self._start(name, name, None, self.runs_dir / name, preset, config,
                                 ["train", preset, *overrides, *where], where, resumed=False)
        self._record(name, {"preset": preset, "overrides": overrides, "started": launch.started,
                            "command": shlex.join(["gankit", *launch.command])})
        return launch

    def start_resume(self, run_id: str, name: str, study: Optional[str], run_dir: Path, overrides: list[str],
                     config: RunConfig, preset: Optional[str]) -> Launch:
        """Start ``gankit train --resume RUN`` with ``config`` (the run's, with ``overrides``)."""
        where = ["--resume", str(run_dir), "--no-progress"]
        return self._start(run_id, name, study, run_dir, preset, config,
                           ["train", "--resume", str(run_dir), *overrides, "--no-progress"], where, resumed=True)

    def _start(self, run_id: str, name: str, study: Optional[str], run_dir: Path, preset: Optional[str],
               config: RunConfig, command: list[str], where: list[str], resumed: bool) -> Launch:
        """Start the training ``command`` stands for: ``gankit train --config-fd N`` + ``where``,
        N a descriptor of the validated ``config``, written to a new file of the private folder."""
        with self._lock:
            previous = self._launches.get(run_id)
            if previous is not None and previous.alive():
                raise Conflict(f"run {run_id} is already running")
            running = self.training()
            if running >= self.max_trainings:
                raise TooManyTrainings(f"{running} trainings started here are running, the most this server runs at "
                                       f"once (gankit serve --max-trainings {self.max_trainings}); stop one, or wait "
                                       "for one to end")
            stem = run_id.replace(":", "+")
            _, config_fd = self.home.create(HOME_CONFIGS, stem, ".json", readable=True)
            log, log_fd = self.home.create(HOME_LOGS, stem, ".log")
            try:
                os.write(config_fd, json.dumps(config.to_dict()).encode())
                os.lseek(config_fd, 0, os.SEEK_SET)
                os.write(log_fd, f"# gankit serve, {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                                 f"{shlex.join(['gankit', *command])}\n".encode())
                argv, env = self.isolation.command("gankit.cli:main",
                                                   ["train", "--config-fd", str(config_fd), *where])
                process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT,
                                           start_new_session=True, env=env, close_fds=True, pass_fds=(config_fd,))
            finally:
                os.close(config_fd)
                os.close(log_fd)
            launch = Launch(run_id, name, study, run_dir, preset, config, process, log, command, resumed,
                            home=self.home)
            self._launches[run_id] = launch
        return launch

    def _record(self, name: str, info: dict) -> None:
        try:
            self.home.replace(HOME_LAUNCHED, f"{name}.json", (json.dumps(info) + "\n").encode())
        except UserError:
            pass  # the record only names the preset in the list; the run itself is unaffected

    # ---- stopping ----
    def stop(self, run_id: str, running_elsewhere: bool) -> Launch:
        """SIGINT to the process started here for ``run_id``: it ends the current iteration,
        writes a checkpoint and exits 130."""
        launch = self.get(run_id)
        if launch is None or not launch.alive():
            if running_elsewhere:
                raise Conflict(f"run {run_id} was not started from this page: stop it where it was "
                               "started (Ctrl-C there)")
            raise Conflict(f"run {run_id} is not running")
        try:
            os.kill(launch.process.pid, signal.SIGINT)
        except ProcessLookupError:
            raise Conflict(f"run {run_id} is not running") from None
        return launch

    def kill_all(self) -> None:
        """SIGKILL to every process still running (used by tests, never on a normal shutdown:
        a training outlives the server)."""
        for launch in self.all():
            if launch.alive():
                try:
                    os.kill(launch.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                launch.process.wait()
