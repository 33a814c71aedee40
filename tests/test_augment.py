"""DiffAugment: one function for real and fake alike, gradients through it, each policy does
what it says, and a run with it resumes exactly."""

from __future__ import annotations

import pytest
import torch

from gankit.augment import build_augment, color, cutout, translation
from gankit.engine.gan import Gan


def images(n=8, c=3, size=16):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_real_and_fake_pass_through_the_same_transforms():
    augment = build_augment(["color", "translation", "cutout"])
    x = images()
    real_path = augment(x, torch.Generator().manual_seed(5))
    fake_path = augment(x.clone().requires_grad_(True), torch.Generator().manual_seed(5))
    assert torch.equal(real_path, fake_path.detach())


@pytest.mark.parametrize("policy", [color, translation, cutout])
def test_gradients_flow_through_each_policy(policy):
    x = images().requires_grad_(True)
    out = policy(x, torch.Generator().manual_seed(3))
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_content_and_fills_zeros():
    x = torch.arange(16.0).reshape(1, 1, 4, 4) + 1
    out = translation(x.repeat(50, 1, 1, 1), torch.Generator().manual_seed(0))
    for sample in out:  # each is a shift of x by at most 1 pixel (1/8 of 4, rounded) with zeros moved in
        shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                  if torch.equal(sample[0], torch.roll(x[0, 0], (dy, dx), (0, 1)) * _inside(dy, dx))]
        assert shifts, sample
    assert len({tuple(s.flatten().tolist()) for s in out}) > 3  # different draws per sample


def _inside(dy, dx):
    mask = torch.ones(4, 4)
    if dy > 0:
        mask[:dy] = 0
    if dy < 0:
        mask[dy:] = 0
    if dx > 0:
        mask[:, :dx] = 0
    if dx < 0:
        mask[:, dx:] = 0
    return mask


def test_cutout_zeroes_at_most_a_quarter_and_color_keeps_shape():
    x = torch.ones(64, 1, 16, 16)
    out = cutout(x, torch.Generator().manual_seed(0))
    zeros = (out == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() >= 16  # an 8x8 square, clipped at the borders
    assert color(images(), torch.Generator().manual_seed(0)).shape == (8, 3, 16, 16)


def test_the_discriminator_sees_augmented_batches_only_when_asked():
    seen = []

    def discriminator(x, labels=None):
        seen.append(x)
        return x.flatten(1).mean(1)

    augment = build_augment(["cutout"])
    kwargs = dict(generator=torch.nn.Identity(), discriminator=torch.nn.Identity(), g_optimizer=None,
                  d_optimizer=None, objective=None, regularizers=None, prior=None, z_dim=1, num_classes=0,
                  pack=1, noise=torch.Generator().manual_seed(0), d_forward=discriminator)
    x = torch.ones(4, 1, 8, 8)
    Gan(**kwargs).d_forward(x)
    Gan(**kwargs, augment=augment).d_forward(x)
    assert torch.equal(seen[0], x) and (seen[1] == 0).any()
    assert build_augment([]) is None


def test_augmenting_points_is_refused(gankit, tmp_path):
    code, _, err = gankit("train", "ring8", "train.steps=2", "regularize.augment=[cutout]", "--runs-dir", str(tmp_path))
    assert code == 2 and "regularize.augment transforms images" in err
