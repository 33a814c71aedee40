"""Run tracking: metrics.jsonl, TensorBoard events, sample grids, loss plots and tables."""

from .grids import make_grid, save_grid
from .metrics_log import MetricsLog, read_metrics
from .plots import plot_losses, write_loss_table
from .tensorboard import TensorBoardLog
from .pictures import save_view

__all__ = ["MetricsLog", "read_metrics", "TensorBoardLog", "make_grid", "save_grid",
           "plot_losses", "write_loss_table", "save_view"]
