"""Features of any images that gankit builds on any machine, with nothing downloaded: a fixed,
randomly initialised convolutional encoder (random-network embeddings judge generators nearly as
well as trained ones: Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative
models"; Lee et al. 2022).

Images in model units ([-1, 1]; grey ones replicated to three channels) are resized to 64x64
(bilinear, antialiased). Four stride-2 3x3 convolutions (32, 64, 128, 256 channels, each followed
by LeakyReLU 0.2), weights drawn with Kaiming-normal from seed 0 on the CPU in float64 and kept
in float32, no biases, look at them; each stage's feature maps are pooled over space into their
mean and their standard deviation: (32 + 64 + 128 + 256) x 2 = 960 features per image, from
colour and coarse layout to texture and edges. The same weights on every machine: they are drawn
by torch's CPU generator, which is the same everywhere.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

RESOLUTION = 64
WIDTHS = (32, 64, 128, 256)
SEED = 0
VERSION = 1  # bump when the encoder changes: cached reference features are then recomputed
BATCH = 250
PROTOCOL = (f"gankit's random encoder v{VERSION}: images resized to {RESOLUTION}x{RESOLUTION}, four random "
            f"stride-2 3x3 convolutions ({', '.join(map(str, WIDTHS))} channels, LeakyReLU 0.2, Kaiming-normal "
            f"weights from seed {SEED}), each stage's maps pooled to mean and std: {2 * sum(WIDTHS)} features "
            "(gankit.metrics.random_features)")


class RandomEncoder(nn.Module):
    """The fixed random encoder: images (N, C, H, W) in [-1, 1] -> features (N, 960)."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(SEED)
        layers, channels = [], 3
        for width in WIDTHS:
            conv = nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False)
            std = (2.0 / ((1 + 0.2**2) * channels * 9)) ** 0.5  # Kaiming for LeakyReLU(0.2), fan-in
            weight = torch.randn(conv.weight.shape, generator=generator, dtype=torch.float64) * std
            conv.weight.data.copy_(weight.float())
            layers.append(conv)
            channels = width
        self.stages = nn.ModuleList(layers)
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The 960 features of each image."""
        x = images.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (RESOLUTION, RESOLUTION):
            x = F.interpolate(x, size=(RESOLUTION, RESOLUTION), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > RESOLUTION)
        pooled = []
        for conv in self.stages:
            x = F.leaky_relu(conv(x), 0.2)
            flat = x.flatten(2)
            pooled += [flat.mean(2), flat.std(2)]
        return torch.cat(pooled, 1)


@functools.lru_cache(maxsize=1)
def encoder() -> RandomEncoder:
    """The encoder (built once per process)."""
    return RandomEncoder()


def image_features(images: torch.Tensor, batch: int = BATCH) -> torch.Tensor:
    """Features (N, 960) of images (N, C, H, W), uint8 pixels or model units, computed on the CPU
    in batches (so a large uint8 set is never converted whole)."""
    from gankit.data.batches import to_model_units

    net = encoder()
    with torch.inference_mode():
        parts = [net(to_model_units(images[i:i + batch].to("cpu"))) for i in range(0, images.shape[0], batch)]
    return torch.cat(parts).double()
