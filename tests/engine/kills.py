"""Killing real training processes and comparing what they leave with an uninterrupted run.

Shared by tests/engine/test_kills.py and benchmarks/kill_soak.py. Every training is a
``python -m gankit train`` process with one thread (the same arithmetic in every process), and
a killed run is continued with the command a user would type: ``gankit train --resume RUN``,
or the first command again when the kill came before the run had a config.yaml.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import torch

# A small digits GAN whose every cadence comes round several times in 240 steps.
SETTINGS = ["train.steps=240", "model.g_width=16", "model.d_width=8", "train.batch_size=32",
            "train.log_every=10", "train.checkpoint_every=40", "train.sample_steps=[0,80,160]",
            "speed.precision=fp32"]
DEADLINE_SECONDS = 300


def environment(crash: Optional[str] = None) -> dict[str, str]:
    """One thread, and ``GANKIT_CRASH`` set to ``crash`` (or removed)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("GANKIT_CRASH", None)
    if crash:
        env["GANKIT_CRASH"] = crash
    return env


def command(runs: Path, name: str) -> list[str]:
    """What continues the run ``runs/name`` from wherever it stands."""
    run = runs / name
    gankit = [sys.executable, "-m", "gankit", "train"]
    if (run / "config.yaml").is_file():
        return gankit + ["--resume", str(run), "--no-progress"]
    return gankit + SETTINGS + ["--name", name, "--runs-dir", str(runs), "--no-progress"]


def start(runs: Path, name: str, crash: Optional[str] = None) -> subprocess.Popen:
    """Start (or continue) the run, optionally set to crash at a write."""
    return subprocess.Popen(command(runs, name), env=environment(crash), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(runs: Path, name: str, crash: Optional[str] = None) -> int:
    """Run the command to its end; returns the exit code (-9 when it was killed)."""
    process = start(runs, name, crash)
    _, err = process.communicate(timeout=DEADLINE_SECONDS)
    if process.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"training failed with exit {process.returncode}: {err.strip()[-500:]}")
    return process.returncode


def kill_after(runs: Path, name: str, seconds: float) -> bool:
    """Run the command, SIGKILL it after ``seconds``; returns whether it was still running."""
    process = start(runs, name)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True
    if process.returncode != 0:
        raise AssertionError(f"training failed with exit {process.returncode}: {process.stderr.read()[-500:]}")
    return False


def resume_until_done(runs: Path, name: str, rng: Optional[random.Random] = None,
                      low: float = 0.5, high: float = 6.0, max_kills: int = 0) -> tuple[int, int]:
    """Continue the run until it completes; with ``rng``, kill the first ``max_kills`` attempts
    after a random time in [low, high) s. Returns (kills that landed, commands run)."""
    kills = commands = 0
    start_time = time.monotonic()
    while True:
        assert time.monotonic() - start_time < DEADLINE_SECONDS * 4, "the run never completed"
        commands += 1
        if rng is not None and kills < max_kills:
            if kill_after(runs, name, rng.uniform(low, high)):
                kills += 1
                if (runs / name / "generator.safetensors").is_file():
                    return kills, commands  # killed after its last write, on its way out
                continue
            return kills, commands
        finish(runs, name)
        return kills, commands


def _tensors_equal(a, b, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _tensors_equal(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _tensors_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _safetensors(path: Path) -> dict:
    """A safetensors file's tensors and metadata (its bytes are not compared: the metadata's
    order in the header varies from one process to the next)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return {"metadata": handle.metadata(), **{key: handle.get_tensor(key) for key in handle.keys()}}


def metrics_rows(run: Path) -> list[dict]:
    """The run's metrics rows without the throughput (the one value that depends on the clock)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    for row in rows:
        row.pop("img_per_s", None)
    return rows


def assert_same_run(run: Path, reference: Path) -> None:
    """``run`` ended exactly as ``reference``: final weights, checkpoint, metrics rows (no
    duplicate, no gap), grids and loss table bit for bit, and no temporary file left."""
    _tensors_equal(_safetensors(run / "generator.safetensors"), _safetensors(reference / "generator.safetensors"),
                   "generator.safetensors")
    _tensors_equal(torch.load(run / "checkpoints" / "last.pt", weights_only=True),
                   torch.load(reference / "checkpoints" / "last.pt", weights_only=True), "last.pt")
    rows, expected = metrics_rows(run), metrics_rows(reference)
    steps = [row["step"] for row in rows]
    assert steps == [row["step"] for row in expected], steps
    assert rows == expected
    grids = sorted(p.name for p in (run / "samples").iterdir())
    assert grids == sorted(p.name for p in (reference / "samples").iterdir())
    for grid in grids:
        assert (run / "samples" / grid).read_bytes() == (reference / "samples" / grid).read_bytes(), grid
    assert (run / "loss_table.csv").read_bytes() == (reference / "loss_table.csv").read_bytes()
    assert (run / "loss_curve.png").is_file()
    assert not [p for p in run.rglob("*.tmp")], "temporary files were left behind"
