"""How far two runs drift apart when only their rounding differs.

    python benchmarks/rounding_drift.py [key=value ...]

Trains the embedded default for 50 steps four times from the same seed: plain eager fp32
twice (a repeat must be identical), then with channels_last alone and with the fused optimizer
alone. Prints the largest difference of the logged losses (D real, D fake, D, G) from the plain
run at a few steps.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

from gankit.engine import fit, new_run
from gankit.rundir import RunDir

STEPS = 50
SHOWN = [1, 2, 3, 5, 10, 20, 30, 50]


def losses(runs_root: Path, name: str, overrides: list[str]) -> torch.Tensor:
    """The logged losses of every step of a 50-step run."""
    session = new_run(None, [f"train.steps={STEPS}", "train.log_every=1", "train.sample_steps=[]", *overrides],
                      name=name, runs_root=runs_root)
    run_dir = fit(session, show_progress=False)
    records = RunDir(run_dir).records()[1:]
    return torch.tensor([[r[k] for k in ("d_real", "d_fake", "d_loss", "g_loss")] for r in records],
                        dtype=torch.float64)


def main(overrides: list[str]) -> None:
    """Run the four variants and print their drift from the plain run."""
    base = ["speed.precision=fp32", "speed.graph=false", *overrides]
    variants = {
        "repeat": ["speed.channels_last=false", "speed.fused_optimizer=false"],
        "channels_last": ["speed.channels_last=true", "speed.fused_optimizer=false"],
        "fused optimizer": ["speed.channels_last=false", "speed.fused_optimizer=true"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        plain = losses(Path(tmp), "plain", [*base, *variants["repeat"]])
        print(f"command: python benchmarks/rounding_drift.py {' '.join(overrides)}")
        print("| variant | " + " | ".join(f"step {s}" for s in SHOWN) + " |")
        print("|---|" + "---|" * len(SHOWN))
        for name, switches in variants.items():
            drift = (losses(Path(tmp), name.replace(" ", "-"), [*base, *switches]) - plain).abs().max(1).values
            print(f"| {name} | " + " | ".join(f"{drift[s - 1].item():.1e}" for s in SHOWN) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
