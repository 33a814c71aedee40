"""Sample diversity against known answers."""

import math

import pytest
import torch

from gankit.metrics.diversity import diversity_ratio, mean_pairwise_distance


def test_mean_pairwise_distance_by_hand():
    points = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert mean_pairwise_distance(points) == pytest.approx((3 + 4 + 5) / 3)


def test_copies_score_zero_and_the_data_itself_one():
    real = torch.randn(300, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    assert diversity_ratio(real, real) == pytest.approx(1.0)
    assert diversity_ratio(real[:1].repeat(300, 1, 1, 1), real) == 0.0
    shrunk = diversity_ratio(real * 0.5, real)
    assert shrunk == pytest.approx(0.5)
    other = torch.randn(300, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    assert abs(diversity_ratio(other, real) - 1) < 0.05


def test_too_few_samples():
    with pytest.raises(ValueError):
        mean_pairwise_distance(torch.zeros(1, 3))
    assert math.isfinite(mean_pairwise_distance(torch.zeros(2, 3)))
