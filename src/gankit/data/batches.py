"""Batches: the training loop's view of an SampleSet, reproducible at any batch index."""

from __future__ import annotations

import hashlib
from typing import Optional, Union

import torch

from gankit.data.sampleset import SampleSet
from gankit.errors import UserError


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 as float32 in [-1, 1] (``x / 127.5 - 1``)."""
    return images.to(torch.float32) / 127.5 - 1.0


def to_model_units(samples: torch.Tensor) -> torch.Tensor:
    """What G imitates: uint8 images scaled to [-1, 1]; float samples unchanged."""
    return to_unit_range(samples) if samples.dtype == torch.uint8 else samples


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit generator seed that is a pure function of (seed, epoch)."""
    digest = hashlib.sha256(f"gankit-batches:{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class Batches:
    """Shuffled fixed-size batches; batch ``index`` depends only on (data, batch_size, seed).

    Epoch ``index // batches_per_epoch`` visits the images in a random order drawn from
    (seed, epoch); the last partial batch of each epoch is dropped.  A run resumed at any
    index therefore sees exactly the batches it would have seen.
    """

    def __init__(self, data: SampleSet, batch_size: int, seed: int,
                 device: Union[str, torch.device] = "cpu") -> None:
        """Move the images (uint8) and labels to ``device``."""
        n = len(data)
        if batch_size < 1:
            raise UserError(f"train.batch_size must be at least 1 (got {batch_size})")
        if batch_size > n:
            raise UserError(f"train.batch_size={batch_size} is larger than the data set "
                            f"({n} images); lower train.batch_size or raise data.limit")
        self.device = torch.device(device)
        self.samples = data.samples.to(self.device)
        self.labels = None if data.labels is None else data.labels.to(self.device)
        self.batch_size = batch_size
        self.seed = seed
        self.num_images = n
        self.batches_per_epoch = n // batch_size
        self._epoch: Optional[int] = None
        self._order: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.batches_per_epoch

    def epoch_of(self, index: int) -> int:
        """The epoch that global batch ``index`` belongs to."""
        return index // self.batches_per_epoch

    def order(self, epoch: int) -> torch.Tensor:
        """The permutation of image indices for ``epoch`` (on the device; cached)."""
        if epoch != self._epoch:
            gen = torch.Generator(device="cpu").manual_seed(epoch_seed(self.seed, epoch))
            self._order = torch.randperm(self.num_images, generator=gen).to(self.device)
            self._epoch = epoch
        return self._order

    def get(self, index: int) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Global batch ``index``: (float32 samples in model units, int64 labels or None)."""
        if index < 0:
            raise ValueError(f"batch index must be >= 0, got {index}")
        epoch, pos = divmod(index, self.batches_per_epoch)
        picked = self.order(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size]
        labels = None if self.labels is None else self.labels[picked]
        return to_model_units(self.samples[picked]), labels
