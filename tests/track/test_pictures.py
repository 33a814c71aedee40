"""Pictures of samples for each kind of data."""

import pytest
import torch
from PIL import Image

from gankit.track.pictures import plot_extent, save_view


def test_images_become_a_grid_with_the_requested_rows(tmp_path):
    picture = save_view("images", torch.zeros(6, 1, 16, 16), tmp_path / "g.png", nrow=3)
    assert Image.open(tmp_path / "g.png").size == (3 * 34 + 2, 2 * 34 + 2)
    assert picture.shape == (3, 2 * 34 + 2, 3 * 34 + 2)


def test_sequences_become_plots_with_real_ones_on_top(tmp_path):
    t = torch.linspace(0, 6.28, 32)
    fake, real = torch.sin(t).repeat(12, 1, 1), torch.cos(t).repeat(6, 1, 1)
    picture = save_view("sequences", fake, tmp_path / "s.png", reference=real)
    image = Image.open(tmp_path / "s.png")
    assert image.size[0] > 400 and picture.shape[0] == 3
    assert picture.shape[1:] == (image.size[1], image.size[0])


def test_points_are_drawn_over_d_as_a_heat_map(tmp_path):
    calls = []

    def score(points):
        calls.append(points.shape)
        return torch.sigmoid(points[:, 0])

    save_view("points", torch.randn(100, 2), tmp_path / "p.png", reference=torch.randn(50, 2), score_fn=score)
    assert calls and calls[0][1] == 2 and calls[0][0] >= 100 * 100
    without = save_view("points", torch.randn(100, 2), tmp_path / "q.png")
    assert without.shape[0] == 3


def test_plot_extent_is_a_square_around_the_points():
    x0, x1, y0, y1 = plot_extent(torch.tensor([[0.0, 0.0], [2.0, 1.0]]), margin=0.0)
    assert (x1 - x0) == pytest.approx(y1 - y0) and x0 <= 0 and x1 >= 2 and y0 <= 0 and y1 >= 1


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        save_view("audio", torch.zeros(1, 2), "x.png")
