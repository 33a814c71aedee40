"""The run's ``metrics.jsonl``: one JSON object per logged training step."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from gankit import faults
from gankit.errors import machine_error
from gankit.fsutil import atomic_write, make_folder
from gankit.rundir import RunDir, parse_metrics

from ._util import as_float



def _jsonable(value):
    """``json.dumps`` fallback: numpy/torch scalars become numbers, arrays become lists."""
    number = as_float(value)
    if number is not None:
        item = value.item() if callable(getattr(value, "item", None)) else number
        return item if isinstance(item, int) and not isinstance(item, bool) else strict(number)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"metrics value of type {type(value).__name__} is not JSON serialisable")


def strict(value):
    """``value`` with every NaN or infinite float (in dicts and lists too) replaced by None, so
    that the line is strict JSON (``null``), readable by any JSON reader."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """Every row of ``run_dir/metrics.jsonl`` in file order ([] without the file; a partial last
    line from a crash is skipped; a corrupt line elsewhere raises ``ValueError``)."""
    return RunDir(run_dir).records()


class MetricsLog:
    """Appends metrics records to ``run_dir/metrics.jsonl``, one strict-JSON line each (NaN and
    infinities written as ``null``), flushed at once."""

    def __init__(self, run_dir: str | os.PathLike):
        """Log into ``run_dir`` (created if missing); nothing is opened until the first append."""
        self.run_dir = Path(run_dir)
        self.path = RunDir(self.run_dir).metrics
        self._fh = None

    def _open(self):
        """Open for appending, first cutting off a partial final line left by a crash."""
        make_folder(self.run_dir)
        # O_NOFOLLOW: a link planted in a shared run folder is never written through
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0) if size else b""
            if data and not data.endswith(b"\n"):
                os.ftruncate(fd, data.rfind(b"\n") + 1)
            self._fh = open(fd, "a", encoding="utf-8", newline="\n")
        except BaseException:
            os.close(fd)
            raise
        return self._fh

    def append(self, record: dict) -> None:
        """Append ``record`` (a dict with an integer ``step``) as one JSON line and flush it."""
        if not isinstance(record, dict):
            raise TypeError("a metrics record must be a dict")
        step = record.get("step")
        if isinstance(step, bool) or as_float(step) is None or float(step) != int(step):
            raise ValueError(f"a metrics record needs an integer 'step', got {step!r}")
        line = json.dumps(strict(record), default=_jsonable, allow_nan=False)
        try:
            fh = self._fh or self._open()
            faults.crash_halfway_line(self.path.name, fh, line + "\n")
            fh.write(line + "\n")
            fh.flush()
        except OSError as err:
            raise machine_error(err, "write", self.path) from None

    def truncate_after(self, step: int) -> int:
        """Atomically rewrite the log keeping only records with ``step <= step``; return how many were kept.

        Used when a run resumes from a checkpoint older than the last logged lines.
        Kept lines are copied byte for byte; records without a step are kept.
        """
        self.close()
        run = RunDir(self.run_dir)
        try:
            text = run.read_text(self.path)
        except FileNotFoundError:
            return 0
        kept = []
        for line, record in parse_metrics(text):
            rstep = as_float(record.get("step"))
            if rstep is None or rstep <= step:
                kept.append(line)
        with atomic_write(self.path, "w") as fh:
            fh.write("".join(line + "\n" for line in kept))
        return len(kept)

    def close(self) -> None:
        """Close the file handle (a later append reopens it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "MetricsLog":
        """Use as a context manager that closes the log on exit."""
        return self

    def __exit__(self, *exc) -> None:
        """Close the log."""
        self.close()
