"""Mode coverage on known answers: the true mixture, one mode, and points far from every mode."""

import math

import pytest
import torch

from gankit.data.toys import grid25, ring8
from gankit.metrics.modes import mode_coverage


@pytest.mark.parametrize("mixture", [ring8, grid25])
def test_samples_of_the_true_mixture_cover_every_mode(mixture):
    m = mixture()
    points, _ = m.sample(2500, torch.Generator().manual_seed(0))
    coverage = mode_coverage(points, m.means, m.std)
    assert coverage.modes_captured == m.num_modes
    assert coverage.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.01)  # P(|x| < 3 std) in 2-D
    assert coverage.reverse_kl < 0.02


def test_samples_of_one_mode_capture_one():
    m = grid25()
    points = m.means[7] + m.std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
    coverage = mode_coverage(points, m.means, m.std)
    assert coverage.modes_captured == 1
    assert coverage.reverse_kl == pytest.approx(torch.log(torch.tensor(25.0)).item(), rel=1e-6)


def test_points_between_modes_are_not_high_quality():
    m = ring8()
    coverage = mode_coverage(torch.zeros(100, 2), m.means, m.std)
    assert coverage.modes_captured == 0 and coverage.high_quality == 0.0
    assert "modes 0/8" in str(coverage)
