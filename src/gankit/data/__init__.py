"""Training data: every source becomes an in-memory uint8 :class:`ImageSet`.

``load_images(cfg)`` dispatches on ``cfg.source`` through :data:`SOURCES`;
:class:`Batches` serves reproducible shuffled batches in [-1, 1] to the training loop.
"""

from __future__ import annotations

from typing import Callable

from gankit.config import DataConfig
from gankit.data import digits, image_folder, torchvision_sets
from gankit.data.batches import Batches, to_unit_range
from gankit.data.imageset import ImageSet
from gankit.errors import UserError

SOURCES: dict[str, Callable[[DataConfig], ImageSet]] = {
    "digits": digits.load,
    "mnist": torchvision_sets.load_mnist,
    "fashion-mnist": torchvision_sets.load_fashion_mnist,
    "cifar10": torchvision_sets.load_cifar10,
    "folder": image_folder.load,
}

__all__ = ["Batches", "ImageSet", "SOURCES", "load_images", "to_unit_range"]


def load_images(cfg: DataConfig) -> ImageSet:
    """Load the images ``cfg`` describes: uint8 (N, channels, image_size, image_size)."""
    loader = SOURCES.get(cfg.source)
    if loader is None:
        raise UserError(f"unknown data.source '{cfg.source}'; sources: {', '.join(SOURCES)}")
    data = loader(cfg)
    if cfg.limit is not None and len(data) > cfg.limit:
        labels = None if data.labels is None else data.labels[:cfg.limit]
        data = ImageSet(data.images[:cfg.limit], labels, data.num_classes, data.description)
    expected = (cfg.channels, cfg.image_size, cfg.image_size)
    assert tuple(data.images.shape[1:]) == expected, (data.images.shape, expected)
    return data
