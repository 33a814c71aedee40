"""Sources "ring8" and "grid25": the 2-D Gaussian mixtures of the mode-collapse literature.

ring8: eight Gaussians with means on the unit circle and standard deviation 0.01.
grid25: twenty-five Gaussians with means in {-4, -2, 0, 2, 4}² and standard deviation 0.05.
Each point is labelled with the index of the mode it was drawn from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gankit.config import DataConfig
from gankit.data.sampleset import SampleSet

DATA_SEED = 20141  # the mixtures' points are fixed: the same config always gives the same set


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in the plane."""

    name: str
    means: torch.Tensor  # (K, 2)
    std: float

    @property
    def num_modes(self) -> int:
        """Number of Gaussians."""
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` points (n, 2) and the index of the mode each came from (n,)."""
        modes = torch.randint(self.num_modes, (n,), generator=generator)
        points = self.means[modes] + self.std * torch.randn(n, 2, generator=generator)
        return points, modes


def ring8() -> Mixture:
    """Eight modes evenly spaced on the unit circle, std 0.01."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    means = torch.stack([angles.cos(), angles.sin()], 1).to(torch.float32)
    return Mixture("ring8", means, 0.01)


def grid25() -> Mixture:
    """Twenty-five modes on the grid {-4, -2, 0, 2, 4}², std 0.05."""
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    means = torch.cartesian_prod(axis, axis)
    return Mixture("grid25", means, 0.05)


MIXTURES = {"ring8": ring8, "grid25": grid25}


def load(cfg: DataConfig) -> SampleSet:
    """``cfg.count`` points of the mixture named by ``cfg.source``, labelled by mode."""
    mixture = MIXTURES[cfg.source]()
    points, modes = mixture.sample(cfg.count, torch.Generator().manual_seed(DATA_SEED))
    text = (f"{mixture.name}: {cfg.count} points from {mixture.num_modes} Gaussians "
            f"(std {mixture.std})")
    return SampleSet(samples=points, labels=modes, num_classes=mixture.num_modes, description=text)
