"""Source "folder": every image under ``data.root`` (a folder, recursively, or a zip archive),
sorted by path, decoded once into gankit's image cache (:mod:`gankit.data.image_cache`) and
mapped from there. A set that fits the memory budget (``data.memory_gb``, by default half the
machine's memory) is read into memory; a larger one stays memory-mapped and each batch is read
from the map. With ``data.labels=folders`` the first folder of each path is its class.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from gankit.config import DataConfig
from gankit.data.image_cache import mapped_if_current, packed_images
from gankit.data.image_files import Decoding, ImageFiles, class_folders
from gankit.data.sampleset import SampleSet, cache_dir, count_text, shape_text, take
from gankit.errors import UserError


def image_cache_root(cfg: DataConfig) -> Path:
    """Where decoded images are cached: ``data.cache``, else ``$GANKIT_CACHE/images``."""
    return Path(cfg.cache).expanduser() if cfg.cache else cache_dir() / "images"


def memory_budget(cfg: DataConfig) -> int:
    """Bytes of images that are read into memory (``data.memory_gb``, else half of the machine's)."""
    if cfg.memory_gb is not None:
        return int(cfg.memory_gb * 2**30)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def _files(cfg: DataConfig) -> ImageFiles:
    if not cfg.root:
        raise UserError("data.source=folder needs data.root=<folder or .zip of images>")
    return ImageFiles(Path(cfg.root))


def load(cfg: DataConfig) -> SampleSet:
    """The folder's images as uint8 (N, C, size, size) from the cache, in memory or mapped."""
    files = _files(cfg)
    n = take(cfg.limit, len(files))
    decoding = Decoding(cfg.image_size, cfg.channels)
    labels = cfg.labels == "folders"
    # the first n of the whole folder's entry when it is there, else an entry of the first n alone
    packed = (mapped_if_current(files, decoding, image_cache_root(cfg), labels=labels) if n < len(files) else None) \
        or packed_images(files, decoding, image_cache_root(cfg), labels=labels, count=n)
    packed = packed.first(n)
    streamed = packed.nbytes > memory_budget(cfg)
    images = packed.images if streamed else packed.read()
    kind = "zip archive" if files.zipped else "folder"
    how = "streamed from its cache" if streamed else "from its cache"
    text = f"{kind} {files.root}, {count_text(n, len(files))} {shape_text(images)}, {how}"
    classes = packed.classes
    return SampleSet(samples=images, labels=packed.labels, num_classes=len(classes) if classes else None,
                     description=text, classes=classes, streamed=streamed)


def num_classes(cfg: DataConfig) -> Optional[int]:
    """The classes of a folder with ``labels=folders`` (from the config, else from the folder)."""
    if cfg.labels != "folders":
        return None
    if cfg.classes:
        return len(cfg.classes)
    names = class_folders(Path(cfg.root)) if cfg.root else None
    return len(names) if names else None
