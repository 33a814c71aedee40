"""One run directory: where each of its files lies and how each is read (nothing here writes).

:class:`RunDir` answers for the engine, the API, the report, the web lab, the studies and export
alike: the config as plain data, the metrics rows, the health events, the sample grids, the
kept checkpoints' steps, the exported generator's step, the evaluation results, the loss table
and the run's status. No torch: the exported generator's step is read from the safetensors
header.

Every read walks from an anchor folder (the run folder itself, or the runs folder a server
shows) one name at a time and follows no link (:func:`gankit.fsutil.open_below`): a link that
another account planted in a shared run folder reads as a missing file, never as the file it
points to.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from gankit.errors import UserError
from gankit.fsutil import list_below, open_below, read_below, stat_below
from gankit.rundir import names

CONFIG_LIMIT = 1 << 20  # bytes of config.yaml read at most: gankit writes a few KiB


def number(value: Any) -> Optional[float]:
    """``value`` as a float when it is a real number (NaN and infinities included), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def finite(value: Any) -> Optional[float]:
    """``value`` as a float when it is a finite number, else None (null, NaN, ±Infinity, text)."""
    x = number(value)
    return x if x is not None and math.isfinite(x) else None


@dataclass(frozen=True)
class Measurement:
    """One evaluation number and how it was measured (eval/step_NNNNNN.json, or the eval_*
    values of metrics.jsonl): ``out_of`` for counts (modes), ``step`` and ``source`` where read."""

    name: str
    value: Optional[float]
    protocol: str = ""
    out_of: Optional[int] = None
    step: Optional[int] = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """As an eval file holds it."""
        return {"name": self.name, "value": self.value, "protocol": self.protocol, "out_of": self.out_of}


@dataclass(frozen=True)
class Grid:
    """One sample picture of a run, at a training step."""

    step: int
    path: Path


@dataclass
class LossTable:
    """The losses at the grid steps: column keys, one dict per row, and where they were read."""

    columns: list[str]
    rows: list[dict[str, Optional[float]]]
    source: str


def parse_metrics(text: str) -> list[tuple[str, dict]]:
    """metrics.jsonl text as ``(line, record)`` pairs, blank lines skipped. A last line that does
    not parse (a write cut short by a kill) is dropped; one anywhere else is a ValueError."""
    lines = text.split("\n")
    out: list[tuple[str, dict]] = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if i == last:
                break
            raise ValueError(f"{names.METRICS} line {i + 1} is corrupt: {exc}") from None
        out.append((line, record))
    return out


def weights_label(averaged: bool, has_average: bool) -> str:
    """Which weights of G a file holds, as generator.safetensors and exported models say it:
    "ema" (the moving average of G's weights), "raw" (G itself, in a run that keeps an average),
    or "trained" (G, in a run without one)."""
    return "ema" if averaged else ("raw" if has_average else "trained")


def health_events(records: Sequence[dict]) -> list[tuple[int, dict]]:
    """The health events logged in metrics rows (warnings, divergence), with their steps."""
    return [(record.get("step"), event) for record in records for event in record.get("events") or ()
            if isinstance(event, dict)]


def is_diverged(records: Sequence[dict]) -> bool:
    """Whether the last logged row ends the run as diverged."""
    return bool(records) and any(event.get("kind") == "diverged" for _, event in health_events(records[-1:]))


