"""1-D convolutional G and D for sequences (N, C, L), L a multiple of 8.

G: input → Dense to (4·g_width, L/8) → BN → ReLU → [ConvTranspose1d(4, 2, 1) → BN → ReLU] × 2 →
ConvTranspose1d(4, 2, 1) → tanh, halving the channels at each doubling.
D, as in the course lab: Conv1d(d_width=32, kernel 5) → LeakyReLU, then two more stride-2
kernel-5 convolutions (2·, 4·d_width) with LeakyReLU, flattened; the head gives the score.
Weights start from N(0, 0.02).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import UserError
from gankit.nets.dcgan import init_weights
from gankit.spec import SampleSpec

DOUBLINGS = 3
SLOPE = 0.2

__all__ = ["generator", "discriminator_body", "init_weights"]


def _base_length(length: int) -> int:
    if length % 2 ** DOUBLINGS:
        raise UserError(f"sequence length {length}: model.arch=conv1d needs a multiple of {2 ** DOUBLINGS}")
    return length // 2 ** DOUBLINGS


class GeneratorCore(nn.Module):
    """input (N, in_dim) → sequences (N, C, L) in [-1, 1]."""

    def __init__(self, in_dim: int, channels: int, length: int, width: int):
        super().__init__()
        c0, l0 = width * 2 ** (DOUBLINGS - 1), _base_length(length)
        self.start = (c0, l0)
        self.project = nn.Linear(in_dim, c0 * l0, bias=False)
        layers: list[nn.Module] = [nn.BatchNorm1d(c0), nn.ReLU(True)]
        c = c0
        for _ in range(DOUBLINGS - 1):
            layers += [nn.ConvTranspose1d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm1d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose1d(c, channels, 4, 2, 1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate sequences from input vectors."""
        c0, l0 = self.start
        return self.upsample(self.project(z).view(z.shape[0], c0, l0))


def generator(in_dim: int, spec: SampleSpec, cfg: ModelConfig) -> nn.Module:
    """G's core for ``spec``'s sequences."""
    channels, length = spec.shape
    return GeneratorCore(in_dim, channels, length, cfg.g_width)


def discriminator_body(in_shape: tuple[int, ...], cfg: ModelConfig) -> tuple[nn.Module, int]:
    """Three kernel-5 convolutions with LeakyReLU, flattened: (body, features)."""
    in_channels, length = in_shape
    _base_length(length)
    w = cfg.d_width
    body = nn.Sequential(
        nn.Conv1d(in_channels, w, 5, 2, 2), nn.LeakyReLU(SLOPE, True),
        nn.Conv1d(w, 2 * w, 5, 2, 2), nn.LeakyReLU(SLOPE, True),
        nn.Conv1d(2 * w, 4 * w, 5, 2, 2), nn.LeakyReLU(SLOPE, True),
        nn.Flatten())
    return body, 4 * w * (length // 8)
