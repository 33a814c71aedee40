"""Several processes (torchrun, gloo on the CPU) train one GAN: same weights, one writer, exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")
SETTINGS = ["train.log_every=4", "train.sample_steps=[0,4]", "train.checkpoint_every=4", "data.limit=512",
            "train.batch_size=32"]

pytestmark = [pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                 reason="this torch has no gloo backend"), pytest.mark.slow]


def torchrun(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    """Run ``args`` under torchrun on this machine, one thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def weights(out: Path, rank: int) -> dict:
    return torch.load(out / f"rank{rank}.pt", weights_only=True)


def test_two_processes_hold_identical_weights_and_write_one_complete_run(tmp_path):
    torchrun(str(WORKER), str(tmp_path), "new", "8", *SETTINGS)
    rank0, rank1 = weights(tmp_path, 0), weights(tmp_path, 1)
    assert rank0["batch_share"] == rank1["batch_share"] == 16  # each process takes half of every batch
    for net in ("generator", "discriminator"):
        assert rank0[net].keys() == rank1[net].keys()
        for name in rank0[net]:
            assert torch.equal(rank0[net][name], rank1[net][name]), f"{net}.{name} differs between processes"
    untrained = torch.load(tmp_path / "runs" / "ddp" / "checkpoints" / "last.pt", weights_only=True)
    assert untrained["step"] == 8 and len(untrained["rng_by_rank"]) == 2

    run_dir = tmp_path / "runs" / "ddp"
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ddp"]  # one writer: no ddp-2
    files = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert {"config.yaml", "metrics.jsonl", "samples/step_000000.png", "samples/step_000004.png",
            "samples/step_000008.png", "checkpoints/last.pt", "generator.safetensors", "loss_curve.png",
            "loss_table.md"} <= files
    assert len([f for f in files if f.startswith("events.out.tfevents")]) == 1
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 4, 8]  # written once, not once per process
    for record in records:  # the norms of the averaged gradients (tests/engine/test_grad_norms.py)
        assert 0 < record["g_grad_norm"] < float("inf") and 0 < record["d_grad_norm"] < float("inf")


@pytest.mark.soak  # `make soak`
def test_processes_see_different_shares_of_the_data(tmp_path):
    """Two processes are not one process twice: their run differs from a single-process run."""
    torchrun(str(WORKER), str(tmp_path / "two"), "new", "4", *SETTINGS)
    torchrun(str(WORKER), str(tmp_path / "one"), "new", "4", *SETTINGS, processes=1)
    two, one = weights(tmp_path / "two", 0), weights(tmp_path / "one", 0)
    assert one["batch_share"] == 32
    assert any(not torch.equal(two["generator"][k], one["generator"][k]) for k in two["generator"])


def test_resumed_two_process_run_continues_exactly(tmp_path):
    torchrun(str(WORKER), str(tmp_path / "straight"), "new", "8", *SETTINGS)
    torchrun(str(WORKER), str(tmp_path / "resumed"), "new", "4", *SETTINGS)
    torchrun("-m", "gankit", "train", "--resume", str(tmp_path / "resumed" / "runs" / "ddp"), "train.steps=8")
    straight = torch.load(tmp_path / "straight" / "runs" / "ddp" / "checkpoints" / "last.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "runs" / "ddp" / "checkpoints" / "last.pt", weights_only=True)
    assert resumed["step"] == straight["step"] == 8
    for net in ("generator", "discriminator"):
        for name, value in straight[net].items():
            assert torch.equal(resumed[net][name], value), f"{net}.{name}"
    lines = lambda run: (run / "runs" / "ddp" / "metrics.jsonl").read_text().splitlines()  # noqa: E731
    strip = lambda line: {k: v for k, v in json.loads(line).items() if k != "img_per_s"}  # noqa: E731
    assert [strip(x) for x in lines(tmp_path / "resumed")] == [strip(x) for x in lines(tmp_path / "straight")]


@pytest.mark.soak  # `make soak`
def test_resuming_with_another_number_of_processes_is_refused(tmp_path, gankit):
    torchrun(str(WORKER), str(tmp_path), "new", "4", *SETTINGS)
    run_dir = tmp_path / "runs" / "ddp"
    before = (run_dir / "checkpoints" / "last.pt").read_bytes()
    code, _, err = gankit("train", "--resume", str(run_dir), "train.steps=8")
    assert code == 2 and "written by 2 training process(es)" in err
    assert (run_dir / "checkpoints" / "last.pt").read_bytes() == before
