"""Sources "mnist", "fashion-mnist" and "cifar10", read through torchvision.datasets.

The root is ``data.root``, else ``$GANKIT_DATA``, else ``~/.cache/gankit/datasets``, in
torchvision's layout (``ROOT/MNIST/raw``, ``ROOT/FashionMNIST/raw``,
``ROOT/cifar-10-batches-py``).  Roots that hold only the compressed files
(``*-ubyte.gz``, ``cifar-10-python.tar.gz``) are unpacked into gankit's cache, never into
the root itself, so read-only data folders work offline.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.sampleset import SampleSet, cache_dir, conform, count_text, shape_text, take
from gankit.errors import UserError
from gankit.fsutil import atomic_write

IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
LAYOUT_HINT = "set data.root to a folder in torchvision's layout"


def _datasets():
    """torchvision.datasets, imported on first use (torchvision takes seconds to import)."""
    from torchvision import datasets

    return datasets


def data_root(cfg: DataConfig) -> tuple[Path, bool]:
    """The data root and whether the user named it explicitly (``data.root``)."""
    if cfg.root:
        root = Path(cfg.root).expanduser()
        if not root.is_dir():
            raise UserError(f"data folder not found: {root} (data.root)")
        return root.resolve(), True
    env = os.environ.get("GANKIT_DATA")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "gankit" / "datasets"
    return root.resolve(), False


def load_mnist(cfg: DataConfig) -> SampleSet:
    """MNIST (28x28 grey digits, 60000 train / 10000 test) as a SampleSet."""
    return _load_idx(cfg, _datasets().MNIST, "MNIST")


def load_fashion_mnist(cfg: DataConfig) -> SampleSet:
    """Fashion-MNIST (28x28 grey clothes, 60000 train / 10000 test) as a SampleSet."""
    return _load_idx(cfg, _datasets().FashionMNIST, "FashionMNIST")


def load_cifar10(cfg: DataConfig) -> SampleSet:
    """CIFAR-10 (32x32 RGB, 50000 train / 10000 test) as a SampleSet."""
    root, explicit = data_root(cfg)
    cls = _datasets().CIFAR10
    tv_root, download = root, False
    if not (root / cls.base_folder).is_dir():
        archive = root / cls.filename
        if archive.is_file():
            tv_root = _untar_to_cache(archive, root, cls.base_folder)
        elif cfg.download:
            download = True
        else:
            raise UserError(f"CIFAR-10 not found: no {root / cls.base_folder} or {archive}; "
                            f"set data.download=true or {LAYOUT_HINT}")
    ds = _open(cls, tv_root, cfg, download, explicit, "CIFAR-10")
    data = torch.from_numpy(np.asarray(ds.data)).permute(0, 3, 1, 2)
    labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    return _finish(cfg, data, labels, f"CIFAR-10 {cfg.split}", root)


def _load_idx(cfg: DataConfig, cls: type, name: str) -> SampleSet:
    root, explicit = data_root(cfg)
    raw = root / name / "raw"
    processed = root / name / "processed"
    tv_root, download = root, False
    legacy = all((processed / f).is_file() for f in (cls.training_file, cls.test_file))
    if not legacy and not all((raw / f).is_file() for f in IDX_FILES):
        missing = [f for f in IDX_FILES if not (raw / f).is_file() and not (raw / f"{f}.gz").is_file()]
        if not missing:
            tv_root = _gunzip_to_cache(root, name)
        elif cfg.download:
            download = True
        else:
            raise UserError(f"{name} not found: {raw} lacks {missing[0]}[.gz]; set "
                            f"data.download=true or {LAYOUT_HINT} ({name}/raw/*-ubyte[.gz])")
    ds = _open(cls, tv_root, cfg, download, explicit, name)
    data = ds.data.to(torch.uint8).unsqueeze(1)
    labels = ds.targets.to(torch.int64)
    return _finish(cfg, data, labels, f"{name} {cfg.split}", root)


def _open(cls: type, tv_root: Path, cfg: DataConfig, download: bool, explicit: bool, name: str):
    """Construct the torchvision dataset, turning every failure into a one-line UserError."""
    if download and not explicit:
        tv_root.mkdir(parents=True, exist_ok=True)
    try:
        return cls(str(tv_root), train=cfg.split == "train", download=download)
    except Exception as err:  # torchvision raises RuntimeError, URLError, OSError, ...
        first = " ".join(str(err).split())[:200] or type(err).__name__
        if download:
            raise UserError(f"could not download {name} into {tv_root} ({first}); offline? "
                            f"{LAYOUT_HINT}") from None
        raise UserError(f"could not read {name} from {tv_root} ({first}); {LAYOUT_HINT}") from None


def _finish(cfg: DataConfig, data: torch.Tensor, labels: torch.Tensor, title: str,
            root: Path) -> SampleSet:
    total = data.shape[0]
    n = take(cfg.limit, total)
    native = data.shape[-1]
    images = conform(data[:n], cfg.image_size, cfg.channels)
    resized = "" if native == cfg.image_size else f" (resized from {native}x{native})"
    text = f"{title}, {count_text(n, total)} {shape_text(images)}{resized} from {root}"
    return SampleSet(samples=images, labels=labels[:n].clone(), num_classes=10, description=text)


def _cache_root(root: Path) -> Path:
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:16]
    return cache_dir() / "torchvision" / digest


def _gunzip_to_cache(root: Path, name: str) -> Path:
    """Mirror ``root/name/raw`` uncompressed in the cache; return the mirror's root."""
    src = root / name / "raw"
    target = _cache_root(root)
    dst = target / name / "raw"
    for f in IDX_FILES:
        if (dst / f).is_file():
            continue
        source = src / f if (src / f).is_file() else src / f"{f}.gz"
        with atomic_write(dst / f, "wb") as out:
            _copy_uncompressed(source, out)
    return target


def _untar_to_cache(archive: Path, root: Path, folder: str) -> Path:
    """Extract a CIFAR archive into the cache (once); return the folder holding ``folder``."""
    target = _cache_root(root)
    if (target / folder).is_dir():
        return target
    target.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target, prefix=".extract-"))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        if not (scratch / folder).is_dir():
            raise UserError(f"{archive} does not contain {folder}/")
        os.replace(scratch / folder, target / folder)
    except (OSError, tarfile.TarError) as err:
        if (target / folder).is_dir():  # another process unpacked it meanwhile
            return target
        raise UserError(f"cannot unpack {archive}: {err}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _copy_uncompressed(src: Path, out: BinaryIO) -> None:
    """Copy ``src`` into ``out``, decompressing it if it is a .gz file."""
    opener = gzip.open if src.suffix == ".gz" else open
    try:
        with opener(src, "rb") as fin:
            shutil.copyfileobj(fin, out, 1 << 20)
    except (OSError, EOFError) as err:
        verb = "decompress" if src.suffix == ".gz" else "read"
        raise UserError(f"cannot {verb} {src}: {err}") from None
