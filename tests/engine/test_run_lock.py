"""One writer per run directory; leftovers of killed processes are cleaned; every file of a
run gets the permissions the user's umask gives; empty presets and names are refused."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from gankit.rundir.lock import DirectoryLock, LockHeld, is_locked

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["model.g_width=16", "model.d_width=8", "train.batch_size=32", "train.sample_steps=[0]",
        "speed.precision=fp32", "train.log_every=10"]


def background(*argv: str, umask: int | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gankit", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            start_new_session=True, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_directory_lock_is_exclusive_and_says_who_holds_it(tmp_path):
    first = DirectoryLock(tmp_path).acquire()
    with pytest.raises(LockHeld, match=rf"process {os.getpid()} \(gankit"):
        DirectoryLock(tmp_path).acquire()
    assert is_locked(tmp_path) is not None
    first.release()
    assert is_locked(tmp_path) is None
    with DirectoryLock(tmp_path) as again:
        assert again.held


def test_a_second_writer_is_refused_and_a_killed_ones_lock_does_not_block(gankit, tmp_path):
    code, _, err = gankit("train", *TINY, "train.steps=10", "--runs-dir", str(tmp_path), "--name", "run",
                          "--no-progress")
    assert code == 0, err
    run = tmp_path / "run"
    first = background("train", "--resume", str(run), "train.steps=100000", "--no-progress")
    try:
        wait_for(lambda: is_locked(run) is not None and (run / "metrics.jsonl").stat().st_size > 0)
        code, _, err = gankit("train", "--resume", str(run), "train.steps=100000", "--no-progress")
        line = err.strip().splitlines()[-1]
        assert code == 2 and f"is in use: process {first.pid}" in line and "gankit train --resume" in line
        wait_for(lambda: (run / "checkpoints" / "last.pt").stat().st_mtime > 0)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert is_locked(run) is None  # the kernel let go of the killed process's lock
    code, _, err = gankit("train", "--resume", str(run), "train.steps=20", "--no-progress")
    assert code == 0, err


def test_a_study_in_use_is_refused(gankit, tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text("base: ring8\nsteps: 100000\nseeds: 1\narms:\n  - {name: a}\nmeasure: [outputs]\n")
    out = tmp_path / "out"
    first = background("study", str(study), "--out", str(out), "--cores", "1")
    try:
        wait_for(lambda: is_locked(out) is not None and is_locked(out / "runs" / "a-s0") is not None)
        code, _, err = gankit("study", str(study), "--out", str(out))
        assert code == 2 and "is in use" in err and "study" in err
        code, _, err = gankit("train", "--resume", str(out / "runs" / "a-s0"), "--no-progress")
        assert code == 2 and "is in use" in err
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


def test_the_next_command_removes_a_killed_processs_temporary_files(gankit, tmp_path):
    code, _, err = gankit("train", *TINY, "train.steps=10", "--runs-dir", str(tmp_path), "--name", "run",
                          "--no-progress")
    assert code == 0, err
    run = tmp_path / "run"
    litter = [run / "checkpoints" / ".last.pt.x1y2.tmp", run / "samples" / ".step_000010.png.abc.tmp",
              run / ".config.yaml.q.tmp"]
    for path in litter:
        path.write_bytes(b"half")
    code, _, err = gankit("train", "--resume", str(run), "train.steps=20", "--no-progress")
    assert code == 0, err
    assert not any(path.exists() for path in litter)


@pytest.mark.parametrize("umask, file_mode, folder_mode", [
    pytest.param(0o022, 0o644, 0o755, marks=pytest.mark.soak), pytest.param(0o002, 0o664, 0o775, marks=pytest.mark.soak),
    (0o077, 0o600, 0o700)])
def test_every_file_of_a_run_follows_the_umask(tmp_path, umask, file_mode, folder_mode):
    process = background("train", *TINY, "train.steps=10", "--runs-dir", str(tmp_path), "--name", "run",
                         "--no-progress", umask=umask)
    assert process.wait(timeout=300) == 0
    run = tmp_path / "run"
    entries = [run, *run.rglob("*")]
    assert {p.name for p in entries} >= {"last.pt", "generator.safetensors", "config.yaml", "metrics.jsonl",
                                          "step_000000.png", "loss_curve.png", "loss_table.csv"}
    for path in entries:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (folder_mode if path.is_dir() else file_mode), (path, oct(mode))


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_an_empty_preset_file_is_refused(gankit, tmp_path, text):
    preset = tmp_path / "empty.yaml"
    preset.write_text(text)
    code, _, err = gankit("train", str(preset), "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and err.strip() == f"gankit: error: preset file {preset} is empty: it holds no settings"
    assert not (tmp_path / "runs").exists()
