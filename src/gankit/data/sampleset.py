"""SampleSet, the in-memory result of every data source, and helpers the image sources share."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

_RESIZE_CHUNK = 2048  # images resized at once, bounds the float scratch memory


@dataclass
class SampleSet:
    """A whole data set in memory, of one of three kinds.

    ``samples`` is either uint8 images (N, C, H, W) with pixels 0..255, or float32 samples
    already in the model's units: sequences (N, C, L) in [-1, 1], or points (N, D).
    ``labels`` is int64 (N,) or None; ``description`` says in words what was loaded and from where.
    """

    samples: torch.Tensor
    labels: Optional[torch.Tensor]
    num_classes: Optional[int]
    description: str
    value_range: Optional[tuple[float, float]] = None  # sequence files: the raw (min, max) mapped to [-1, 1]
    classes: Optional[list[str]] = None  # the classes' names, where the source names them
    streamed: bool = False  # the samples are memory-mapped from a file, too large to hold in memory

    def __post_init__(self) -> None:
        images = self.samples.dtype == torch.uint8 and self.samples.dim() == 4
        floats = self.samples.dtype == torch.float32 and self.samples.dim() in (2, 3)
        if not (images or floats):
            raise ValueError(f"SampleSet.samples must be uint8 (N, C, H, W) or float32 (N, C, L) / (N, D), "
                             f"got {self.samples.dtype} {tuple(self.samples.shape)}")
        if self.labels is not None and (self.labels.dtype != torch.int64
                                        or self.labels.shape != self.samples.shape[:1]):
            raise ValueError("SampleSet.labels must be int64 (N,) matching the samples")

    def __len__(self) -> int:
        """Number of samples."""
        return self.samples.shape[0]


def cache_dir() -> Path:
    """gankit's cache folder: ``$GANKIT_CACHE`` or ``~/.cache/gankit``."""
    env = os.environ.get("GANKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gankit"


def shape_text(images: torch.Tensor) -> str:
    """``HxWxC`` of an (N, C, H, W) tensor, as used in descriptions."""
    _, c, h, w = images.shape
    return f"{h}x{w}x{c}"


def count_text(kept: int, total: int) -> str:
    """``60000 images`` or ``first 100 of 60000 images``."""
    return f"{kept} images" if kept == total else f"first {kept} of {total} images"


def take(limit: Optional[int], total: int) -> int:
    """How many images to keep from ``total`` under ``limit`` (None: all)."""
    return total if limit is None else min(limit, total)


def conform(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """Convert uint8 (N, C, H, W) images to ``channels`` channels and ``size`` x ``size``.

    Grey becomes RGB by replication, RGB grey by luminance; resizing is antialiased
    bilinear (the images must already be square).
    """
    from torchvision.transforms.v2 import functional as TF  # imported here: torchvision is slow to import

    if images.shape[1] == 3 and channels == 1:
        images = _chunked(images, lambda x: TF.rgb_to_grayscale(x, num_output_channels=1))
    if images.shape[-1] != size or images.shape[-2] != size:
        images = _chunked(images, lambda x: TF.resize(x, [size, size], antialias=True))
    if images.shape[1] == 1 and channels == 3:
        images = images.repeat(1, 3, 1, 1)
    return images.contiguous()


def _chunked(images: torch.Tensor, fn) -> torch.Tensor:
    parts = [fn(images[i:i + _RESIZE_CHUNK]) for i in range(0, images.shape[0], _RESIZE_CHUNK)]
    if not parts:
        return fn(images)
    return torch.cat(parts) if len(parts) > 1 else parts[0]
