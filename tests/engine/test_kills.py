"""Any kill, any moment, and the run completes: real training processes are killed with SIGKILL
while they write each kind of file and at random times, resumed until done, and must end bit
for bit as an uninterrupted run. (A longer version: benchmarks/kill_soak.py.)"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kills import assert_same_run, finish, resume_until_done

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

# Each is GANKIT_CRASH: the process kills itself halfway through that write (see gankit.faults).
# 240 steps, checkpoints every 40 (six: the sixth is the final step's), grids at 0, 80, 160, 240.
# One of each kind of write, at the start, in the middle and at the end (the first checkpoint, a
# later grid, the final grid and the final curves write as the ones kept here do: left out for the
# suite's time).
SOAK = pytest.mark.soak  # every kill point: `make soak`; the suite keeps a cut log line and a checkpoint
CRASH_POINTS = [
    pytest.param("config.yaml", marks=SOAK),  # before the run has a config: the same command again takes the folder back
    "metrics.jsonl:3",  # a metrics line cut in two
    pytest.param("step_000000.png", marks=SOAK),  # the first grid, before any checkpoint
    pytest.param("loss_table.csv:2", marks=SOAK),  # the loss table after the second checkpoint
    "last.pt:3",  # a checkpoint over an older one
    pytest.param("last.pt:6", marks=SOAK),  # the final checkpoint
    pytest.param("generator.safetensors", marks=SOAK),  # the final generator, after the final checkpoint
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    runs = tmp_path_factory.mktemp("reference")
    assert finish(runs, "run") == 0
    return runs / "run"


@pytest.mark.parametrize("crash", CRASH_POINTS)
def test_killed_while_writing_then_resumed_is_identical(tmp_path, reference, crash):
    assert finish(tmp_path, "run", crash=crash) == -9, f"the process did not reach the write {crash}"
    assert list(tmp_path.rglob("*.tmp")) or crash.startswith("metrics"), "the kill left no half-written file"
    kills, commands = resume_until_done(tmp_path, "run")
    assert commands == 1
    assert_same_run(tmp_path / "run", reference)


@SOAK
def test_killed_at_random_times_then_resumed_is_identical(tmp_path, reference):
    kills, commands = resume_until_done(tmp_path, "run", rng=random.Random(7), low=0.3, high=7.0, max_kills=5)
    assert kills >= 3, "too few kills landed while the run was training"
    assert_same_run(tmp_path / "run", reference)
