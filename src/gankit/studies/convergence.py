"""When a loss curve settles, and how much it moves once it has.

A GAN's losses do not fall to a minimum: they travel to a level and then fluctuate around it.
Convergence here means reaching that level for good:

* the curve is smoothed by a trailing moving average over ``window`` logged values
  (``max(3, n // 20)`` of the n logs);
* its final level is the mean of the raw values over the last quarter of the run, its
  band the larger of 2 standard deviations of the smoothed curve over that quarter and 5% of the
  smoothed curve's whole range;
* the settling step is the first logged step from which the smoothed curve stays inside the
  band around the final level until the end.

Stability is read from the raw logged values from the settling step on: the spread (standard
deviation) and the swing (mean absolute change from one log to the next). Both are in the
loss's own units; the swing is large when the curve oscillates from log to log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

TAIL = 0.25
BAND_STDS = 2.0
BAND_RANGE_SHARE = 0.05


@dataclass(frozen=True)
class Settling:
    """Where a curve settled and how it behaved afterwards."""

    step: Optional[float]  # None: the curve holds non-finite values
    level: float
    band: float
    spread: float
    swing: float


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average: point i is the mean of values[max(0, i-window+1) .. i]."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    start = np.maximum(0, idx - window)
    return (sums[idx] - sums[start]) / (idx - start)


def default_window(count: int) -> int:
    """The smoothing window for a curve of ``count`` logged values."""
    return max(3, count // 20)


def settling(steps: Sequence[float], values: Sequence[float], window: Optional[int] = None) -> Settling:
    """When the curve ``values`` (logged at ``steps``) settles, and its spread and swing after."""
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 4 or not np.isfinite(y).all():
        return Settling(None, math.nan, math.nan, math.nan, math.nan)
    smoothed = smooth(y, window or default_window(len(y)))
    tail = max(2, int(math.ceil(len(y) * TAIL)))
    level = float(y[-tail:].mean())
    band = max(BAND_STDS * float(smoothed[-tail:].std()), BAND_RANGE_SHARE * float(np.ptp(smoothed)), 1e-12)
    outside = np.nonzero(np.abs(smoothed - level) > band)[0]
    first = 0 if len(outside) == 0 else int(outside[-1]) + 1
    first = min(first, len(y) - 1)
    after = y[first:]
    swing = float(np.abs(np.diff(after)).mean()) if len(after) > 1 else 0.0
    return Settling(float(x[first]), level, band, float(after.std()), swing)
