"""Latent priors: parsing, and the sample moments of each distribution."""

import math

import pytest
import torch

from gankit.errors import UserError
from gankit.priors import parse_prior

N = 200_000


@pytest.mark.parametrize("text, mean, std", [
    ("normal(0,1)", 0.0, 1.0),
    ("normal(-10, 1)", -10.0, 1.0),
    ("normal(2,0.5)", 2.0, 0.5),
    ("uniform(0,1)", 0.5, 1 / math.sqrt(12)),
    ("uniform(-1,1)", 0.0, 2 / math.sqrt(12)),
    ("exponential(1)", 1.0, 1.0),
    ("exponential(2)", 0.5, 0.5),
    ("exponential(1,-1)", 0.0, 1.0),
])
def test_sample_moments_match_the_distribution(text, mean, std):
    prior = parse_prior(text)
    assert prior.mean == pytest.approx(mean) and prior.std == pytest.approx(std)
    z = prior.sample(N // 10, 10, generator=torch.Generator().manual_seed(0))
    assert z.shape == (N // 10, 10) and z.dtype == torch.float32
    tolerance = 5 * std / math.sqrt(N)
    assert z.mean().item() == pytest.approx(mean, abs=tolerance)
    assert z.std().item() == pytest.approx(std, rel=0.02)


def test_support_of_uniform_and_exponential():
    gen = torch.Generator().manual_seed(1)
    u = parse_prior("uniform(0,1)").sample(1000, 8, generator=gen)
    assert u.min() >= 0 and u.max() < 1
    e = parse_prior("exponential(3)").sample(1000, 8, generator=gen)
    assert e.min() >= 0


def test_same_generator_seed_gives_same_noise():
    prior = parse_prior("normal(0,1)")
    a = prior.sample(4, 3, generator=torch.Generator().manual_seed(5))
    b = prior.sample(4, 3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("text", [
    "normal(0)", "normal(0,-1)", "uniform(1,0)", "exponential(0)", "gamma(1,1)",
    "normal", "normal(a,b)", "normal(0,inf)",
])
def test_malformed_priors_are_user_errors(text):
    with pytest.raises(UserError, match="prior"):
        parse_prior(text)


def test_mixture_draws_equally_from_fixed_centres():
    from gankit.priors import mixture_centres

    k, sigma, dim = 8, 0.01, 3
    z = parse_prior(f"mixture({k},{sigma})").sample(40_000, dim, generator=torch.Generator().manual_seed(2))
    centres = mixture_centres(k, dim)
    # the centres come from the fixed seed, not the cache: a fresh draw gives the same ones
    assert torch.equal(centres, mixture_centres.__wrapped__(k, dim)) and centres.shape == (k, dim)
    distance, nearest = torch.cdist(z, centres).min(1)
    # every point lies within a few sigma of a centre (the chi distribution with 3 dof)...
    assert distance.max() < 6 * sigma and distance.pow(2).mean().sqrt() == pytest.approx(sigma * math.sqrt(dim), rel=0.02)
    # ...and the components are equally likely (binomial spread of 1/8 of 40,000 is about 66)
    counts = torch.bincount(nearest, minlength=k)
    assert (counts - 40_000 / k).abs().max() < 5 * 66


@pytest.mark.parametrize("text", ["mixture(0,1)", "mixture(2.5,0.1)", "mixture(4,0)", "mixture(4)"])
def test_malformed_mixtures_are_user_errors(text):
    with pytest.raises(UserError, match="mixture"):
        parse_prior(text)
