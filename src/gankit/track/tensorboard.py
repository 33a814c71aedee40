"""TensorBoard event files written straight into the run directory."""

from __future__ import annotations

import os
from pathlib import Path

from gankit import quantities

from ._util import as_float


class TensorBoardLog:
    """Thin wrapper over ``torch.utils.tensorboard.SummaryWriter`` with events in ``run_dir`` itself."""

    def __init__(self, run_dir: str | os.PathLike, purge_step: int | None = None):
        """Create ``run_dir`` if needed and open a SummaryWriter on it.

        ``purge_step``: a resumed run hides events logged after its checkpoint from TensorBoard.
        """
        from torch.utils.tensorboard import SummaryWriter  # imported lazily: slow import

        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=purge_step)

    def scalars(self, step: int, record: dict) -> None:
        """Write every numeric value of ``record`` except ``step`` as a scalar tagged with the chart
        its quantity is drawn on: ``losses/d_real``, ``outputs/d_x``, ``evaluation/image_fd``
        (``train/<key>`` for one drawn on none). Non-numeric values (strings, bools, lists, None)
        are skipped.
        """
        for key, value in record.items():
            if key == "step":
                continue
            number = as_float(value)
            if number is not None:
                quantity = quantities.describe(key)
                self.writer.add_scalar(f"{quantity.chart or 'train'}/{quantity.key}", number, global_step=int(step))

    def image(self, tag: str, grid, step: int) -> None:
        """Write an image: ``grid`` is a CHW float tensor in [0, 1] (e.g. from ``make_grid``)."""
        self.writer.add_image(tag, grid.detach().cpu().float().clamp(0, 1), global_step=int(step), dataformats="CHW")

    def text(self, tag: str, text: str, step: int) -> None:
        """Write a sentence (a health warning) under ``tag``."""
        self.writer.add_text(tag, text, global_step=int(step))

    def flush(self) -> None:
        """Flush pending events to disk."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()

    def __enter__(self) -> "TensorBoardLog":
        """Use as a context manager that closes the writer on exit."""
        return self

    def __exit__(self, *exc) -> None:
        """Close the writer."""
        self.close()
