"""Source "stacked-mnist": three MNIST digits as the three channels of one image, 1,000 modes.

Each sample stacks three training digits drawn at random (fixed seed); its label is
100·first + 10·second + third, so the labels 0..999 name the modes (Metz et al. 2017; VEEGAN).
"""

from __future__ import annotations

import torch

from gankit.config import DataConfig
from gankit.data import torchvision_sets
from gankit.data.sampleset import SampleSet
from gankit.errors import UserError

DATA_SEED = 3
MODES = 1000


def load(cfg: DataConfig) -> SampleSet:
    """``cfg.count`` stacked digits (N, 3, size, size) from the MNIST split ``cfg.split``."""
    if cfg.channels != 3:
        raise UserError("data.source=stacked-mnist makes 3-channel images: set data.channels=3")
    digits = torchvision_sets.load_mnist(cfg.model_copy(update={"channels": 1, "limit": None}))
    picks = torch.randint(len(digits), (cfg.count, 3), generator=torch.Generator().manual_seed(DATA_SEED))
    images = digits.samples[picks].squeeze(2)  # (N, 3, H, W): one digit per channel
    parts = digits.labels[picks]
    labels = parts[:, 0] * 100 + parts[:, 1] * 10 + parts[:, 2]
    text = f"stacked MNIST: {cfg.count} images of 3 {cfg.split} digits as channels, {MODES} modes"
    return SampleSet(samples=images.contiguous(), labels=labels, num_classes=MODES, description=text)
