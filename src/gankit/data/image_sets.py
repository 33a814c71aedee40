"""Images that gankit did not make, to be measured as it measures its own: a folder of image
files (recursively), a zip archive of them, or a NumPy array (``.npy``).

Folders and zips are decoded as the ``folder`` data source decodes them (resized to a square of
``size``, three channels, cached). An array holds (N, C, H, W) or (N, H, W, C) images with C of
1 or 3: uint8 in 0..255, or floats in gankit's model units [-1, 1] (what ``gankit sample --npy``
writes). Everything comes back in model units, float32 (N, 3, H, W).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gankit.errors import UserError

NPY_SUFFIX = ".npy"


def load_image_set(path: Path, size: int, limit: Optional[int] = None) -> tuple[torch.Tensor, str]:
    """The first ``limit`` images at ``path`` (a folder, a zip or an .npy) in model units, and
    what they are in words (for the measurement's protocol)."""
    path = Path(path).expanduser()
    if path.suffix.lower() == NPY_SUFFIX:
        return _from_array(path, limit)
    from gankit.config import DataConfig
    from gankit.data import load_samples, to_model_units

    cfg = DataConfig(source="folder", root=str(path), image_size=size, channels=3, limit=limit, download=False)
    data = load_samples(cfg)
    return to_model_units(torch.as_tensor(data.samples)).float(), data.description


def _from_array(path: Path, limit: Optional[int]) -> tuple[torch.Tensor, str]:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"images not found: {path}") from None
    except (OSError, ValueError) as err:
        raise UserError(f"{path} is not a readable .npy array of images ({err})") from None
    if array.ndim != 4:
        raise UserError(f"{path} holds an array of shape {array.shape}: images are (N, C, H, W) or (N, H, W, C)")
    if array.shape[1] not in (1, 3) and array.shape[3] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.shape[1] not in (1, 3) or array.shape[2] != array.shape[3]:
        raise UserError(f"{path} holds an array of shape {array.shape}: square images of 1 or 3 channels, as "
                        "(N, C, H, W) or (N, H, W, C)")
    count = len(array) if limit is None else min(limit, len(array))
    images = torch.from_numpy(np.array(array[:count]))  # a copy: the map is read-only
    if images.dtype == torch.uint8:
        images = images.float() / 127.5 - 1
    elif images.is_floating_point():
        images = images.float()
        low, high = float(images.min()), float(images.max())
        if low < -1.001 or high > 1.001 or not np.isfinite(low + high):
            raise UserError(f"{path} holds floats in [{low:.3g}, {high:.3g}]: float images must be in [-1, 1] "
                            "(gankit sample --npy), or give uint8 in 0..255")
    else:
        raise UserError(f"{path} holds {images.dtype} values: give uint8 (0..255) or floats in [-1, 1]")
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    shape = "x".join(map(str, images.shape[1:]))
    return images, f"the first {count} of {len(array)} images of the array {path} ({shape})"
