"""Weight clipping, the gradient penalty and R1 on cases whose answer is known."""

import pytest
import torch
from torch import nn

from gankit.regularize import DStepContext, GradientPenalty, R1, WeightClip, build_regularizers
from gankit.config import RegularizeConfig


def context(score, real, fake, pack=1, real_score=None):
    return DStepContext(score=score, real=real, real_score=real_score, fake=fake, labels=None, pack=pack,
                        noise=torch.Generator().manual_seed(0))


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = w·x has gradient w everywhere: the penalty is weight * (|w| - 1)^2."""
    w = torch.tensor([2.0, 2.0, 1.0])  # |w| = 3
    critic = lambda x, labels: x.flatten(1) @ w
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    penalty = GradientPenalty(10.0).penalty(context(critic, real, fake))
    assert penalty.item() == pytest.approx(10.0 * (3.0 - 1.0) ** 2, rel=1e-6)


def test_gradient_penalty_takes_the_norm_per_sample_over_all_dimensions():
    """D(x) = ½|x|² has gradient x: with real = fake every interpolate is x itself, so the
    penalty is mean over samples of (|x_i| - 1)^2, with |x_i| over all of C, H, W."""
    critic = lambda x, labels: 0.5 * x.pow(2).flatten(1).sum(1)
    x = torch.randn(4, 2, 3, 3)
    penalty = GradientPenalty(1.0).penalty(context(critic, x, x.clone()))
    norms = x.flatten(1).norm(dim=1)
    assert penalty.item() == pytest.approx(((norms - 1) ** 2).mean().item(), rel=1e-5)
    packed = GradientPenalty(1.0).penalty(context(lambda x, l: critic(x, l).view(2, 2).sum(1), x, x.clone(), pack=2))
    pack_norms = x.reshape(2, -1).norm(dim=1)
    assert packed.item() == pytest.approx(((pack_norms - 1) ** 2).mean().item(), rel=1e-5)


def test_gradient_penalty_is_differentiable_in_the_critic():
    layer = nn.Linear(3, 1)
    penalty = GradientPenalty(10.0).penalty(context(lambda x, l: layer(x).flatten(), torch.randn(6, 3), torch.randn(6, 3)))
    penalty.backward()
    # d/dw 10 (|w| - 1)^2 = 20 (|w| - 1) w / |w|
    w = layer.weight.detach()[0]
    expected = 20 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(layer.weight.grad[0], expected, atol=1e-5)


def test_r1_penalty_of_a_quadratic_critic():
    """D(x) = ½|x|² has gradient x: R1 = gamma / 2 * mean |x|^2."""
    real = torch.randn(5, 4).requires_grad_(True)
    score = 0.5 * real.pow(2).sum(1)
    penalty = R1(gamma=3.0).penalty(context(None, real, None, real_score=score))
    assert penalty.item() == pytest.approx(1.5 * real.detach().pow(2).sum(1).mean().item(), rel=1e-6)


def test_weight_clip_bounds_every_parameter():
    critic = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    WeightClip(0.01).after_step(critic)
    for parameter in critic.parameters():
        assert parameter.abs().max().item() <= 0.01
    assert any(parameter.abs().max().item() == pytest.approx(0.01) for parameter in critic.parameters())


def test_config_switches():
    assert RegularizeConfig(clip=True).clip == 0.01
    assert RegularizeConfig(clip=False).clip is None
    parts = build_regularizers(RegularizeConfig(clip=0.02, gradient_penalty=10, r1=1)).parts
    assert [type(p) for p in parts] == [WeightClip, GradientPenalty, R1]
    assert build_regularizers(RegularizeConfig()).penalty(None) is None
