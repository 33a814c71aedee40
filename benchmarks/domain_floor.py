"""The domain Fréchet distance a perfect digit generator would score (quality, not speed).

    .venv/bin/python benchmarks/domain_floor.py [--root ../shared/data] [--slices 2]

Measures disjoint slices of real MNIST *training* images, each as many as `gankit eval` draws from a
generator, in the domain classifier's features against the evaluator's own reference (the test
split), exactly as `gankit eval` measures samples. The distances are the floor under the
`domain_fd` of a generator trained on that data: what finite samples and the train/test shift
leave even for real images.
"""

from __future__ import annotations

import argparse

from gankit.config import build_config
from gankit.data import load_samples, to_model_units
from gankit.metrics.classifier import domain_classifier
from gankit.metrics.evaluate import IMAGE_SAMPLES, _reference
from gankit.metrics.frechet import frechet_between


def main() -> None:
    """Print the domain FD of each slice of real training images."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--slices", type=int, default=2)
    args = parser.parse_args()
    cfg = build_config("cgan-mnist", [f"data.root={args.root}"])
    classifier = domain_classifier("mnist", cfg.data.image_size, cfg.data.root)
    reference = classifier.features(_reference(cfg, "test"))
    train = load_samples(cfg.data.model_copy(update={"split": "train", "limit": IMAGE_SAMPLES * args.slices,
                                                     "download": False})).samples
    for i in range(args.slices):
        images = to_model_units(train[i * IMAGE_SAMPLES:(i + 1) * IMAGE_SAMPLES])
        if len(images) < 2:
            break
        print(f"MNIST training images {i * IMAGE_SAMPLES}-{i * IMAGE_SAMPLES + len(images) - 1} "
              f"against the test split's first {len(reference)}: domain FD "
              f"{frechet_between(classifier.features(images), reference):.2f}")


if __name__ == "__main__":
    main()
