"""Which decay of G's weight average suits a toy preset's run: one training, several averages.

    .venv/bin/python benchmarks/average_decays.py grid25 --seed 4 --decays 0.998,0.9995
        [--every 1000] [--out DIR] [key=value ...]

The average never feeds back into training, so one run can carry several side by side: this
trains ``gankit train PRESET seed=S key=value ...`` (on this process's threads) with extra
averages of the given decays updated beside the run's own (train.ema) after every G step, and
every ``--every`` steps prints and appends to DIR/averages.jsonl the high-quality share and the
modes captured by each average (and by the raw G) on 5,000 samples: two fixed sets of 2,500
latent codes, not the evaluator's, so the figures are comparable across steps and decays but
read beside `gankit eval`'s, not in place of them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from gankit.config import build_config
from gankit.data.toys import MIXTURES
from gankit.engine import WeightAverage, fit, new_run
from gankit.errors import UserError
from gankit.metrics.modes import mode_coverage
from gankit.priors import parse_prior

CODE_SEEDS = (11, 12)  # the two fixed sets of latent codes
CODES_PER_SET = 2500  # as many as the toy protocol's evaluation


@torch.no_grad()
def coverage(module: torch.nn.Module, codes: list[torch.Tensor], mixture) -> list[float]:
    """Mean high-quality share (%) and the fewest modes captured over the code sets."""
    was_training = module.training
    module.eval()
    found = [mode_coverage(module(z, None), mixture.means, mixture.std) for z in codes]
    module.train(was_training)
    return [round(100 * sum(c.high_quality for c in found) / len(found), 2), min(c.modes_captured for c in found)]


def main() -> None:
    """Parse the arguments, train once with the extra averages, print their trajectory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", help="a toy preset with train.ema set (ring8, grid25)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decays", required=True, help="comma-separated decays of the extra averages")
    parser.add_argument("--every", type=int, default=1000, help="measure every N steps")
    parser.add_argument("--out", type=Path, default=Path("runs/average-decays"))
    parser.add_argument("overrides", nargs="*", help="key=value settings, as for gankit train")
    args = parser.parse_intermixed_args()
    extra = [float(d) for d in args.decays.split(",")]

    try:
        cfg = build_config(args.preset, [f"seed={args.seed}", *args.overrides])
    except UserError as err:
        parser.exit(2, f"average_decays.py: {err}\n")
    if not cfg.train.ema or cfg.data.source not in MIXTURES:
        parser.exit(2, f"average_decays.py: {args.preset} needs a toy data source ({', '.join(MIXTURES)}) "
                       "and train.ema\n")
    mixture = MIXTURES[cfg.data.source]()
    latent = parse_prior(cfg.train.prior)
    codes = [latent.sample(CODES_PER_SET, cfg.model.z_dim, generator=torch.Generator().manual_seed(s))
             for s in CODE_SEEDS]
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "averages.jsonl"
    session = new_run(args.preset, [f"seed={args.seed}", *args.overrides], name=f"{args.preset}-s{args.seed}",
                      runs_root=args.out)
    run_average = session.gan.ema
    # the extra averages start where the run's does, at G's initial weights
    averages = {d: WeightAverage(run_average.module, d) for d in extra}
    run_update = run_average.update

    def update_all(generator: torch.nn.Module, step: int) -> None:
        run_update(generator, step)
        for average in averages.values():
            average.update(generator, step)
        if step % args.every == 0:
            row = {"step": step, "raw": coverage(generator, codes, mixture),
                   str(run_average.decay): coverage(run_average.module, codes, mixture),
                   **{str(d): coverage(a.module, codes, mixture) for d, a in averages.items()}}
            print(json.dumps(row), flush=True)
            with log_path.open("a") as log:
                log.write(json.dumps(row) + "\n")

    run_average.update = update_all  # this run's average only; its own update is unchanged
    fit(session, show_progress=False)


if __name__ == "__main__":
    main()
