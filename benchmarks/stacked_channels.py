"""Where a Stacked MNIST run's KL comes from: each channel's digit histogram (quality, not speed).

    .venv/bin/python benchmarks/stacked_channels.py RUN_DIR [--raw | --real]

Draws the samples `gankit eval` draws (the same count and seed), classifies each channel alone with
the evaluator's digit classifier and prints, per channel, the share of every digit and the KL of
that histogram to uniform, then the KL of the 1,000-mode histogram as `gankit eval` reports it. The
per-channel KLs add up to the product of the marginals' part of the total; the rest is dependence
between channels and the sampling floor (about 999 / (2 x samples) for a perfect generator).
Each channel's second line: the share of samples the classifier reads with confidence (top class
probability >= CONFIDENT) and the digit shares among those, which tell a skew of clearly drawn
digits from a skew of ambiguous drawings read as one digit more than another.
``--raw``: the trained G rather than its weight average; ``--real``: as many of the run's real
training images instead, the floor a perfect generator would score.
The last line: the spread of the 1,000-mode KL over BOOTSTRAP resamples of the classified samples,
how far another draw of as many samples could move the figure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from gankit.config import load_run_config
from gankit.data import load_samples, to_model_units
from gankit.metrics.classes import channel_predictions, class_histogram, kl_to_uniform, stacked_modes
from gankit.metrics.classifier import domain_classifier
from gankit.metrics.evaluate import STACKED_SAMPLES, generate_samples
from gankit.sampling import load_generator

CONFIDENT = 0.9  # real MNIST digits: about 98% are read at least this surely
BOOTSTRAP = 200


def shares(counts: torch.Tensor) -> str:
    """Each digit's share of a histogram, as ``digit:percent`` pairs."""
    total = max(1, int(counts.sum()))
    return " ".join(f"{d}:{100 * n / total:.1f}%" for d, n in enumerate(counts.tolist()))


def bootstrap_kl_spread(counts: torch.Tensor, resamples: int = BOOTSTRAP) -> float:
    """The standard deviation of the KL of the histogram ``counts`` over resamples (with replacement)
    of the samples it counts."""
    draws = torch.Generator().manual_seed(0)
    samples = int(counts.sum())
    kls = [kl_to_uniform(class_histogram(torch.multinomial(counts.double(), samples, True, generator=draws), len(counts)))
           for _ in range(resamples)]
    return float(torch.tensor(kls).std())


def main() -> None:
    """Print each channel's digit shares and KL, and the total KL, of one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--raw", action="store_true", help="the trained G, not its weight average")
    source.add_argument("--real", action="store_true", help="the run's real training images")
    args = parser.parse_args()
    cfg = load_run_config(args.run)
    classifier = domain_classifier("mnist", cfg.data.image_size, cfg.data.root)
    if args.real:
        data_cfg = cfg.data.model_copy(update={"limit": STACKED_SAMPLES, "download": False})
        images = to_model_units(load_samples(data_cfg).samples)
        measured = "real training images"
    else:
        images, _ = generate_samples(load_generator(args.run, cfg, raw=args.raw), cfg, STACKED_SAMPLES)
        measured = "trained G" if args.raw else "weight average"
    probabilities = channel_predictions(classifier.probabilities, images)  # (N, channels, 10)
    digits = probabilities.argmax(2)
    marginal_kl = 0.0
    for channel in range(digits.shape[1]):
        counts = class_histogram(digits[:, channel], 10)
        kl = kl_to_uniform(counts)
        marginal_kl += kl
        print(f"channel {channel}: KL {kl:.4f}  {shares(counts)}")
        confident = probabilities[:, channel].max(1).values >= CONFIDENT
        print(f"  read with p >= {CONFIDENT:g}: {100 * float(confident.float().mean()):.1f}% of samples, "
              f"{shares(class_histogram(digits[confident, channel], 10))}")
    modes = class_histogram(stacked_modes(digits), 1000)
    print(f"sum over channels {marginal_kl:.4f}; 1,000-mode KL {kl_to_uniform(modes):.4f} "
          f"({len(digits)} samples, {measured})")
    print(f"  spread of that KL over {BOOTSTRAP} bootstrap resamples: sd {bootstrap_kl_spread(modes):.4f}")


if __name__ == "__main__":
    main()
