"""Fully connected G and D, as in Goodfellow et al. (2014).

The paper's MNIST networks: G has two hidden layers of 1200 ReLU units; D has two hidden layers
of 240 maxout units with 5 pieces each and dropout.  Here G ends in tanh (images live in
[-1, 1]) and D ends in one logit (the sigmoid lives inside the loss).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.config import ModelConfig


class Maxout(nn.Module):
    """A linear layer with ``pieces`` outputs per unit, keeping the largest."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """max over pieces of the affine maps."""
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(-1)


class Generator(nn.Module):
    """z → ``depth`` ReLU layers of ``width`` units → tanh image."""

    def __init__(self, z_dim: int, channels: int, image_size: int, width: int, depth: int):
        super().__init__()
        self.shape = (channels, image_size, image_size)
        layers: list[nn.Module] = []
        size = z_dim
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.ReLU(True)]
            size = width
        layers += [nn.Linear(size, channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate images from latent codes."""
        return self.net(z).view(z.shape[0], *self.shape)


class Discriminator(nn.Module):
    """image → ``depth`` maxout (or LeakyReLU) layers of ``width`` units → logit."""

    def __init__(self, channels: int, image_size: int, width: int, depth: int,
                 maxout_pieces: int = 0, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        size = channels * image_size * image_size
        for _ in range(depth):
            if dropout:
                layers.append(nn.Dropout(dropout))
            if maxout_pieces:
                layers.append(Maxout(size, width, maxout_pieces))
            else:
                layers += [nn.Linear(size, width), nn.LeakyReLU(0.2, True)]
            size = width
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(size, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image."""
        return self.net(x).flatten()


def build(cfg: ModelConfig, channels: int, image_size: int) -> tuple[nn.Module, nn.Module]:
    """The MLP pair for ``channels``×``image_size``² images."""
    return (Generator(cfg.z_dim, channels, image_size, cfg.g_width, cfg.g_depth),
            Discriminator(channels, image_size, cfg.d_width, cfg.d_depth,
                          cfg.maxout_pieces, cfg.d_dropout))
