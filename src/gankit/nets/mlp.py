"""Fully connected G and D, for images, sequences or points.

Goodfellow et al. (2014) on MNIST: G has two hidden layers of 1200 ReLU units; D has two
hidden layers of 240 maxout units with 5 pieces each and dropout.  G ends in tanh for data in
[-1, 1] (images, sequences) and is linear for points; D's head gives the logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.spec import SampleSpec


class Maxout(nn.Module):
    """A linear layer with ``pieces`` outputs per unit, keeping the largest."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """max over pieces of the affine maps."""
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(-1)


class GeneratorCore(nn.Module):
    """input → ``depth`` ReLU layers of ``width`` units → a sample of ``shape``."""

    def __init__(self, in_dim: int, shape: tuple[int, ...], width: int, depth: int, bounded: bool):
        super().__init__()
        self.shape = shape
        layers: list[nn.Module] = []
        size = in_dim
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.ReLU(True)]
            size = width
        layers.append(nn.Linear(size, math.prod(shape)))
        if bounded:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate samples from input vectors."""
        return self.net(z).view(z.shape[0], *self.shape)


def generator(in_dim: int, spec: SampleSpec, cfg: ModelConfig) -> nn.Module:
    """G's core: tanh output for bounded data, linear for points."""
    return GeneratorCore(in_dim, spec.shape, cfg.g_width, cfg.g_depth, spec.bounded)


def discriminator_body(in_shape: tuple[int, ...], cfg: ModelConfig) -> tuple[nn.Module, int]:
    """Flatten → ``d_depth`` maxout (or LeakyReLU) layers of ``d_width`` units [→ dropout]."""
    layers: list[nn.Module] = [nn.Flatten()]
    size = math.prod(in_shape)
    for _ in range(cfg.d_depth):
        if cfg.d_dropout:
            layers.append(nn.Dropout(cfg.d_dropout))
        if cfg.maxout_pieces:
            layers.append(Maxout(size, cfg.d_width, cfg.maxout_pieces))
        else:
            layers += [nn.Linear(size, cfg.d_width), nn.LeakyReLU(0.2, True)]
        size = cfg.d_width
    if cfg.d_dropout:
        layers.append(nn.Dropout(cfg.d_dropout))
    return nn.Sequential(*layers), size
