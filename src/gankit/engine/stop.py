"""Stopping a run cleanly: Ctrl-C (or SIGTERM) ends training after the current iteration."""

from __future__ import annotations

import signal
import threading
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
