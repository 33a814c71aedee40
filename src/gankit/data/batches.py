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

    Epoch ``index // batches_per_epoch`` visits the samples in a random order drawn on the
    device from (seed, epoch); the last partial batch of each epoch is dropped.  A run resumed
    at any index therefore sees exactly the batches it would have seen.  With ``world_size``
    processes, each global batch is split into equal consecutive shares and process ``rank``
    gets its share: together they see the batches one process would.

    Samples too large for memory (``data.streamed``, memory-mapped from the image cache) stay
    where they are: on the CPU each batch is gathered from the map; on another device
    (``from_host``) each batch is gathered on the host, in the same order, and sent over.
    """

    def __init__(self, data: SampleSet, batch_size: int, seed: int,
                 device: Union[str, torch.device] = "cpu", *, memory_format: torch.memory_format = torch.contiguous_format,
                 rank: int = 0, world_size: int = 1) -> None:
        """Move the samples (images stay uint8) and labels to ``device`` once."""
        n = len(data)
        if batch_size < 1:
            raise UserError(f"train.batch_size must be at least 1 (got {batch_size})")
        if batch_size > n:
            raise UserError(f"train.batch_size={batch_size} is larger than the data set "
                            f"({n} images); lower train.batch_size or raise data.limit")
        if batch_size % world_size:
            raise UserError(f"train.batch_size={batch_size} must be a multiple of the number of "
                            f"processes ({world_size})")
        self.device = torch.device(device)
        self.streamed = data.streamed  # read from a memory-mapped file, batch by batch
        self.from_host = data.streamed and self.device.type != "cpu"
        self.samples = data.samples if self.from_host else data.samples.to(self.device)
        self.memory_format = memory_format if data.samples.dim() == 4 else torch.contiguous_format
        self.labels = data.labels if data.labels is None or self.from_host else data.labels.to(self.device)
        self.batch_size = batch_size  # the global batch; this process takes batch_size / world_size
        self.share = batch_size // world_size
        self.rank = rank
        self.seed = seed
        self.num_images = n
        self.batches_per_epoch = n // batch_size
        self._epoch: Optional[int] = None
        self._order: Optional[torch.Tensor] = None
        self._host_order: Optional[torch.Tensor] = None  # from_host: the epoch's order, copied once

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.batches_per_epoch

    def epoch_of(self, index: int) -> int:
        """The epoch that global batch ``index`` belongs to."""
        return index // self.batches_per_epoch

    def order(self, epoch: int) -> torch.Tensor:
        """The permutation of sample indices for ``epoch``, drawn on the device (cached)."""
        if epoch != self._epoch:
            gen = torch.Generator(device=self.device).manual_seed(epoch_seed(self.seed, epoch))
            self._order = torch.randperm(self.num_images, generator=gen, device=self.device)
            self._host_order = self._order.cpu() if self.from_host else None  # one transfer an epoch
            self._epoch = epoch
        return self._order

    def indices(self, index: int, host: bool = False) -> torch.Tensor:
        """The sample indices of this process's share of global batch ``index`` (on the device;
        ``host``: a copy on the CPU, for data that stays there)."""
        if index < 0:
            raise ValueError(f"batch index must be >= 0, got {index}")
        epoch, pos = divmod(index, self.batches_per_epoch)
        start = pos * self.batch_size + self.rank * self.share
        order = self.order(epoch)
        return (self._host_order if host else order)[start:start + self.share]

    def take(self, indices: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The samples at ``indices``: (float32 in model units, int64 labels or None). No host
        sync, unless the samples stay on the host (``from_host``)."""
        if self.from_host:
            return self._take_from_host(indices.cpu())
        labels = None if self.labels is None else self.labels.index_select(0, indices)
        samples = to_model_units(self.samples.index_select(0, indices))
        return samples.contiguous(memory_format=self.memory_format), labels

    def _take_from_host(self, indices: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        labels = None if self.labels is None else self.labels.index_select(0, indices).to(self.device)
        pixels = self.samples.index_select(0, indices).to(self.device, non_blocking=True)
        return to_model_units(pixels).contiguous(memory_format=self.memory_format), labels

    def get(self, index: int) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """This process's share of global batch ``index``: (samples in model units, labels or None)."""
        if self.from_host:
            return self._take_from_host(self.indices(index, host=True))
        return self.take(self.indices(index))
