"""Sample diversity: how far apart generated samples lie, against how far apart real ones do.

A collapsed generator makes near-copies: its samples' mean pairwise distance falls far below
that of real data. The ratio is 1 for samples as varied as the data, near 0 for one repeated
sample, and can exceed 1 for noise.
"""

from __future__ import annotations

import torch

DIVERSITY_SAMPLES = 1000


def mean_pairwise_distance(samples: torch.Tensor) -> float:
    """Mean Euclidean distance between distinct samples (rows of the flattened samples)."""
    flat = samples.detach().flatten(1).to("cpu", torch.float64)
    n = flat.shape[0]
    if n < 2:
        raise ValueError("need at least 2 samples for a pairwise distance")
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1)))


def diversity_ratio(generated: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise distance of ``generated`` over that of ``real`` (both in model units)."""
    return mean_pairwise_distance(generated) / mean_pairwise_distance(real)


def protocol(generated: int, real: str) -> str:
    """How the diversity ratio was measured."""
    return (f"mean pairwise Euclidean distance of {generated} generated samples over that of {real}, "
            "in model units (1: as varied as the data; near 0: copies of one sample) "
            "(gankit.metrics.diversity)")
