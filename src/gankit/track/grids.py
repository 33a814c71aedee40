"""Sample grids: images in [-1, 1] tiled into one picture, enlarged when tiny, saved atomically as PNG."""

from __future__ import annotations

import math
import os

import torch

from gankit.fsutil import atomic_write

MIN_CELL = 32
PADDING = 2


def make_grid(images: torch.Tensor, nrow: int | None = None, *, padding: int = PADDING,
              min_cell: int = MIN_CELL) -> torch.Tensor:
    """Tile ``images`` (N, C, H, W) with values in [-1, 1] into a 3xHxW float grid in [0, 1].

    ``nrow`` is the number of images per row (default ``ceil(sqrt(N))``). Images smaller than
    ``min_cell`` pixels are enlarged by the integer factor ``ceil(min_cell / min(H, W))`` with
    nearest-neighbour repetition (16x16 -> 32x32, 28x28 -> 56x56, 64x64 unchanged). Cells are
    separated by ``padding`` black pixels; one-channel images come back as three equal channels.
    """
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"make_grid wants a non-empty (N, C, H, W) tensor, got shape {tuple(images.shape)}")
    x = images.detach().to("cpu", torch.float32)
    x = ((x.clamp(-1, 1) + 1) / 2).clamp(0, 1)
    n, _, h, w = x.shape
    factor = max(1, math.ceil(min_cell / min(h, w)))
    if factor > 1:
        x = x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    if nrow < 1:
        raise ValueError(f"nrow must be at least 1, got {nrow}")
    if n == 1:
        # torchvision returns a lone image unpadded; pad it like every other cell instead
        x = torch.nn.functional.pad(x, (padding,) * 4, value=0.0)[0]
        return x.expand(3, -1, -1).contiguous() if x.shape[0] == 1 else x
    import torchvision.utils as vutils  # imported here: torchvision takes seconds to import

    return vutils.make_grid(x, nrow=nrow, padding=padding, pad_value=0.0)


def grid_to_uint8(grid: torch.Tensor) -> torch.Tensor:
    """Convert a CHW float grid in [0, 1] to an HWC uint8 tensor (0 -> 0, 1 -> 255, rounded)."""
    return grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous()


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> torch.Tensor:
    """Write ``make_grid(images, nrow)`` to ``path`` as PNG atomically and return the grid (for TensorBoard).

    Parent folders are created; the PNG is written to a temporary file in the same folder
    and moved into place with ``os.replace``.
    """
    from PIL import Image

    grid = make_grid(images, nrow=nrow)
    pixels = grid_to_uint8(grid).numpy()
    with atomic_write(path, "wb") as fh:
        Image.fromarray(pixels).save(fh, format="PNG")
    return grid
