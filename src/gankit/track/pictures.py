"""Pictures of samples, one per kind of data: image grids, sequence plots, point scatters.

Every view is written atomically as PNG and returned as a CHW float tensor in [0, 1] for
TensorBoard. Point scatters draw D's output as a heat map behind the samples.
"""

from __future__ import annotations

import io
import math
import os
from typing import Callable, Optional

import numpy as np
import torch

from gankit.fsutil import atomic_write
from gankit.track.grids import save_grid

ScoreFn = Callable[[torch.Tensor], torch.Tensor]  # points (M, 2) -> D's output (M,), as shown
SEQUENCES_SHOWN = 12  # generated sequences per plot, below one row of real ones
HEAT_RESOLUTION = 120


def save_view(kind: str, samples: torch.Tensor, path: str | os.PathLike, *, nrow: Optional[int] = None,
              reference: Optional[torch.Tensor] = None, score_fn: Optional[ScoreFn] = None,
              score_label: str = "D output") -> torch.Tensor:
    """Draw ``samples`` of ``kind`` (images, sequences, points) to ``path`` and return the picture.

    ``reference`` holds real samples drawn beside or under the generated ones; ``score_fn``
    gives D's output for the heat map behind points.
    """
    if kind == "images":
        return save_grid(samples, path, nrow=nrow)
    if kind == "sequences":
        return save_sequence_plot(samples, path, reference=reference)
    if kind == "points":
        return save_scatter(samples, path, reference=reference, score_fn=score_fn, score_label=score_label)
    raise ValueError(f"no view for samples of kind {kind!r}")


def _save_figure(fig, path: str | os.PathLike) -> torch.Tensor:
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    buffer.seek(0)
    pixels = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def save_sequence_plot(samples: torch.Tensor, path: str | os.PathLike, *,
                       reference: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Small multiples of sequences (N, C, L): a top row of real ones (grey), then generated ones."""
    from matplotlib.figure import Figure

    fake = samples.detach().float().cpu()[:SEQUENCES_SHOWN]
    real = None if reference is None else reference.detach().float().cpu()
    cols = min(6, max(len(fake), 1))
    fake_rows = math.ceil(len(fake) / cols)
    rows = fake_rows + (1 if real is not None else 0)
    fig = Figure(figsize=(2.2 * cols, 1.6 * rows + 0.4), dpi=90, layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False))
    for ax in axes.flat:
        ax.set_axis_off()
    start = 0
    if real is not None:
        for i, sequence in enumerate(real[:cols]):
            _draw_sequence(axes.flat[i], sequence, "0.4", "real" if i == 0 else None)
        start = cols
    for i, sequence in enumerate(fake):
        _draw_sequence(axes.flat[start + i], sequence, "tab:orange", "generated" if i == 0 else None)
    fig.suptitle("real (grey, top row) and generated (orange) sequences")
    return _save_figure(fig, path)


def _draw_sequence(ax, sequence: torch.Tensor, color: str, title: Optional[str]) -> None:
    ax.set_axis_on()
    for channel in sequence:
        ax.plot(channel.numpy(), color=color, linewidth=1.2)
    ax.set_ylim(-1.1, 1.1)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)


def plot_extent(points: torch.Tensor, margin: float = 0.25) -> tuple[float, float, float, float]:
    """A square window (x0, x1, y0, y1) around ``points`` with a margin of ``margin`` x its span."""
    low, high = points.min(0).values, points.max(0).values
    centre = (low + high) / 2
    half = float((high - low).max()) / 2 * (1 + margin) + 1e-3
    return (float(centre[0]) - half, float(centre[0]) + half, float(centre[1]) - half, float(centre[1]) + half)


def save_scatter(samples: torch.Tensor, path: str | os.PathLike, *, reference: Optional[torch.Tensor] = None,
                 score_fn: Optional[ScoreFn] = None, score_label: str = "D output") -> torch.Tensor:
    """Generated points (orange) over real points (black) over a heat map of D's output."""
    from matplotlib.figure import Figure

    fake = samples.detach().float().cpu()
    real = None if reference is None else reference.detach().float().cpu()
    window = plot_extent(real if real is not None else fake)
    fig = Figure(figsize=(6, 5.2), dpi=90, layout="constrained")
    ax = fig.subplots()
    if score_fn is not None:
        xs = torch.linspace(window[0], window[1], HEAT_RESOLUTION)
        ys = torch.linspace(window[2], window[3], HEAT_RESOLUTION)
        grid = torch.cartesian_prod(ys, xs).flip(1)  # (x, y) pairs, row-major in y
        heat = score_fn(grid).detach().float().cpu().view(HEAT_RESOLUTION, HEAT_RESOLUTION)
        image = ax.imshow(heat.numpy(), origin="lower", extent=window, cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label=score_label)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, c="black", alpha=0.5, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:orange", alpha=0.7, label="generated")
    ax.set_xlim(window[0], window[1])
    ax.set_ylim(window[2], window[3])
    ax.legend(loc="upper right", fontsize=8)
    return _save_figure(fig, path)
