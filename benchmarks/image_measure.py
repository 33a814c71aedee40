"""Does gankit's offline image measure (the random encoder's FD, KID, precision, recall, density,
coverage) order what it must, on real faces, over several seeds?

    .venv/bin/python benchmarks/image_measure.py [--faces ../shared/data/anime_faces] [--seeds 3]
        [--early 200] [--trained 2000] [--samples 1500] [--jobs 2] [--threads N] [--keep DIR] [key=value ...]

The faces are split in two: `dcgan-faces` trains on the first half (data.limit), whose first
5,000 images are also the measure's reference; the second half is never trained on. Conditions,
each measured with the same number of samples (--samples) and one value per seed:

- held-out real faces: disjoint sets of faces of the second half (the measure's floor);
- trained: `dcgan-faces` after --trained steps (seed s; key=value overrides apply to it);
- early: the same run after --early steps;
- untrained: G as built from seed s (with the same overrides);
- a few faces repeated: 15 held-out faces, each sharp and real, repeated to the sample count;
- blank: every image one flat grey (seed 0: black, 1: mid-grey, 2: white, ...);
- saturated: every pixel at -1 or +1 at random.

Prints each metric per condition as mean ± std (min..max) over the seeds, and on how many seeds
each expected ordering holds. The runs stay in --keep (trained again only where missing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
METRICS = ("image_fd", "image_kid", "image_precision", "image_recall", "image_density", "image_coverage", "diversity")
LOWER_IS_BETTER = {"image_fd", "image_kid"}
REPEATED_FACES = 15


class Fixed(torch.nn.Module):
    """A stand-in generator that returns given images, whatever the noise."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images, self.used, self.num_classes = images, 0, 0

    def forward(self, z, labels=None):
        out = self.images[(self.used + torch.arange(len(z))) % len(self.images)]
        self.used += len(z)
        return out


def train(faces: Path, half: int, seed: int, runs: Path, early: int, trained: int, overrides: list[str],
          threads: int) -> tuple[Path, Path]:
    """dcgan-faces on the first half, seed ``seed``: the run after ``early`` steps (a copy) and
    after ``trained`` steps (the same run, resumed)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    name = f"faces-s{seed}"
    run, snapshot = runs / name, runs / f"{name}-early"
    common = ["--no-progress"]
    if not snapshot.is_dir():
        shutil.rmtree(run, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "gankit", "train", "dcgan-faces", f"data.root={faces}",
                        f"data.limit={half}", f"seed={seed}", f"train.steps={early}", "train.sample_steps=[0]",
                        *overrides, "--name", name, "--runs-dir", str(runs), *common], env=env, check=True,
                       capture_output=True)
        shutil.copytree(run, snapshot)
    if _steps(run) < trained:
        subprocess.run([sys.executable, "-m", "gankit", "train", "--resume", str(run), f"train.steps={trained}",
                        *common], env=env, check=True, capture_output=True)
    return snapshot, run


def _steps(run: Path) -> int:
    """The step of the run's exported generator (0: none yet)."""
    from gankit.rundir import RunDir

    return RunDir(run).exported_step() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "data" / "anime_faces")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--early", type=int, default=200)
    parser.add_argument("--trained", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int,
                        help="threads per training, and for measuring (default: the cores over --jobs; all to measure)")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("overrides", nargs="*", help="key=value for the trained runs")
    args = parser.parse_args()

    from gankit.config import build_config
    from gankit.data import load_samples, to_model_units
    from gankit.metrics.evaluate import Evaluator
    from gankit.sampling import load_generator
    from gankit.studies.measures import untrained_generator

    runs = args.keep or Path(tempfile.mkdtemp(prefix="gankit-image-measure-"))
    total = len(os.listdir(args.faces))
    half = total // 2
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    with ThreadPoolExecutor(args.jobs) as pool:
        pairs = list(pool.map(lambda s: train(args.faces, half, s, runs, args.early, args.trained, args.overrides,
                                              threads), range(args.seeds)))
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    cfg = build_config("dcgan-faces", [f"data.root={args.faces}", f"data.limit={half}"])
    evaluator = Evaluator(cfg, samples=args.samples)
    all_faces = load_samples(cfg.data.model_copy(update={"limit": None})).samples
    held_out = all_faces[half:]
    n = args.samples
    shape = held_out.shape[1:]
    conditions: dict[str, list] = {
        "held-out real": [Fixed(to_model_units(held_out[s * n:(s + 1) * n])) for s in range(args.seeds)],
        "trained": [load_generator(run) for _, run in pairs],
        "early": [load_generator(snapshot) for snapshot, _ in pairs],
        "untrained": [untrained_generator(build_config("dcgan-faces", [f"data.root={args.faces}", f"seed={s}",
                                                                        *args.overrides]))
                      for s in range(args.seeds)],
        "a few faces repeated": [Fixed(to_model_units(held_out[torch.randperm(len(held_out),
                                 generator=torch.Generator().manual_seed(s))[:REPEATED_FACES]]))
                                 for s in range(args.seeds)],
        "blank": [Fixed(torch.full((1, *shape), -1.0 + s % 3)) for s in range(args.seeds)],
        "saturated": [Fixed(torch.randint(0, 2, (n, *shape), generator=torch.Generator().manual_seed(s)).float() * 2 - 1)
                      for s in range(args.seeds)],
    }
    if len(held_out) < args.seeds * n:
        raise SystemExit(f"{len(held_out)} held-out faces cannot make {args.seeds} disjoint sets of {n}")
    results = {}
    for condition, generators in conditions.items():
        rows = [{m.name: m.value for m in evaluator(g)} for g in generators]
        results[condition] = {k: [row[k] for row in rows] for k in METRICS}
        print(f"{condition}: " + "; ".join(_shown(k, results[condition][k]) for k in METRICS), flush=True)
    print(f"# protocol: {next(m.protocol for m in evaluator(conditions['trained'][0]) if m.name == 'image_fd')}")
    _orderings(results)
    if args.keep is None:
        shutil.rmtree(runs, ignore_errors=True)


