import numpy as np
import pytest
import torch
from PIL import Image

from gankit.track import make_grid, save_grid


@pytest.mark.parametrize("n,size,nrow,exp_w,exp_h", [
    (64, 16, None, 8 * 34 + 2, 8 * 34 + 2),   # factor 2 -> 32 px cells, 8x8
    (10, 28, None, 4 * 58 + 2, 3 * 58 + 2),   # factor 2 -> 56 px, 4 per row, 3 rows
    (9, 64, None, 3 * 66 + 2, 3 * 66 + 2),    # factor 1
    (20, 8, 10, 10 * 34 + 2, 2 * 34 + 2),     # factor 4, one row per class
])
def test_grid_size(n, size, nrow, exp_w, exp_h):
    grid = make_grid(torch.zeros(n, 1, size, size), nrow=nrow)
    assert grid.shape == (3, exp_h, exp_w)
    assert grid.dtype == torch.float32


def test_grid_values_and_nearest_enlargement():
    img = torch.tensor([[-1.0, 1.0], [0.0, -1.0]]).view(1, 1, 2, 2)
    grid = make_grid(img)  # factor 16 -> 32x32 cell
    assert grid.shape == (3, 36, 36)
    cell = grid[0, 2:34, 2:34]
    assert torch.all(cell[:16, :16] == 0) and torch.all(cell[:16, 16:] == 1)
    assert torch.all(cell[16:, :16] == 0.5) and torch.all(cell[16:, 16:] == 0)
    assert grid.min() >= 0 and grid.max() <= 1


def test_save_grid_png_pixels_and_atomic(tmp_path):
    images = torch.ones(4, 3, 16, 16)
    images[0] = -1.0
    images[3, 0] = -1.0  # cyan
    path = tmp_path / "samples" / "step_000200.png"
    grid = save_grid(images, path)
    assert grid.shape == (3, 70, 70)
    png = np.asarray(Image.open(path))
    assert png.shape == (70, 70, 3) and png.dtype == np.uint8
    assert (png[2:34, 2:34] == 0).all()           # image 0: -1 -> 0
    assert (png[2:34, 36:68] == 255).all()        # image 1: 1 -> 255
    assert (png[36:68, 36:68] == [0, 255, 255]).all()
    assert (png[0:2] == 0).all() and (png[:, 34:36] == 0).all()  # padding
    assert [p.name for p in path.parent.iterdir()] == ["step_000200.png"]


def test_save_grid_failure_leaves_no_temp(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PILImage.Image, "save", boom)
    with pytest.raises(RuntimeError):
        save_grid(torch.zeros(1, 1, 8, 8), tmp_path / "g.png")
    assert list(tmp_path.iterdir()) == []


def test_bad_shape():
    with pytest.raises(ValueError):
        make_grid(torch.zeros(0, 1, 8, 8))
    with pytest.raises(ValueError):
        make_grid(torch.zeros(8, 8))
