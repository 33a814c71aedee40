"""A shipped preset against the classic loop on the classic networks, same data, same steps,
measured by the same evaluator (quality, not speed).

    .venv/bin/python benchmarks/quality_vs_textbook.py dcgan-mnist [--steps 4690] [--seed 0] [key=value ...]
    .venv/bin/python benchmarks/quality_vs_textbook.py cgan-mnist --steps 10000
    .venv/bin/python benchmarks/quality_vs_textbook.py dcgan-faces --steps 600 \
        --both model.g_width=16 model.d_width=16 data.limit=5000

The classic side is the PyTorch DCGAN example's loop (benchmarks/speed.py's ``textbook_iteration``:
a shuffling DataLoader, eager fp32, Adam 2e-4 with beta1 0.5, one G forward serving both steps,
D's loss (BCE(real, 1) + BCE(fake, 0)) / 2, G's -log D(G(z))) on the networks and settings the
preset had before it was tuned (``CLASSIC`` below, frozen here so the comparison stays the same
when the preset changes). The gankit side is ``gankit train PRESET`` as shipped (with any
key=value overrides given, to try a change before it goes into the preset). ``--both key=value``
changes both sides alike (the scale a CPU can afford: narrower networks, fewer images). The MNIST
presets train on full MNIST (../shared/data, or --data) and are measured by gankit's evaluator
with the cached MNIST classifier (domain Fréchet distance to the test split over 10,000 samples,
class KL, and for conditional runs the class accuracy); dcgan-faces trains on the shared anime
faces (../shared/data/anime_faces, or --data) and is measured with the image measure that needs
no download (image FD, KID, precision, recall, density, coverage against the first 5,000 faces).
Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from preset_seeds import one_seed  # noqa: E402
from speed import SHARED_DATA, textbook_iteration  # noqa: E402

from gankit.config import apply_overrides, validate  # noqa: E402
from gankit.data import load_samples  # noqa: E402
from gankit.metrics.evaluate import Evaluator  # noqa: E402

def adam_for_both(lr: float) -> dict:
    """The classic optimizer section: Adam with beta1 0.5 at ``lr`` for G and D."""
    return {player: {"name": "adam", "lr": lr, "betas": [0.5, 0.999]} for player in ("g", "d")}


# The settings each preset shipped with before its tuning (its YAML as it was): the classic
# networks and optimizer, held here so the comparison stays the same when the preset changes.
CLASSIC = {
    "dcgan-mnist": {
        "name": "dcgan-mnist", "data": {"source": "mnist", "image_size": 28, "channels": 1},
        "model": {"arch": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        "train": {"batch_size": 64, "loss": "bce"},
        "optim": adam_for_both(2.0e-4),
    },
    "cgan-mnist": {
        "name": "cgan-mnist", "data": {"source": "mnist", "image_size": 28, "channels": 1},
        "model": {"arch": "cgan-lab", "conditional": "kplus1", "z_dim": 100, "g_width": 64, "d_width": 32},
        "train": {"batch_size": 64, "loss": "bce", "sample_count": 100},
        "optim": adam_for_both(2.0e-4),
    },
    "dcgan-faces": {
        "name": "dcgan-faces", "data": {"source": "folder", "image_size": 64, "channels": 3},
        "model": {"arch": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        "train": {"batch_size": 64, "loss": "bce"},
        "optim": adam_for_both(1.0e-4),
    },
}
# Where each preset's data lies under ../shared/data.
DATA_FOLDER = {"dcgan-mnist": ".", "cgan-mnist": ".", "dcgan-faces": "anime_faces"}
# What the comparison prints, where a side measured it.
COMPARED = ("domain_fd", "class_kl", "class_accuracy", "image_fd", "image_kid", "image_precision", "image_recall",
            "image_coverage", "diversity")


def textbook(preset: str, steps: int, seed: int, data_root: Path,
             both: list[str] = ()) -> tuple[torch.nn.Module, object, float]:
    """Train the classic loop on the classic settings (with the ``both`` overrides); returns G,
    its config and the seconds."""
    cfg = validate(apply_overrides(CLASSIC[preset], [f"data.root={data_root}", f"seed={seed}", "train.device=cpu",
                                                     "train.g_noise=reuse", "speed.precision=fp32", *both]))
    torch.manual_seed(seed)
    step, gan = textbook_iteration(cfg, load_samples(cfg.data), torch.device("cpu"))
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    return gan.generator.eval(), cfg, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=sorted(CLASSIC))
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the gankit side")
    parser.add_argument("--steps", type=int, default=4690)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the data's root (default: its folder under ../shared/data)")
    parser.add_argument("--both", nargs="*", default=[], help="key=value overrides of both sides")
    parser.add_argument("--keep", type=Path, help="keep gankit's run directory here")
    parser.add_argument("--json", type=Path, help="also write both sides' measurements here")
    args = parser.parse_intermixed_args()
    data = args.data or SHARED_DATA / DATA_FOLDER[args.preset]
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.keep or Path(tmp)
        shipped = one_seed(args.preset, args.seed, runs, [f"data.root={data}", f"train.steps={args.steps}", *args.both,
                                                          *args.overrides], torch.get_num_threads(), None)
    ours, our_seconds = shipped["values"], shipped["seconds"]
    generator, cfg, classic_seconds = textbook(args.preset, args.steps, args.seed, data, args.both)
    classic = {m.name: m.value for m in Evaluator(cfg)(generator)}
    print(f"{args.preset}, {args.steps} iterations, seed {args.seed} (threads: {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}):")
    print(f"  classic loop, classic networks: {classic_seconds:.0f} s training")
    changes = " ".join(args.overrides) or "as shipped"
    if args.both:
        print(f"  both sides: {' '.join(args.both)}")
    print(f"  gankit train {args.preset} ({changes}): {our_seconds:.0f} s training and start-up")
    for name in COMPARED:
        if name in classic and name in ours:
            ratio = ours[name] / classic[name] if classic[name] else float("nan")
            print(f"  {name}: classic {classic[name]:.4g}, gankit {ours[name]:.4g} (gankit / classic = {ratio:.3f})")
    if args.json:
        args.json.write_text(json.dumps({"gankit": ours, "classic": classic, "seconds": {
            "gankit": round(our_seconds), "classic": round(classic_seconds)}}, indent=1) + "\n")


if __name__ == "__main__":
    main()
