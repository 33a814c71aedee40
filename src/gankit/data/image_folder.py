"""Source "folder": every image file under ``data.root``, recursively, sorted by path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data.sampleset import SampleSet, count_text, shape_text, take
from gankit.errors import UserError

EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".gif", ".tif",
                        ".tiff", ".webp"})


def find_images(root: Path) -> list[Path]:
    """Image files under ``root`` (by extension, any case), sorted; hidden ones are skipped."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if path.suffix.lower() in EXTENSIONS and not any(p.startswith(".") for p in rel) \
                and path.is_file():
            found.append(path)
    return sorted(found)


def load(cfg: DataConfig) -> SampleSet:
    """Decode, resize (shorter side) and center-crop every image to a uint8 SampleSet."""
    if not cfg.root:
        raise UserError("data.source=folder needs data.root=<folder of images>")
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise UserError(f"data folder not found: {root} (data.root)")
    files = find_images(root)
    if not files:
        raise UserError(f"no image files found under {root} "
                        f"(looked for {', '.join(sorted(e[1:] for e in EXTENSIONS))})")
    n = take(cfg.limit, len(files))
    mode = "L" if cfg.channels == 1 else "RGB"
    images = torch.stack([decode(path, mode, cfg.image_size) for path in files[:n]])
    text = f"folder {root}, {count_text(n, len(files))} {shape_text(images)}"
    return SampleSet(samples=images, labels=None, num_classes=None, description=text)


def decode(path: Path, mode: str, size: int) -> torch.Tensor:
    """One image file as uint8 (C, size, size): shorter side resized, then center-cropped."""
    try:
        with Image.open(path) as img:
            img = img.convert(mode)
            w, h = img.size
            scale = size / min(w, h)
            new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
            left, top = (new_w - size) // 2, (new_h - size) // 2
            img = img.crop((left, top, left + size, top + size))
            array = np.asarray(img, dtype=np.uint8)
    except Exception as err:  # PIL raises many kinds (UnidentifiedImageError, OSError, ...)
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise UserError(f"cannot decode image file {path}: {reason}") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()
