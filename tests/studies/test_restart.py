"""A study killed with SIGKILL (the study and its trainings at once) and started again with the
same command finishes with exactly the summary of a study that was never killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gankit.studies.plan import State, run_state

STEPS = 200
DEADLINE = 600


def command(out: Path) -> list[str]:
    return [sys.executable, "-m", "gankit", "study", "g-loss", "--out", str(out), "--steps", str(STEPS),
            "--seeds", "2", "--cores", "1", "train.log_every=10", "train.checkpoint_every=20", "eval.samples=200"]


def kill_when(out: Path, ready) -> None:
    """Start the study, SIGKILL its whole process group as soon as ``ready()`` holds."""
    process = subprocess.Popen(command(out), start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    start = time.monotonic()
    while not ready():
        assert process.poll() is None, "the study ended before it could be killed"
        assert time.monotonic() - start < DEADLINE
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_twice_then_continued_gives_the_same_summary(tmp_path):
    out = tmp_path / "killed"
    runs = out / "runs"
    second, third = runs / "minimax-s1", runs / "non-saturating-s0"
    # killed while the second run is between two checkpoints
    kill_when(out, lambda: (second / "checkpoints" / "last.pt").is_file())
    assert run_state(runs / "minimax-s0", STEPS) is State.FINISHED
    assert run_state(second, STEPS) is State.PARTIAL
    # killed again, once the third run has its directory and before its first checkpoint
    kill_when(out, lambda: (third / "metrics.jsonl").is_file())
    assert run_state(third, STEPS) is State.EMPTY
    finished = subprocess.run(command(out), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "2 finished, 2 to train" in finished.stderr
    never_killed = subprocess.run(command(tmp_path / "whole"), capture_output=True, text=True)
    assert never_killed.returncode == 0, never_killed.stderr
    assert (out / "summary.json").read_text() == (tmp_path / "whole" / "summary.json").read_text()
    for run in ("minimax-s1", "non-saturating-s0"):
        rows = [line for line in (runs / run / "metrics.jsonl").read_text().splitlines()]
        whole = (tmp_path / "whole" / "runs" / run / "metrics.jsonl").read_text().splitlines()
        steps = [int(line.split('"step": ')[1].split(",")[0]) for line in rows]
        assert steps == sorted(set(steps))  # no duplicate rows after the kills
        assert len(rows) == len(whole)