class RunDir:
    """The files of one run directory (``RunDir(path)``; nothing is read until asked).
    ``anchor``: the folder that reads start from and never leave (default: the run folder);
    below it no link is followed, the run folder's own name included."""

    def __init__(self, path: os.PathLike | str, anchor: os.PathLike | str | None = None):
        self.path = Path(path)
        self.anchor = Path(anchor) if anchor is not None else self.path

    def __repr__(self) -> str:
        return f"RunDir('{self.path}')"

    # ---- where things are ----
    @property
    def name(self) -> str:
        """The run's name: its folder's."""
        return self.path.name

    @property
    def config(self) -> Path:
        """config.yaml"""
        return self.path / names.CONFIG

    @property
    def metrics(self) -> Path:
        """metrics.jsonl"""
        return self.path / names.METRICS

    @property
    def samples(self) -> Path:
        """The folder of the sample pictures."""
        return self.path / names.SAMPLES

    def grid(self, step: int) -> Path:
        """The sample picture of ``step``."""
        return self.samples / names.step_file(step, ".png")

    @property
    def checkpoints(self) -> Path:
        """The folder of the checkpoints."""
        return self.path / names.CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        """checkpoints/last.pt"""
        return self.checkpoints / names.LAST_CHECKPOINT

    def kept_checkpoint(self, step: int) -> Path:
        """A checkpoint kept with train.keep_checkpoints > 1."""
        return self.checkpoints / names.step_file(step, ".pt")

    @property
    def generator(self) -> Path:
        """generator.safetensors"""
        return self.path / names.GENERATOR

    @property
    def evaluations(self) -> Path:
        """The folder of the eval files."""
        return self.path / names.EVAL

    def eval_file(self, step: int) -> Path:
        """What gankit eval measured at ``step``."""
        return self.evaluations / names.step_file(step, ".json")

    @property
    def loss_curve(self) -> Path:
        """loss_curve.png"""
        return self.path / names.LOSS_CURVE

    @property
    def loss_table_md(self) -> Path:
        """loss_table.md"""
        return self.path / names.LOSS_TABLE_MD

    @property
    def loss_table_csv(self) -> Path:
        """loss_table.csv"""
        return self.path / names.LOSS_TABLE_CSV

    @property
    def report(self) -> Path:
        """report.html"""
        return self.path / names.REPORT

    @property
    def lock(self) -> Path:
        """.lock"""
        return self.path / names.LOCK

    def tensorboard_files(self) -> list[Path]:
        """The TensorBoard event files."""
        return sorted(self.path.glob(names.TENSORBOARD))

    # ---- reading, without following links ----
    def open(self, path: Path):
        """``path`` (one of this run's files) opened for binary reading from the anchor without
        following a link (a link or special file: FileNotFoundError)."""
        return open_below(self.anchor, path)

    def read_bytes(self, path: Path, limit: Optional[int] = None) -> bytes:
        """The bytes of one of this run's files (``limit``: larger is a ValueError)."""
        return read_below(self.anchor, path, limit)

    def read_text(self, path: Path, errors: str = "strict") -> str:
        """One of this run's files as UTF-8 text."""
        return self.read_bytes(path).decode("utf-8", errors=errors)

    def stat(self, path: Path) -> os.stat_result:
        """The status of one of this run's files (a link: FileNotFoundError)."""
        return stat_below(self.anchor, path)

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` is a regular file of this run (not a link)."""
        try:
            return stat.S_ISREG(self.stat(path).st_mode)
        except OSError:
            return False

    def listing(self, folder: Path) -> list[str]:
        """The names of the regular files in one of this run's folders ([] when missing)."""
        return list_below(self.anchor, folder)

    # ---- what is there ----
    def exists(self) -> bool:
        """Whether this is a run directory (it has a config.yaml)."""
        return self.is_file(self.config)

    def has_weights(self) -> bool:
        """Whether there are weights to sample from (the exported generator or a checkpoint)."""
        return self.is_file(self.generator) or self.is_file(self.last_checkpoint)

    def config_text(self) -> str:
        """config.yaml as text (a UserError when this is no run directory or it cannot be read)."""
        try:
            return self.read_bytes(self.config, CONFIG_LIMIT).decode("utf-8")
        except FileNotFoundError:
            raise UserError(f"{self.path} is not a gankit run directory (no {names.CONFIG})") from None
        except (ValueError, UnicodeDecodeError) as err:
            raise UserError(f"{self.config} cannot be read: {err}") from None

    def config_data(self) -> dict:
        """config.yaml as plain data (a UserError when it is missing or not a mapping)."""
        text = self.config_text()
        try:
            data = yaml.safe_load(text)
        except RecursionError:
            raise UserError(f"{self.config} is nested too deeply") from None
        except yaml.YAMLError as err:
            raise UserError(f"{self.config} is not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise UserError(f"{self.config} must be a mapping of keys to values")
        return data

    def records(self) -> list[dict]:
        """The rows of metrics.jsonl in file order ([] before the first; a row cut short by a kill
        is left out; a corrupt row elsewhere is a ValueError)."""
        try:
            text = self.read_text(self.metrics)
        except FileNotFoundError:
            return []
        return [record for _, record in parse_metrics(text)]

    def readable_records(self) -> tuple[list[dict], int]:
        """Every row of metrics.jsonl that can be read (with a step), and how many lines could
        not be: for readers that show what is there rather than refuse."""
        records, bad = [], 0
        try:
            text = self.read_text(self.metrics, errors="replace")
        except OSError:
            return [], 1
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(record, dict) and finite(record.get("step")) is not None:
                records.append(record)
            else:
                bad += 1
        return records, bad

    def grids(self) -> dict[int, Path]:
        """The sample pictures by step, in step order."""
        found = self.listing(self.samples)
        steps = {step: self.samples / name for name in found if (step := names.step_of(name, ".png")) is not None}
        return dict(sorted(steps.items()))

    def kept_checkpoints(self) -> list[Path]:
        """The kept checkpoints (checkpoints/step_NNNNNN.pt), oldest first."""
        found = self.listing(self.checkpoints)
        steps = sorted(step for name in found if (step := names.step_of(name, ".pt")) is not None)
        return [self.kept_checkpoint(step) for step in steps]

    def exported_step(self) -> Optional[int]:
        """The training step recorded in generator.safetensors (None when there is none; a
        UserError when it cannot be read)."""
        try:
            with self.open(self.generator) as handle:
                size = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(size))
            return int((header.get("__metadata__") or {}).get("step", 0))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, AttributeError, MemoryError, RecursionError):
            raise UserError(f"generator weights {self.generator} are corrupt") from None

    def eval_results(self, problems: Optional[list[str]] = None) -> list[Measurement]:
        """The measurements of every eval file, oldest first; a file that cannot be read is
        left out (and named in ``problems`` when given)."""
        found = sorted(self.listing(self.evaluations))
        results = []
        for name in found:
            step = names.step_of(name, ".json")
            if step is None:
                continue
            try:
                payload = json.loads(self.read_text(self.evaluations / name))
                step = int(payload.get("step", step))
                for m in payload["measurements"]:
                    out_of = number(m.get("out_of"))
                    results.append(Measurement(str(m["name"]), number(m.get("value")), str(m.get("protocol") or ""),
                                               int(out_of) if out_of is not None else None, step,
                                               f"{names.EVAL}/{name}"))
            except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
                if problems is not None:
                    problems.append(f"{names.EVAL}/{name} could not be read")
        return results

    def loss_table(self) -> Optional[LossTable]:
        """loss_table.csv (None when there is none or it cannot be read); blank or odd cells are None."""
        try:
            rows = list(csv.reader(io.StringIO(self.read_text(self.loss_table_csv), newline="")))
        except (OSError, csv.Error, UnicodeDecodeError):
            return None
        if not rows or "step" not in rows[0]:
            return None
        columns = [c.strip() for c in rows[0]]
        table = []
        for row in rows[1:]:
            cells: dict[str, Optional[float]] = {}
            for key, text in zip(columns, row):
                try:
                    cells[key] = float(text)
                except ValueError:
                    cells[key] = None
            if cells.get("step") is not None:
                table.append(cells)
        return LossTable(columns, table, names.LOSS_TABLE_CSV)

    def status(self, steps: int, records: Optional[Sequence[dict]] = None, exported: Optional[int] = -1) -> str:
        """running (a process holds its lock), diverged (its last row says so), finished (its
        generator is exported at ``steps``) or stopped. ``records`` and ``exported`` may be given
        when already read (``exported`` -1: read it here; a damaged export counts as none)."""
        from gankit.rundir.lock import is_locked

        if is_locked(self.path):
            return "running"
        if is_diverged(self.records() if records is None else records):
            return "diverged"
        if exported == -1:
            try:
                exported = self.exported_step()
            except UserError:
                exported = None
        return "finished" if exported is not None and exported >= steps else "stopped"


class MetricsTail:
    """A run's metrics.jsonl read as it grows: only the appended bytes each time, whole lines
    only, through the run's no-link reads."""

    def __init__(self, run: RunDir):
        self.run = run
        self.offset = 0
        self.inode: Optional[int] = None
        self.partial = b""
        self.rows: list[dict] = []
        self.announced = False

    def read(self) -> tuple[list[dict], bool]:
        """The rows appended since the last read, and whether the file was replaced or cut
        (then ``rows`` holds the whole file anew)."""
        try:
            handle = self.run.open(self.run.metrics)
        except FileNotFoundError:
            reset = bool(self.rows)
            self.offset, self.inode, self.partial, self.rows = 0, None, b"", []
            return [], reset
        with handle:
            status = os.fstat(handle.fileno())
            reset = False
            if self.inode is not None and (status.st_ino != self.inode or status.st_size < self.offset):
                reset = True
                self.offset, self.partial, self.rows = 0, b"", []
            self.inode = status.st_ino
            if status.st_size <= self.offset:
                return [], reset
            handle.seek(self.offset)
            chunk = handle.read(status.st_size - self.offset)
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        new = []
        for line in lines:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(row, dict):
                new.append(row)
        self.rows += new
        return new, reset
