"""Source "digits": scikit-learn's embedded 8x8 handwritten digits (no download).

The digits at a given size and channel count are kept in gankit's cache after the first load,
so later runs skip importing scikit-learn and torchvision (about 5 s of every start)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.sampleset import SampleSet, cache_dir, conform, count_text, shape_text, take
from gankit.errors import MachineError
from gankit.fsutil import atomic_write

CACHE_VERSION = 1  # raise when the conversion below changes


def load(cfg: DataConfig) -> SampleSet:
    """All 1797 digits (values 0..16 scaled to 0..255), resized to ``cfg.image_size``.

    scikit-learn's set has no train/test split, so ``cfg.split`` is ignored.
    """
    images, labels = _cached(cfg.image_size, cfg.channels)
    total = len(images)
    n = take(cfg.limit, total)
    images, labels = images[:n].contiguous(), labels[:n].contiguous()
    text = f"sklearn digits, {count_text(n, total)} {shape_text(images)} (8x8 originals)"
    return SampleSet(samples=images, labels=labels, num_classes=10, description=text)


def _cache_path(size: int, channels: int) -> Path:
    return cache_dir() / "digits" / f"digits-v{CACHE_VERSION}-{size}px-{channels}ch.npz"


def _cached(size: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every digit as uint8 (N, channels, size, size) images and int64 labels, from the cache
    when it holds them (a damaged or unwritable cache only costs the conversion)."""
    path = _cache_path(size, channels)
    try:
        with np.load(path) as stored:
            return torch.from_numpy(stored["images"]), torch.from_numpy(stored["labels"])
    except (OSError, ValueError, KeyError):
        pass
    images, labels = _converted(size, channels)
    buffer = io.BytesIO()
    np.savez(buffer, images=images.numpy(), labels=labels.numpy())
    try:
        with atomic_write(path, "wb") as handle:
            handle.write(buffer.getvalue())
    except (OSError, MachineError):
        pass  # a cache that cannot be written is no reason to stop
    return images, labels


def _converted(size: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits scaled to 0..255 and conformed to ``size`` and ``channels``."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn is slow to import

    bunch = load_digits()
    raw = torch.from_numpy(bunch.images).float()
    images = (raw * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8).unsqueeze(1)
    return conform(images, size, channels), torch.from_numpy(bunch.target).to(torch.int64)
