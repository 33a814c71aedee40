"""Source "digits": scikit-learn's embedded 8x8 handwritten digits (no download)."""

from __future__ import annotations

import torch

from gankit.config import DataConfig
from gankit.data.sampleset import SampleSet, conform, count_text, shape_text, take


def load(cfg: DataConfig) -> SampleSet:
    """All 1797 digits (values 0..16 scaled to 0..255), resized to ``cfg.image_size``.

    scikit-learn's set has no train/test split, so ``cfg.split`` is ignored.
    """
    from sklearn.datasets import load_digits  # imported here: scikit-learn is slow to import

    bunch = load_digits()
    total = len(bunch.images)
    n = take(cfg.limit, total)
    raw = torch.from_numpy(bunch.images[:n]).float()
    images = (raw * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8).unsqueeze(1)
    images = conform(images, cfg.image_size, cfg.channels)
    labels = torch.from_numpy(bunch.target[:n]).to(torch.int64)
    text = f"sklearn digits, {count_text(n, total)} {shape_text(images)} (8x8 originals)"
    return SampleSet(samples=images, labels=labels, num_classes=10, description=text)
