"""Started by torchrun from test_distributed.py: trains (or resumes) a run, then every process
saves the weights it holds, so the test can compare the processes.

    python ddp_worker.py OUT new|resume STEPS [key=value ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from gankit.engine import distributed
from gankit.engine import fit, new_run, resume_run


def main() -> None:
    out, mode, steps, *overrides = sys.argv[1:]
    overrides = [f"train.steps={steps}", *overrides]
    if mode == "new":
        session = new_run(None, overrides, name="ddp", runs_root=Path(out) / "runs")
    else:
        session = resume_run(Path(out) / "runs" / "ddp", overrides)
    fit(session, show_progress=False)
    rank = session.processes.rank
    torch.save({"generator": session.gan.generator.state_dict(),
                "discriminator": session.gan.discriminator.state_dict(),
                "batch_share": session.batches.share},
               Path(out) / f"rank{rank}.pt")
    distributed.stop(session.processes)


if __name__ == "__main__":
    main()
