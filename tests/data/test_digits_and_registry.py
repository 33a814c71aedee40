"""The embedded digits source, the registry and load_images' contract."""

import typing

import pytest
import torch

from gankit.config import DataConfig
from gankit.data import SOURCES, ImageSet, load_images


def test_registry_covers_every_configurable_source():
    allowed = typing.get_args(DataConfig.model_fields["source"].annotation)
    assert set(SOURCES) == set(allowed)


def test_digits_default_shape_dtype_range_labels():
    data = load_images(DataConfig())
    assert isinstance(data, ImageSet)
    assert data.images.shape == (1797, 1, 16, 16)
    assert data.images.dtype == torch.uint8
    assert data.images.min() == 0 and data.images.max() == 255
    assert data.labels.dtype == torch.int64 and data.labels.shape == (1797,)
    assert set(data.labels.tolist()) == set(range(10))
    assert data.num_classes == 10
    assert "1797" in data.description and "16x16x1" in data.description


def test_digits_native_size_is_exact_rescale():
    from sklearn.datasets import load_digits

    data = load_images(DataConfig(image_size=8))
    expected = torch.from_numpy(load_digits().images * (255 / 16)).round().to(torch.uint8)
    assert torch.equal(data.images[:, 0], expected)


@pytest.mark.parametrize("size", [4, 28, 64])
def test_digits_resize(size):
    data = load_images(DataConfig(image_size=size))
    assert data.images.shape == (1797, 1, size, size)
    assert data.images.float().mean() > 10  # not blank


def test_digits_rgb_replicates_grey():
    data = load_images(DataConfig(channels=3, image_size=32))
    assert data.images.shape == (1797, 3, 32, 32)
    assert torch.equal(data.images[:, 0], data.images[:, 1])
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    grey = load_images(DataConfig(channels=1, image_size=32))
    assert torch.equal(data.images[:, :1], grey.images)


def test_limit_keeps_the_first_images():
    full = load_images(DataConfig())
    part = load_images(DataConfig(limit=50))
    assert part.images.shape[0] == 50
    assert torch.equal(part.images, full.images[:50])
    assert torch.equal(part.labels, full.labels[:50])
    assert "50" in part.description
    assert len(load_images(DataConfig(limit=10_000))) == 1797
