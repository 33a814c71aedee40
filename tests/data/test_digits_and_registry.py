"""The embedded digits source, the registry and load_samples' contract."""

import pytest
import torch

from gankit.config import DataConfig
from gankit.data import SampleSet, load_samples


def test_digits_default_shape_dtype_range_labels():
    data = load_samples(DataConfig())
    assert isinstance(data, SampleSet)
    assert data.samples.shape == (1797, 1, 16, 16)
    assert data.samples.dtype == torch.uint8
    assert data.samples.min() == 0 and data.samples.max() == 255
    assert data.labels.dtype == torch.int64 and data.labels.shape == (1797,)
    assert set(data.labels.tolist()) == set(range(10))
    assert data.num_classes == 10
    assert "1797" in data.description and "16x16x1" in data.description


def test_digits_native_size_is_exact_rescale():
    from sklearn.datasets import load_digits

    data = load_samples(DataConfig(image_size=8))
    expected = torch.from_numpy(load_digits().images * (255 / 16)).round().to(torch.uint8)
    assert torch.equal(data.samples[:, 0], expected)


@pytest.mark.parametrize("size", [4, 28, 64])
def test_digits_resize(size):
    data = load_samples(DataConfig(image_size=size))
    assert data.samples.shape == (1797, 1, size, size)
    assert data.samples.float().mean() > 10  # not blank


def test_digits_rgb_replicates_grey():
    data = load_samples(DataConfig(channels=3, image_size=32))
    assert data.samples.shape == (1797, 3, 32, 32)
    assert torch.equal(data.samples[:, 0], data.samples[:, 1])
    assert torch.equal(data.samples[:, 0], data.samples[:, 2])
    grey = load_samples(DataConfig(channels=1, image_size=32))
    assert torch.equal(data.samples[:, :1], grey.samples)


def test_limit_keeps_the_first_images():
    full = load_samples(DataConfig())
    part = load_samples(DataConfig(limit=50))
    assert part.samples.shape[0] == 50
    assert torch.equal(part.samples, full.samples[:50])
    assert torch.equal(part.labels, full.labels[:50])
    assert "50" in part.description
    assert len(load_samples(DataConfig(limit=10_000))) == 1797
