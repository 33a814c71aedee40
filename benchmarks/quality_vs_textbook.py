"""A shipped preset against the classic loop on the classic networks, same data, same steps,
measured by the same evaluator (quality, not speed).

    .venv/bin/python benchmarks/quality_vs_textbook.py dcgan-mnist [--steps 4690] [--seed 0] [key=value ...]
    .venv/bin/python benchmarks/quality_vs_textbook.py cgan-mnist --steps 10000

The classic side is the PyTorch DCGAN example's loop (benchmarks/speed.py's ``textbook_iteration``:
a shuffling DataLoader, eager fp32, Adam 2e-4 with beta1 0.5, one G forward serving both steps,
D's loss (BCE(real, 1) + BCE(fake, 0)) / 2, G's -log D(G(z))) on the networks and settings the
preset had before it was tuned (``CLASSIC`` below, frozen here so the comparison stays the same
when the preset changes). The gankit side is ``gankit train PRESET`` as shipped (with any
key=value overrides given, to try a change before it goes into the preset). Both train on
full MNIST (../shared/data, or --data), and both generators are measured by gankit's evaluator
(the cached MNIST classifier: domain Fréchet distance to the test split over 10,000 samples,
class KL, and for conditional runs the class accuracy). Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import SHARED_DATA, textbook_iteration  # noqa: E402

from gankit.config import apply_overrides, validate  # noqa: E402
from gankit.data import load_samples  # noqa: E402
from gankit.metrics.evaluate import Evaluator  # noqa: E402

# The settings each preset shipped with before its tuning (its YAML as it was): the classic
# networks and optimizer, held here so the comparison stays the same when the preset changes.
CLASSIC = {
    "dcgan-mnist": {
        "name": "dcgan-mnist", "data": {"source": "mnist", "image_size": 28, "channels": 1},
        "model": {"arch": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        "train": {"batch_size": 64, "loss": "bce"},
        "optim": {"g": {"name": "adam", "lr": 2.0e-4, "betas": [0.5, 0.999]},
                  "d": {"name": "adam", "lr": 2.0e-4, "betas": [0.5, 0.999]}},
    },
    "cgan-mnist": {
        "name": "cgan-mnist", "data": {"source": "mnist", "image_size": 28, "channels": 1},
        "model": {"arch": "cgan-lab", "conditional": "kplus1", "z_dim": 100, "g_width": 64, "d_width": 32},
        "train": {"batch_size": 64, "loss": "bce", "sample_count": 100},
        "optim": {"g": {"name": "adam", "lr": 2.0e-4, "betas": [0.5, 0.999]},
                  "d": {"name": "adam", "lr": 2.0e-4, "betas": [0.5, 0.999]}},
    },
}


def textbook(preset: str, steps: int, seed: int, data_root: Path) -> tuple[torch.nn.Module, object, float]:
    """Train the classic loop on the classic settings; returns G, its config and the seconds."""
    cfg = validate(apply_overrides(CLASSIC[preset], [f"data.root={data_root}", f"seed={seed}", "train.device=cpu",
                                                     "train.g_noise=reuse", "speed.precision=fp32"]))
    torch.manual_seed(seed)
    step, gan = textbook_iteration(cfg, load_samples(cfg.data), torch.device("cpu"))
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return gan.generator.eval(), cfg, time.perf_counter() - start


def shipped(preset: str, steps: int, seed: int, data_root: Path, runs: Path,
            overrides: list[str]) -> tuple[dict, float]:
    """Train and evaluate the shipped preset (with ``overrides``) with the gankit command;
    returns its values and seconds."""
    name = f"{preset}-s{seed}"
    start = time.perf_counter()
    trained = subprocess.run([sys.executable, "-m", "gankit", "train", preset, f"data.root={data_root}",
                              f"seed={seed}", f"train.steps={steps}", *overrides, "--name", name, "--runs-dir", str(runs),
                              "--no-progress"], capture_output=True, text=True)
    if trained.returncode:
        raise SystemExit(trained.stderr[-2000:])
    seconds = time.perf_counter() - start
    evaluated = subprocess.run([sys.executable, "-m", "gankit", "eval", str(runs / name)], capture_output=True,
                               text=True)
    if evaluated.returncode:
        raise SystemExit(evaluated.stderr[-2000:])
    report = json.loads(max((runs / name / "eval").glob("step_*.json")).read_text())
    return {m["name"]: m["value"] for m in report["measurements"]}, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=sorted(CLASSIC))
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the gankit side")
    parser.add_argument("--steps", type=int, default=4690)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--keep", type=Path, help="keep gankit's run directory here")
    args = parser.parse_intermixed_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.keep or Path(tmp)
        ours, our_seconds = shipped(args.preset, args.steps, args.seed, args.data, runs, args.overrides)
    generator, cfg, classic_seconds = textbook(args.preset, args.steps, args.seed, args.data)
    classic = {m.name: m.value for m in Evaluator(cfg)(generator)}
    print(f"{args.preset}, {args.steps} iterations, seed {args.seed} (threads: {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}):")
    print(f"  classic loop, classic networks: {classic_seconds:.0f} s training")
    changes = " ".join(args.overrides) or "as shipped"
    print(f"  gankit train {args.preset} ({changes}): {our_seconds:.0f} s training and start-up")
    for name in ("domain_fd", "class_kl", "class_accuracy", "diversity"):
        if name in classic and name in ours:
            ratio = ours[name] / classic[name] if classic[name] else float("nan")
            print(f"  {name}: classic {classic[name]:.4g}, gankit {ours[name]:.4g} (gankit / classic = {ratio:.3f})")


if __name__ == "__main__":
    main()
