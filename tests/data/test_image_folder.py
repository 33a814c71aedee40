"""Source "folder": decoding, resizing, cropping, ordering and its errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import load_samples
from gankit.errors import UserError


def folder_cfg(root, **kw):
    return DataConfig(source="folder", root=str(root), **kw)


def save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(path)


def test_grey_rgb_nested_non_square(tmp_path):
    # wide RGB image: left third red, middle green, right third blue -> crop keeps green
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, :20, 0] = 255
    wide[:, 20:40, 1] = 255
    wide[:, 40:, 2] = 255
    save(tmp_path / "b" / "deep" / "wide.PNG", wide)
    save(tmp_path / "a.bmp", np.full((30, 10), 200))  # tall grey
    save(tmp_path / "c.jpg", np.full((16, 16, 3), 90))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"junk")

    rgb = load_samples(folder_cfg(tmp_path, image_size=8, channels=3))
    assert rgb.samples.shape == (3, 3, 8, 8) and rgb.samples.dtype == torch.uint8
    assert rgb.labels is None and rgb.num_classes is None
    a, wide_img, c = rgb.samples  # sorted by path: a.bmp, b/deep/wide.PNG, c.jpg
    assert (a.int() - 200).abs().max() <= 1 and torch.equal(a[0], a[1])
    centre = wide_img[:, 2:6, 2:6].float().mean(dim=(1, 2))
    assert centre[1] > 250 and centre[0] < 5 and centre[2] < 5
    assert (c.int() - 90).abs().max() <= 3

    grey = load_samples(folder_cfg(tmp_path, image_size=8, channels=1))
    assert grey.samples.shape == (3, 1, 8, 8)
    assert "3 images" in grey.description and str(tmp_path) in grey.description


def test_limit_and_upscale(tmp_path):
    for i in range(5):
        save(tmp_path / f"img{i}.png", np.full((6, 9), i * 40))
    data = load_samples(folder_cfg(tmp_path, image_size=12, limit=2))
    assert data.samples.shape == (2, 1, 12, 12)
    assert data.samples[0].max() == 0 and data.samples[1].min() == 40


def test_corrupt_file_is_named(tmp_path):
    save(tmp_path / "good.png", np.zeros((8, 8)))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    with pytest.raises(UserError) as info:
        load_samples(folder_cfg(tmp_path))
    message = str(info.value)
    assert "broken.jpg" in message and "\n" not in message


def test_empty_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(UserError, match="no image files found"):
        load_samples(folder_cfg(tmp_path))


def test_missing_folder(tmp_path):
    with pytest.raises(UserError, match="data folder not found: .*nope"):
        load_samples(folder_cfg(tmp_path / "nope"))


def test_root_not_set():
    with pytest.raises(UserError, match="data.root"):
        load_samples(DataConfig(source="folder"))
