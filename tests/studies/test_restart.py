"""A study killed with SIGKILL (the study and its trainings at once) and started again with the
same command finishes with exactly the summary of a study that was never killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gankit.studies.plan import State, run_state

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

STEPS = 100
DEADLINE = 600
STUDY = ("base: ring8\nsteps: 100\nseeds: 1\n"
         "set: {train.log_every: 10, train.checkpoint_every: 50, train.sample_steps: [0],\n"
         "      model.g_width: 32, model.d_width: 32, train.batch_size: 64}\n"
         "arms:\n  - {name: k1}\n  - {name: k2, set: {train.d_steps: 2}}\n  - {name: k3, set: {train.d_steps: 3}}\n"
         "measure: [quality, convergence, outputs]\n"
         "claims:\n  - {claim: two D steps cover more modes, kind: better, metric: modes, arm: k2, other: k1}\n")


def command(study: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "gankit", "study", str(study), "--out", str(out), "--cores", "1"]


def kill_when(study: Path, out: Path, ready) -> None:
    """Start the study, SIGKILL its whole process group as soon as ``ready()`` holds."""
    process = subprocess.Popen(command(study, out), start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    start = time.monotonic()
    while not ready():
        assert process.poll() is None, "the study ended before it could be killed"
        assert time.monotonic() - start < DEADLINE
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.soak  # `make soak`: the suite keeps a study started again (test_study_cli) and runs killed and resumed (test_kills)
def test_killed_twice_then_continued_gives_the_same_summary(tmp_path):
    study = tmp_path / "k.yaml"
    study.write_text(STUDY)
    out = tmp_path / "killed"
    runs = out / "runs"
    second, third = runs / "k2-s0", runs / "k3-s0"
    # killed while the second run is between two checkpoints
    kill_when(study, out, lambda: (second / "checkpoints" / "last.pt").is_file())
    assert run_state(runs / "k1-s0", STEPS) is State.FINISHED
    assert run_state(second, STEPS) is State.PARTIAL
    # killed again, once the third run has its directory and before its first checkpoint
    kill_when(study, out, lambda: (third / "metrics.jsonl").is_file())
    assert run_state(third, STEPS) is State.EMPTY
    finished = subprocess.run(command(study, out), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "2 finished, 1 to train" in finished.stderr
    never_killed = subprocess.run(command(study, tmp_path / "whole"), capture_output=True, text=True)
    assert never_killed.returncode == 0, never_killed.stderr
    assert (out / "summary.json").read_text() == (tmp_path / "whole" / "summary.json").read_text()
    for run in ("k2-s0", "k3-s0"):
        rows = (runs / run / "metrics.jsonl").read_text().splitlines()
        whole = (tmp_path / "whole" / "runs" / run / "metrics.jsonl").read_text().splitlines()
        steps = [int(line.split('"step": ')[1].split(",")[0]) for line in rows]
        assert steps == sorted(set(steps)) and len(rows) == len(whole)  # no duplicate rows after the kills
