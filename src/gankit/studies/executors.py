"""Running a study's trainings: several at once on this machine, or as jobs of a cluster.

Each training is the ordinary ``gankit train`` command in a process of its own. ``local`` runs
``--jobs`` of them at once on this machine and divides its cores between them (training
processes that each take every core slow each other down many times over). ``submitit``
hands them to Slurm through submitit (``slurm``), or to submitit's local executor, which runs
the same path on one machine (``submitit-local``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from gankit.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, StudyStopped, UserError

EXECUTORS = ("local", "submitit-local", "slurm")
POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 120  # a stopped training writes its checkpoint first
PR_SET_PDEATHSIG = 1


@dataclass
class Job:
    """One training: the ``gankit`` arguments that run it, and where its console output goes."""

    name: str
    argv: list[str]
    log: Path


@dataclass
class Outcome:
    """How a job ended: its exit code (0 done, 130 stopped) and, if it failed, why."""

    job: Job
    code: int
    seconds: float
    detail: str = ""


Report = Callable[[str], None]


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_job(jobs: int, cores: Optional[int] = None) -> int:
    """Threads for each of ``jobs`` concurrent trainings so that together they use the cores once."""
    return max(1, (cores or available_cores()) // max(1, jobs))


def training_environment(threads: int) -> dict[str, str]:
    """This process's environment with the thread count of a training set (OpenMP and MKL)."""
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def last_line(path: Path) -> str:
    """The last non-empty line of a log (what a failed training said last)."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM (a clean stop) if the study process dies first."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class LocalExecutor:
    """At most ``jobs`` trainings at once, each a ``python -m gankit`` process with
    ``threads`` threads, its output appended to the job's log."""

    jobs: int = 1
    threads: int = 1
    _running: dict = field(default_factory=dict, repr=False)

    def run(self, queue: Sequence[Job], report: Report) -> list[Outcome]:
        """Run every job; returns their outcomes. Ctrl-C / SIGTERM stop every training cleanly
        (each writes a checkpoint) and raise StudyStopped."""
        pending, outcomes = list(queue), []
        previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
        try:
            while pending or self._running:
                while pending and len(self._running) < self.jobs:
                    self._start(pending.pop(0))
                outcomes += self._reap(report)
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            self._stop_all()
            raise StudyStopped() from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return outcomes

    def _start(self, job: Job) -> None:
        env = training_environment(self.threads)
        job.log.parent.mkdir(parents=True, exist_ok=True)
        with open(job.log, "a") as log:
            log.write(f"$ gankit {' '.join(job.argv)}\n")
            log.flush()
            process = subprocess.Popen([sys.executable, "-m", "gankit", *job.argv], stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                       preexec_fn=_die_with_parent)
        self._running[process] = (job, time.monotonic())

    def _reap(self, report: Report) -> list[Outcome]:
        finished = []
        for process, (job, started) in list(self._running.items()):
            code = process.poll()
            if code is None:
                continue
            del self._running[process]
            outcome = Outcome(job, code, time.monotonic() - started, "" if code == 0 else last_line(job.log))
            report(describe(outcome))
            finished.append(outcome)
        return finished

    def _stop_all(self) -> None:
        for process in self._running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self._running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        self._running.clear()


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def describe(outcome: Outcome) -> str:
    """One line on how a job ended."""
    if outcome.code == 0:
        return f"{outcome.job.name}: done in {outcome.seconds:.0f} s"
    if outcome.code == EXIT_INTERRUPTED:
        return f"{outcome.job.name}: stopped"
    if outcome.code == EXIT_DIVERGED:
        return f"{outcome.job.name}: diverged after {outcome.seconds:.0f} s (measured as having no values)"
    return f"{outcome.job.name}: failed (exit {outcome.code}): {outcome.detail}"


def train_job(argv: list[str], threads: int, log: str) -> int:
    """What a cluster job runs: the ``gankit <argv>`` command in a process of its own with
    ``threads`` threads, exactly as the local executor runs it; returns its exit code."""
    with open(log, "a") as handle:
        handle.write(f"$ gankit {' '.join(argv)}\n")
        handle.flush()
        return subprocess.run([sys.executable, "-m", "gankit", *argv], stdout=handle, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=training_environment(threads)).returncode


@dataclass
class SubmititExecutor:
    """At most ``jobs`` trainings at once as submitit jobs: on Slurm (``cluster="slurm"``) or
    as local processes (``cluster="local"``). ``parameters`` go to ``update_parameters``
    (e.g. ``slurm_partition``, ``gpus_per_node``, ``timeout_min``)."""

    folder: Path
    cluster: str = "local"
    jobs: int = 1
    threads: int = 1
    parameters: dict = field(default_factory=dict)

    def _executor(self):
        try:
            import submitit
        except ImportError:
            raise UserError("--executor submitit-local / slurm need submitit: pip install 'gankit[cluster]'") from None
        executor = submitit.AutoExecutor(folder=str(self.folder), cluster=self.cluster)
        options = {"timeout_min": 24 * 60, "cpus_per_task": self.threads, **self.parameters}
        try:
            executor.update_parameters(**options)
        except (TypeError, ValueError) as err:
            raise UserError(f"--slurm: {err}") from None
        return executor

    def run(self, queue: Sequence[Job], report: Report) -> list[Outcome]:
        """Submit the jobs, keeping at most ``jobs`` in flight; returns their outcomes."""
        executor = self._executor()
        pending, running, outcomes = list(queue), {}, []
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    job = pending.pop(0)
                    job.log.parent.mkdir(parents=True, exist_ok=True)
                    handle = executor.submit(train_job, job.argv, self.threads, str(job.log))
                    running[handle] = (job, time.monotonic())
                for handle, (job, started) in list(running.items()):
                    if handle.done():
                        del running[handle]
                        outcome = self._outcome(handle, job, started)
                        report(describe(outcome))
                        outcomes.append(outcome)
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            for handle in running:
                handle.cancel(check=False)
            raise StudyStopped() from None
        return outcomes

    @staticmethod
    def _outcome(handle, job: Job, started: float) -> Outcome:
        seconds = time.monotonic() - started
        try:
            code = int(handle.result())
        except Exception as err:  # the job itself failed: submitit re-raises its error
            return Outcome(job, 1, seconds, " ".join(str(err).split())[-300:])
        return Outcome(job, code, seconds, "" if code == 0 else last_line(job.log))


def make_executor(kind: str, jobs: int, cores: Optional[int], folder: Path, slurm: Optional[dict] = None):
    """The executor ``kind`` (local, submitit-local or slurm) for ``jobs`` trainings at once."""
    if kind not in EXECUTORS:
        raise UserError(f"unknown executor '{kind}'; executors: {', '.join(EXECUTORS)}")
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1 (got {jobs})")
    threads = threads_per_job(jobs, cores)
    if kind == "local":
        if slurm:
            raise UserError("--slurm options need --executor slurm (or submitit-local)")
        return LocalExecutor(jobs, threads)
    if kind == "slurm":  # each job gets the cores Slurm gives it, not a share of this machine's
        threads = int((slurm or {}).get("cpus_per_task", 1))
    cluster = "local" if kind == "submitit-local" else "slurm"
    return SubmititExecutor(folder, cluster, jobs, threads, dict(slurm or {}))
