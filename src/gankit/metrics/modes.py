"""Mode coverage of 2-D Gaussian mixtures, by the VEEGAN / PacGAN protocol.

A sample is high-quality when it lies within ``radius`` (3) standard deviations of its nearest
mode; a mode is captured when it is the nearest mode of at least one high-quality sample.
The reverse KL compares the histogram of nearest modes of the high-quality samples with the
uniform weights of the mixture.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from gankit.metrics.classes import kl_to_uniform

STD_RADIUS = 3.0


@dataclass(frozen=True)
class ModeCoverage:
    """The coverage numbers and how they were measured."""

    modes_captured: int
    num_modes: int
    high_quality: float  # share of samples within the radius of their nearest mode
    reverse_kl: float  # KL(generated mode histogram || uniform), over high-quality samples
    samples: int
    radius_in_std: float

    def as_dict(self) -> dict:
        """Plain data for JSON."""
        return asdict(self)

    def __str__(self) -> str:
        return (f"modes {self.modes_captured}/{self.num_modes}, high-quality {100 * self.high_quality:.1f}%, "
                f"reverse KL {self.reverse_kl:.3f} ({self.samples} samples, {self.radius_in_std:g} std)")


def mode_coverage(samples: torch.Tensor, means: torch.Tensor, std: float,
                  radius_in_std: float = STD_RADIUS) -> ModeCoverage:
    """Coverage of the mixture (``means`` (K, 2), isotropic ``std``) by ``samples`` (N, 2)."""
    samples = samples.detach().to("cpu", torch.float64)
    means = means.to(torch.float64)
    distances = torch.cdist(samples, means)
    nearest_distance, nearest = distances.min(1)
    good = nearest_distance <= radius_in_std * std
    counts = torch.bincount(nearest[good], minlength=means.shape[0]).to(torch.float64)
    captured = int((counts > 0).sum())
    reverse_kl = kl_to_uniform(counts) if counts.sum() > 0 else math.inf
    return ModeCoverage(captured, means.shape[0], float(good.to(torch.float64).mean()), reverse_kl,
                        samples.shape[0], radius_in_std)
