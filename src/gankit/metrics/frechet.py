"""The Fréchet distance between Gaussian fits of two sets of feature vectors.

FD = |mu_a - mu_b|² + tr(C_a + C_b - 2 (C_a^½ C_b C_a^½)^½), computed in float64 with
symmetric eigendecompositions (no complex square roots, no SciPy).
"""

from __future__ import annotations

import torch


def gaussian_fit(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and covariance (D, D) of feature rows (N, D), in float64 (unbiased covariance)."""
    x = features.detach().to("cpu", torch.float64)
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 feature rows (N, D), got shape {tuple(x.shape)}")
    return x.mean(0), torch.cov(x.T).reshape(x.shape[1], x.shape[1])


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor, cov_b: torch.Tensor) -> float:
    """The Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b)."""
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt
    return float(distance.clamp(min=0))


def frechet_between(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The Fréchet distance between the Gaussian fits of two feature sets."""
    return frechet_distance(*gaussian_fit(features_a), *gaussian_fit(features_b))
