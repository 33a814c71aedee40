"""Sources mnist / fashion-mnist / cifar10: real MNIST if present, fakes otherwise."""

import gzip
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import datasets

from gankit.config import DataConfig
from gankit.data import load_samples
from gankit.errors import UserError

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GANKIT_DATA_DIR", REPO.parent / "shared" / "data"))
IDX = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
       "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Never touch ~/.cache: point the cache and the default data root at tmp folders."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path_factory.mktemp("default-root")))


def tree(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


# ---------------------------------------------------------------- real MNIST

@pytest.fixture(scope="module")
def mnist_root():
    raw = SHARED / "MNIST" / "raw"
    if not any((raw / f).is_file() or (raw / f"{f}.gz").is_file() for f in IDX):
        pytest.skip(f"real MNIST not found in {raw} (set GANKIT_DATA_DIR to a folder holding "
                    f"MNIST/raw/*-ubyte[.gz])")
    return SHARED


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("mnist-cache")  # shared so the gunzip happens once


def test_mnist_train_and_test(mnist_root, mnist_cache, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(mnist_cache))
    before = tree(mnist_root)
    train = load_samples(DataConfig(source="mnist", root=str(mnist_root), image_size=28,
                                   download=False))
    assert train.samples.shape == (60000, 1, 28, 28) and train.samples.dtype == torch.uint8
    assert train.labels.shape == (60000,) and train.labels.dtype == torch.int64
    assert train.labels.tolist()[:5] == [5, 0, 4, 1, 9]
    assert set(train.labels.unique().tolist()) == set(range(10)) and train.num_classes == 10
    assert "MNIST train" in train.description and "60000" in train.description
    test = load_samples(DataConfig(source="mnist", root=str(mnist_root), split="test",
                                  image_size=28, download=False))
    assert test.samples.shape == (10000, 1, 28, 28)
    assert test.labels.tolist()[:5] == [7, 2, 1, 0, 4]
    assert tree(mnist_root) == before  # nothing written into the data root


def test_mnist_limit_resize_rgb(mnist_root, mnist_cache, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(mnist_cache))
    data = load_samples(DataConfig(source="mnist", root=str(mnist_root), limit=100,
                                  image_size=16, channels=3))
    assert data.samples.shape == (100, 3, 16, 16)
    assert data.labels.tolist()[:5] == [5, 0, 4, 1, 9]
    assert data.samples.max() > 200 and data.samples.min() == 0
    assert "first 100 of 60000" in data.description


# ---------------------------------------------------------------- fake FashionMNIST

def write_idx(path, array, compress):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                         *array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(f"{path}.gz", "wb") as out:
            out.write(payload)
    else:
        path.write_bytes(payload)


def fake_idx_set(root, name, n_train=12, n_test=5, compress=(True, True, False, False)):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train),
              rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test)]
    for fname, array, gz in zip(IDX, arrays, compress):
        write_idx(root / name / "raw" / fname, array, gz)
    return arrays


@pytest.mark.parametrize("compress", [(True,) * 4, (False,) * 4, (True, True, False, False)])
def test_fake_fashion_mnist(tmp_path, compress):
    root = tmp_path / "root"
    arrays = fake_idx_set(root, "FashionMNIST", compress=compress)
    before = tree(root)
    for split, (images, labels) in {"train": arrays[:2], "test": arrays[2:]}.items():
        data = load_samples(DataConfig(source="fashion-mnist", root=str(root), split=split,
                                      image_size=28, download=False))
        assert torch.equal(data.samples[:, 0], torch.from_numpy(images.astype(np.uint8)))
        assert torch.equal(data.labels, torch.from_numpy(labels.astype(np.int64)))
        assert f"FashionMNIST {split}" in data.description
    assert tree(root) == before
    cached = tree(os.environ["GANKIT_CACHE"])
    assert any(p.endswith("FashionMNIST/raw/train-images-idx3-ubyte") for p in cached) \
        == any(compress)


def test_fake_idx_resized(tmp_path):
    fake_idx_set(tmp_path, "FashionMNIST")
    data = load_samples(DataConfig(source="fashion-mnist", root=str(tmp_path), image_size=8,
                                  download=False))
    assert data.samples.shape == (12, 1, 8, 8)
    assert "resized from 28x28" in data.description


def test_missing_idx_file_without_download(tmp_path):
    fake_idx_set(tmp_path, "MNIST")
    os.remove(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte")
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.*data.root") as info:
        load_samples(DataConfig(source="mnist", root=str(tmp_path), download=False))
    assert "\n" not in str(info.value)


def test_corrupt_gz_and_corrupt_idx(tmp_path):
    fake_idx_set(tmp_path / "a", "MNIST")
    (tmp_path / "a" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(UserError, match="train-images-idx3-ubyte.gz"):
        load_samples(DataConfig(source="mnist", root=str(tmp_path / "a"), download=False))
    fake_idx_set(tmp_path / "b", "MNIST", compress=(False,) * 4)
    (tmp_path / "b" / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\0" * 40)
    with pytest.raises(UserError, match="could not read MNIST") as info:
        load_samples(DataConfig(source="mnist", root=str(tmp_path / "b"), download=False))
    assert "\n" not in str(info.value)


def test_explicit_root_missing(tmp_path):
    with pytest.raises(UserError, match="data folder not found: .*absent"):
        load_samples(DataConfig(source="mnist", root=str(tmp_path / "absent")))


def test_default_root_from_env(tmp_path, monkeypatch):
    fake_idx_set(tmp_path, "MNIST", compress=(False,) * 4)
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path))
    data = load_samples(DataConfig(source="mnist", image_size=28, download=False))
    assert len(data) == 12 and str(tmp_path) in data.description


# ---------------------------------------------------------------- CIFAR-10

def test_cifar10_missing_without_download(tmp_path):
    with pytest.raises(UserError, match="CIFAR-10 not found.*data.download") as info:
        load_samples(DataConfig(source="cifar10", root=str(tmp_path), download=False))
    assert "\n" not in str(info.value)


def test_cifar10_corrupt_folder(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(UserError, match="could not read CIFAR-10"):
        load_samples(DataConfig(source="cifar10", root=str(tmp_path), download=False))


def test_cifar10_from_archive_into_cache(tmp_path, monkeypatch):
    # torchvision checks the real files' MD5s; a fake passes only with those checks off
    monkeypatch.setattr(datasets.CIFAR10, "train_list",
                        [[f"data_batch_{i}", None] for i in range(1, 6)])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", None]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {**datasets.CIFAR10.meta, "md5": None})
    src = tmp_path / "build" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, 3).tolist()}
        batches[name] = entry
        (src / name).write_bytes(pickle.dumps(entry))
    (src / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")
    before = tree(root)
    data = load_samples(DataConfig(source="cifar10", root=str(root), split="test",
                                  image_size=32, channels=3, download=False))
    expected = torch.from_numpy(batches["test_batch"]["data"]).view(3, 3, 32, 32)
    assert torch.equal(data.samples, expected)
    assert data.labels.tolist() == batches["test_batch"]["labels"]
    train = load_samples(DataConfig(source="cifar10", root=str(root), image_size=16,
                                   download=False))
    assert train.samples.shape == (15, 1, 16, 16)
    assert tree(root) == before
