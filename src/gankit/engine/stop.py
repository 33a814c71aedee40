"""Stopping a run cleanly: Ctrl-C (or SIGTERM) ends training after the current iteration, and
so does a spent time budget (``train.minutes``)."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Optional


class TrainingStopped(Exception):
    """Training was asked to stop; a checkpoint of ``step`` was written first."""

    def __init__(self, run_dir: str, step: int):
        super().__init__(f"stopped at step {step}; continue with: gankit train --resume {run_dir}")
        self.step = step


class StopRequest:
    """While active, the first SIGINT/SIGTERM only sets ``requested``; a second one aborts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class TimeBudget:
    """``minutes`` of training (None: no budget), counted from :meth:`start` on a monotonic clock.
    Asking costs no device synchronisation: the host only reads its clock."""

    def __init__(self, minutes: Optional[float]):
        self.seconds = None if minutes is None else 60.0 * minutes
        self._started: Optional[float] = None

    def start(self) -> "TimeBudget":
        """Start counting now."""
        self._started = time.monotonic()
        return self

    def spent(self) -> bool:
        """Whether the budget has run out."""
        return self.seconds is not None and self._started is not None and \
            time.monotonic() - self._started >= self.seconds
