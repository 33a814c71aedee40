"""The Fréchet distance on known answers."""

import pytest
import torch

from gankit.metrics.frechet import frechet_between, frechet_distance, gaussian_fit


def test_a_set_with_itself_is_zero_and_noise_makes_it_grow():
    x = torch.randn(2000, 16, generator=torch.Generator().manual_seed(0))
    assert frechet_between(x, x) == pytest.approx(0.0, abs=1e-6)
    noise = torch.randn(2000, 16, generator=torch.Generator().manual_seed(1))
    distances = [frechet_between(x, x + level * noise) for level in (0.1, 0.3, 1.0, 3.0)]
    assert distances == sorted(distances) and distances[0] > 0


def test_diagonal_gaussians_by_hand():
    mu_a, mu_b = torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([3.0, 1.0], dtype=torch.float64)
    cov_a = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    cov_b = torch.diag(torch.tensor([1.0, 9.0], dtype=torch.float64))
    # |mu_a - mu_b|^2 + sum (sqrt(a_i) - sqrt(b_i))^2 = 9 + (2 - 1)^2 + (1 - 3)^2
    assert frechet_distance(mu_a, cov_a, mu_b, cov_b) == pytest.approx(14.0, rel=1e-9)


def test_a_rotated_covariance_needs_the_matrix_square_root():
    """cov_b = R cov_a R^T (rotated 90°): same eigenvalues, yet the distance is not zero."""
    cov_a = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    cov_b = torch.diag(torch.tensor([1.0, 4.0], dtype=torch.float64))
    zero = torch.zeros(2, dtype=torch.float64)
    assert frechet_distance(zero, cov_a, zero, cov_b) == pytest.approx(2 * (2 - 1) ** 2, rel=1e-9)


def test_fit_needs_two_rows():
    with pytest.raises(ValueError, match="2 feature rows"):
        gaussian_fit(torch.zeros(1, 3))
