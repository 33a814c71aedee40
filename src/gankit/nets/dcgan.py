"""DCGAN (Radford et al. 2015) for square images of side 4·2^n or 7·2^n (16, 28, 32, 64, ...).

G: z → FC to s0×s0×C0 → BN → ReLU → [ConvTranspose(4,2,1) → BN → ReLU]* → ConvTranspose → tanh,
halving the channels at each doubling; the FC layer on z is the classic first 4×4 transposed
convolution written as a matrix product.  D mirrors it: Conv(4,2,1) → LeakyReLU(0.2), then
[Conv(4,2,1) → BN → LeakyReLU]* down to s0×s0; its head (a linear map of the s0×s0 features,
i.e. the classic last s0×s0 convolution) gives the logit, so a 64×64 D has five "convolutions".
Weights start from N(0, 0.02) as in the paper.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import UserError
from gankit.nets.layers import Flatten, in_layout_of
from gankit.spec import SampleSpec


def base_size(image_size: int) -> tuple[int, int]:
    """(s0, n): the smallest feature map and the number of doublings up to ``image_size``."""
    for s0 in (4, 7):
        n = math.log2(image_size / s0) if image_size >= s0 else -1
        if n >= 1 and n == int(n):
            return s0, int(n)
    raise UserError(f"data.image_size={image_size}: the DCGAN needs a side of 4·2^n or 7·2^n "
                    "(8, 14, 16, 28, 32, 56, 64, 128, ...)")


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv/linear weights N(0, 0.02), BN weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class GeneratorCore(nn.Module):
    """input (N, in_dim) → image (N, C, H, W) in [-1, 1]."""

    def __init__(self, in_dim: int, channels: int, image_size: int, width: int = 64):
        super().__init__()
        s0, n = base_size(image_size)
        c0 = width * 2 ** (n - 1)
        self.start = (c0, s0)
        self.project = nn.Sequential(nn.Linear(in_dim, c0 * s0 * s0, bias=False))
        self.project_norm = nn.Sequential(nn.BatchNorm2d(c0), nn.ReLU(True))
        layers: list[nn.Module] = []
        c = c0
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate images from input vectors."""
        c0, s0 = self.start
        x = in_layout_of(self.project(z).view(z.shape[0], c0, s0, s0), self.upsample[0].weight)
        return self.upsample(self.project_norm(x))


def generator(in_dim: int, spec: SampleSpec, cfg: ModelConfig) -> nn.Module:
    """G's core for ``spec``'s images."""
    channels, size, _ = spec.shape
    return GeneratorCore(in_dim, channels, size, cfg.g_width)


def discriminator_body(in_shape: tuple[int, ...], cfg: ModelConfig) -> tuple[nn.Module, int]:
    """D's convolutions down to s0×s0, flattened: (body, number of features)."""
    in_channels, size, _ = in_shape
    s0, n = base_size(size)
    width = cfg.d_width
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    c = width
    for _ in range(n - 1):
        layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
        c *= 2
    layers.append(Flatten())
    return nn.Sequential(*layers), c * s0 * s0
