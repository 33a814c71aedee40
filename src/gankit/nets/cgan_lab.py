"""The conditional MNIST GAN of the classic course lab, for images whose side is a multiple of 4.

G: [one-hot(10) ‖ z(100)] → Dense s·s·g_width → BN → LeakyReLU → reshape → Upsample(2) →
ConvTranspose(5, 'same') → BN → LeakyReLU → Upsample(2) → ConvTranspose(5, 'same') → tanh,
with s = side / 4 (7 for 28×28, so Dense 7·7·64).
D: [Conv(3, 'same') → BN → LeakyReLU → MaxPool(2)] × 2 (d_width, then 2·d_width channels) →
Flatten → Dense 128 → BN → LeakyReLU; its head then gives the outputs (11 for K+1 on MNIST).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import UserError
from gankit.nets.layers import Flatten, in_layout_of
from gankit.spec import SampleSpec

DENSE_UNITS = 128
SLOPE = 0.2


def _quarter(size: int) -> int:
    if size % 4 or size < 8:
        raise UserError(f"data.image_size={size}: model.arch=cgan-lab needs a side that is a multiple of 4")
    return size // 4


class GeneratorCore(nn.Module):
    """input (N, in_dim) → image (N, C, H, W) in [-1, 1]."""

    def __init__(self, in_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        s = _quarter(image_size)
        self.start = (width, s)
        self.dense = nn.Sequential(nn.Linear(in_dim, width * s * s), nn.BatchNorm1d(width * s * s),
                                   nn.LeakyReLU(SLOPE, True))
        self.convs = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.ConvTranspose2d(width, width // 2, 5, padding=2),
            nn.BatchNorm2d(width // 2), nn.LeakyReLU(SLOPE, True),
            nn.Upsample(scale_factor=2), nn.ConvTranspose2d(width // 2, channels, 5, padding=2), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate images from input vectors."""
        width, s = self.start
        return self.convs(in_layout_of(self.dense(z).view(z.shape[0], width, s, s), self.convs[1].weight))


def generator(in_dim: int, spec: SampleSpec, cfg: ModelConfig) -> nn.Module:
    """G's core for ``spec``'s images."""
    channels, size, _ = spec.shape
    return GeneratorCore(in_dim, channels, size, cfg.g_width)


def discriminator_body(in_shape: tuple[int, ...], cfg: ModelConfig) -> tuple[nn.Module, int]:
    """Two conv blocks with max pooling, then Dense 128: (body, 128)."""
    in_channels, size, _ = in_shape
    s = _quarter(size)
    w = cfg.d_width
    body = nn.Sequential(
        nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.LeakyReLU(SLOPE, True), nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(SLOPE, True), nn.MaxPool2d(2),
        Flatten(), nn.Linear(2 * w * s * s, DENSE_UNITS), nn.BatchNorm1d(DENSE_UNITS),
        nn.LeakyReLU(SLOPE, True))
    return body, DENSE_UNITS
