"""Differentiable augmentation of everything D sees (DiffAugment, Zhao et al. 2020).

With few training images D memorises them; transforming real and fake images alike before D,
by operations that gradients flow through, keeps D from it without teaching G the transforms.
Each policy applies one random draw per sample, from the run's training noise generator (so a
resumed run draws the same):

- ``color``: brightness + U(-0.5, 0.5); saturation x U(0, 2) about the mean over channels;
  contrast x U(0.5, 1.5) about the image's mean;
- ``translation``: a shift of up to 1/8 of the height and width, zeros moved in;
- ``cutout``: a square of half the side set to zero, centred anywhere in the image.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(x: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
    """One U(0, 1) number per sample, shaped to broadcast over (N, C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype, generator=noise)


def color(x: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
    """Random brightness, saturation and contrast per sample."""
    x = x + (_uniform(x, noise) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, noise) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, noise) + 0.5) + mean


def _offsets(n: int, largest: int, device, noise: torch.Generator) -> torch.Tensor:
    """One integer shift in [-largest, largest] per sample."""
    return torch.randint(-largest, largest + 1, (n, 1), device=device, generator=noise)


def translation(x: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
    """Shift each sample by up to 1/8 of its size, filling with zeros."""
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device) - _offsets(n, int(h * TRANSLATION_RATIO + 0.5), x.device, noise)
    cols = torch.arange(w, device=x.device) - _offsets(n, int(w * TRANSLATION_RATIO + 0.5), x.device, noise)
    inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    gathered = x.gather(2, rows[:, None, :, None].expand(n, x.shape[1], h, w))
    gathered = gathered.gather(3, cols[:, None, None, :].expand(n, x.shape[1], h, w))
    return gathered * inside.to(x.dtype)


def cutout(x: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
    """Zero a square of half the image's side in each sample, centred anywhere in it."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    centre_h = torch.randint(0, h + (1 - size_h % 2), (n, 1), device=x.device, generator=noise)
    centre_w = torch.randint(0, w + (1 - size_w % 2), (n, 1), device=x.device, generator=noise)
    rows = torch.arange(h, device=x.device) - centre_h + size_h // 2
    cols = torch.arange(w, device=x.device) - centre_w + size_w // 2
    hole = ((rows >= 0) & (rows < size_h))[:, None, :, None] & ((cols >= 0) & (cols < size_w))[:, None, None, :]
    return x * (~hole).to(x.dtype)


POLICIES: dict[str, Augment] = {"color": color, "translation": translation, "cutout": cutout}


def build_augment(policies: Sequence[str]) -> Optional[Augment]:
    """The composition of ``policies`` (in the order color, translation, cutout, as DiffAugment
    applies them), or None for none."""
    chosen = [POLICIES[name] for name in POLICIES if name in policies]
    if not chosen:
        return None

    def augment(x: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
        for policy in chosen:
            x = policy(x, noise)
        return x

    return augment
