"""What a domain classifier says about generated images: the class histogram and its KL to
uniform, the accuracy of conditional samples, and the modes of Stacked MNIST."""

from __future__ import annotations

from typing import Callable

import torch


def class_histogram(predicted: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts (K,) of each predicted class."""
    return torch.bincount(predicted.flatten().cpu(), minlength=num_classes)


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(p || uniform) of the histogram ``counts``: 0 when every class is equally common,
    log K when one class takes everything."""
    p = counts.to(torch.float64) / counts.sum()
    nonzero = p > 0
    return float((p[nonzero] * (p[nonzero] * len(counts)).log()).sum())


def label_accuracy(predicted: torch.Tensor, requested: torch.Tensor) -> float:
    """Share of samples classified as the class they were generated for."""
    return float((predicted.cpu() == requested.cpu()).to(torch.float64).mean())


def channel_predictions(predict: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """Each channel of ``images`` (N, C, H, W) classified alone by ``predict``: (N, C) classes, or
    (N, C, K) where ``predict`` gives K values per image (class probabilities)."""
    return torch.stack([predict(images[:, c:c + 1]) for c in range(images.shape[1])], 1)


def stacked_modes(digits: torch.Tensor) -> torch.Tensor:
    """Mode ids 0..999 of stacked digits from per-channel predictions (N, 3)."""
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
