"""Every family for every kind of sample and conditioning: shapes, labels, and D's shared options."""

import pytest
import torch

from gankit.config import ModelConfig
from gankit.errors import UserError
from gankit.nets import build_networks
from gankit.nets.layers import MinibatchStd, pack_samples
from gankit.spec import SampleSpec

MNIST = SampleSpec("images", (1, 28, 28), 10)
SINES = SampleSpec("sequences", (2, 32), None)
RING = SampleSpec("points", (2,), 8)


def small(**overrides):
    return ModelConfig(z_dim=8, g_width=16, d_width=8, **overrides)


@pytest.mark.parametrize("arch, spec", [
    ("dcgan", MNIST), ("mlp", MNIST), ("cgan-lab", MNIST), ("conv1d", SINES), ("mlp", SINES), ("mlp", RING),
])
def test_shapes_and_ranges(arch, spec):
    generator, discriminator = build_networks(small(arch=arch), spec)
    samples = generator(torch.randn(6, 8))
    assert samples.shape == (6, *spec.shape)
    if spec.bounded:
        assert samples.abs().max() <= 1
    assert discriminator(samples).shape == (6,)


@pytest.mark.parametrize("conditional", ["concat", "projection", "acgan", "kplus1"])
@pytest.mark.parametrize("arch", ["dcgan", "cgan-lab", "mlp"])
def test_conditional_generators_use_the_label(arch, conditional):
    generator, discriminator = build_networks(small(arch=arch, conditional=conditional), MNIST)
    generator.eval()
    z = torch.randn(1, 8).repeat(10, 1)
    samples = generator(z, torch.arange(10))
    assert not torch.allclose(samples[0], samples[1])  # same z, different class
    out = discriminator(samples, torch.arange(10))
    if conditional == "acgan":
        assert out[0].shape == (10,) and out[1].shape == (10, 10)
    elif conditional == "kplus1":
        assert out.shape == (10, 11)
    else:
        assert out.shape == (10,)
    with pytest.raises(ValueError, match="conditional"):
        generator(z)


@pytest.mark.parametrize("conditional", ["concat", "projection"])
def test_conditioned_discriminators_score_the_same_sample_differently_per_label(conditional):
    _, discriminator = build_networks(small(arch="mlp", conditional=conditional), RING)
    torch.nn.init.normal_(discriminator.head.score.weight)
    x = torch.randn(1, 2).repeat(8, 1)
    scores = discriminator(x, torch.arange(8))
    assert scores.unique().numel() == 8


def test_packing_stacks_consecutive_samples_as_channels():
    x = torch.arange(24.0).view(4, 2, 3)
    packed = pack_samples(x, 2)
    assert packed.shape == (2, 4, 3)
    assert torch.equal(packed[1], torch.cat([x[2], x[3]]))
    _, discriminator = build_networks(small(arch="dcgan", pack=4), MNIST)
    assert discriminator(torch.randn(8, 1, 28, 28)).shape == (2,)
    with pytest.raises(ValueError, match="packed"):
        discriminator(torch.randn(6, 1, 28, 28))


def test_minibatch_std_appends_the_mean_feature_deviation_of_each_group():
    features = torch.randn(8, 5)
    out = MinibatchStd(group_size=4)(features)
    assert out.shape == (8, 6) and torch.equal(out[:, :5], features)
    # groups are samples {0, 2, 4, 6} and {1, 3, 5, 7}
    expected = features[0::2].std(0, unbiased=False).mean()
    assert out[0, 5].item() == pytest.approx(expected.item(), rel=1e-4)
    assert out[6, 5].item() == pytest.approx(expected.item(), rel=1e-4)
    same = MinibatchStd()(torch.ones(8, 5))
    assert same[:, 5].max().item() < 1e-3  # a collapsed batch shows (almost) no deviation


def test_spectral_norm_bounds_every_layer_of_d():
    _, discriminator = build_networks(small(arch="mlp", spectral_norm=True), RING)
    for _ in range(30):  # power iterations run in training-mode forwards
        discriminator(torch.randn(16, 2))
    linears = [m for m in discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert linears
    for layer in linears:
        assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_points_need_no_tanh_and_images_refuse_conv1d():
    generator, _ = build_networks(small(arch="mlp"), SampleSpec("points", (2,), None))
    assert not isinstance(list(generator.modules())[-1], torch.nn.Tanh)
    with pytest.raises(UserError, match="conv1d"):
        build_networks(small(arch="conv1d"), MNIST)
    with pytest.raises(UserError, match="labelled"):
        build_networks(small(arch="mlp", conditional="acgan"), SINES)