def _shown(key: str, values: list[float]) -> str:
    spread = f" ± {statistics.stdev(values):.4g}" if len(values) > 1 else ""
    return f"{key} {statistics.mean(values):.4g}{spread} ({min(values):.4g}..{max(values):.4g})"


def _orderings(results: dict) -> None:
    """Which of the expected orderings hold, counted over the seeds (seed s of every condition
    against seed s of the others)."""
    seeds = range(len(results["trained"]["image_fd"]))

    def holds(key: str, test) -> str:
        count = sum(bool(test({c: r[key][s] for c, r in results.items()})) for s in seeds)
        return f"{count} of {len(seeds)} seeds"

    chain = ["held-out real", "trained", "early", "untrained"]

    def worst_generated(v: dict) -> float:
        return max(v[c] for c in chain + ["a few faces repeated"])

    for key in ("image_fd", "image_kid"):
        print(f"{key}: {' < '.join(chain)}: "
              + holds(key, lambda v: [v[c] for c in chain] == sorted(v[c] for c in chain)))
        print(f"{key}: blank and saturated worse than all of those: "
              + holds(key, lambda v: min(v["blank"], v["saturated"]) > worst_generated(v)))
        print(f"{key}: saturated worse than all of those: "
              + holds(key, lambda v: v["saturated"] > worst_generated(v)))
    for key in ("image_recall", "image_coverage"):
        print(f"{key}: a few faces repeated below the held-out real faces (sharp and varied): "
              + holds(key, lambda v: v["a few faces repeated"] < v["held-out real"]))
        print(f"{key}: a few faces repeated below the trained generator: "
              + holds(key, lambda v: v["a few faces repeated"] < v["trained"]))
    print("image_precision: a few faces repeated stays near the held-out real faces' (within 0.15): "
          + holds("image_precision", lambda v: v["a few faces repeated"] >= v["held-out real"] - 0.15))
    print("image_precision: a few faces repeated at least the trained generator's: "
          + holds("image_precision", lambda v: v["a few faces repeated"] >= v["trained"]))


if __name__ == "__main__":
    main()
