"""Read run directories into plain dataclasses, tolerating anything missing or half-written.

A report reads only what a run leaves behind (README, "What a run leaves behind"): nothing here
imports torch or touches a live loop, and nothing in a run directory is ever written.
"""

from __future__ import annotations

import csv
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from gankit.errors import UserError

GRID_NAME = re.compile(r"^step_(\d+)\.png$")
EVAL_NAME = re.compile(r"^step_(\d+)\.json$")
TABLE_KEYS = ("step", "d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z")


def number(value: Any) -> Optional[float]:
    """``value`` as a float when it is a real number (NaN and infinities included), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def finite(value: Any) -> Optional[float]:
    """``value`` as a float when it is a finite number, else None (null, NaN, ±Infinity, text)."""
    x = number(value)
    return x if x is not None and math.isfinite(x) else None


@dataclass
class Grid:
    """One sample grid picture of a run, at a training step."""

    step: int
    path: Path


@dataclass
class Measurement:
    """One evaluation number with its protocol (from eval/*.json or the eval_* values of metrics.jsonl)."""

    name: str
    value: Optional[float]
    protocol: str = ""
    out_of: Optional[int] = None
    step: Optional[int] = None
    source: str = ""


@dataclass
class LossTable:
    """The losses at the grid steps: column keys and one dict per row."""

    columns: list[str]
    rows: list[dict[str, Optional[float]]]
    source: str


@dataclass
class RunData:
    """Everything a report shows about one run directory; any part may be empty."""

    path: Path
    name: str
    config: dict = field(default_factory=dict)
    config_text: str = ""
    records: list[dict] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    loss_table: Optional[LossTable] = None
    measurements: list[Measurement] = field(default_factory=list)
    has_generator: bool = False
    has_checkpoint: bool = False
    notes: list[str] = field(default_factory=list)

    def setting(self, dotted: str, default: Any = None) -> Any:
        """The config value at ``a.b.c`` (``default`` when absent)."""
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def total_steps(self) -> Optional[int]:
        """``train.steps`` of the config, when it is known."""
        steps = number(self.setting("train.steps"))
        return int(steps) if steps is not None else None

    @property
    def last_step(self) -> Optional[int]:
        """The last logged step (None before the first log line)."""
        steps = [finite(r.get("step")) for r in self.records]
        steps = [s for s in steps if s is not None]
        return int(max(steps)) if steps else None

    @property
    def finished(self) -> bool:
        """Whether the last logged step reached ``train.steps``."""
        total, last = self.total_steps, self.last_step
        return total is not None and last is not None and last >= total

    @property
    def status(self) -> str:
        """``finished`` or ``in progress`` (still training, or stopped early)."""
        return "finished" if self.finished else "in progress"

    def keys(self) -> list[str]:
        """Every numeric key logged in metrics.jsonl, in first-seen order (``step`` excluded)."""
        seen: dict[str, None] = {}
        for record in self.records:
            for key, value in record.items():
                if key != "step" and (value is None or number(value) is not None):
                    seen.setdefault(key, None)
        return list(seen)

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """(steps, values) of ``key`` by step; null, NaN and infinite values become NaN (gaps)."""
        pairs = []
        for record in self.records:
            step = finite(record.get("step"))
            if step is None or key not in record:
                continue
            value = finite(record[key])
            pairs.append((int(step), math.nan if value is None else value))
        pairs.sort(key=lambda p: p[0])
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def final(self, key: str) -> Optional[float]:
        """The value of ``key`` in the last record that logged it (None when never logged)."""
        for record in sorted(self.records, key=lambda r: finite(r.get("step")) or 0.0, reverse=True):
            if key in record:
                return number(record[key])
        return None


def is_run_dir(path: Path) -> bool:
    """A run directory is a folder with a config.yaml."""
    return (path / "config.yaml").is_file()


def is_study_dir(path: Path) -> bool:
    """A study directory is a folder with a summary.json or a study.yaml."""
    return (path / "summary.json").is_file() or (path / "study.yaml").is_file()


def kind_of(path: Path) -> str:
    """``"study"`` or ``"run"`` for a folder; a UserError for anything else."""
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if not path.is_dir():
        raise UserError(f"{path} is not a folder: give a run directory or a study directory")
    if is_study_dir(path):
        return "study"
    if is_run_dir(path):
        return "run"
    raise UserError(f"{path} is neither a run directory (no config.yaml) nor a study directory (no summary.json)")


def read_records(path: Path) -> tuple[list[dict], int]:
    """The JSON objects of a metrics.jsonl, one per line, and how many lines could not be read."""
    records, bad = [], 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
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


def read_grids(run: Path) -> list[Grid]:
    """The run's ``samples/step_NNNNNN.png`` pictures, by step."""
    folder = run / "samples"
    if not folder.is_dir():
        return []
    grids = [Grid(int(m.group(1)), p) for p in folder.iterdir() if (m := GRID_NAME.match(p.name)) and p.is_file()]
    return sorted(grids, key=lambda g: g.step)


def read_loss_csv(path: Path) -> Optional[LossTable]:
    """loss_table.csv as a LossTable (None when it cannot be read); blank or odd cells become None."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    if not rows or "step" not in rows[0]:
        return None
    columns = [c.strip() for c in rows[0]]
    table = []
    for row in rows[1:]:
        cells = {}
        for key, text in zip(columns, row):
            try:
                cells[key] = float(text)
            except ValueError:
                cells[key] = None
        if cells.get("step") is not None:
            table.append(cells)
    return LossTable(columns, table, "loss_table.csv")


def loss_table_from_records(run: RunData) -> Optional[LossTable]:
    """The losses at the grid steps (or the configured sample steps), taken from metrics.jsonl."""
    steps = {g.step for g in run.grids}
    if not steps:
        configured = run.setting("train.sample_steps", []) or []
        steps = {int(s) for s in configured if finite(s) is not None}
        if run.total_steps is not None:
            steps.add(run.total_steps)
    columns = list(TABLE_KEYS) + (["wasserstein"] if "wasserstein" in run.keys() else [])
    rows = [{key: number(r.get(key)) for key in columns} for r in run.records
            if finite(r.get("step")) is not None and int(finite(r["step"])) in steps]
    rows.sort(key=lambda r: r["step"])
    return LossTable(columns, rows, "metrics.jsonl at the grid steps") if rows else None


def read_eval_files(run: Path, notes: list[str]) -> list[Measurement]:
    """The measurements of every ``eval/step_NNNNNN.json``, oldest first; unreadable files become notes."""
    folder = run / "eval"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(p for p in folder.iterdir() if EVAL_NAME.match(p.name)):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            step = int(payload.get("step", EVAL_NAME.match(path.name).group(1)))
            for m in payload["measurements"]:
                out_of = number(m.get("out_of"))
                found.append(Measurement(str(m["name"]), number(m.get("value")), str(m.get("protocol") or ""),
                                         int(out_of) if out_of is not None else None, step, f"eval/{path.name}"))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            notes.append(f"eval/{path.name} could not be read")
    return found


def logged_measurements(run: RunData) -> list[Measurement]:
    """The eval_* values of the last record that has them, with the protocols from its eval_protocol."""
    for record in sorted(run.records, key=lambda r: finite(r.get("step")) or 0.0, reverse=True):
        names = [k for k in record if k.startswith("eval_") and k != "eval_protocol"]
        if names:
            protocols = record.get("eval_protocol") if isinstance(record.get("eval_protocol"), dict) else {}
            step = int(finite(record["step"]))
            return [Measurement(k[len("eval_"):], number(record[k]), str(protocols.get(k[len("eval_"):], "")),
                                None, step, "metrics.jsonl") for k in names]
    return []


def _read_config(run: RunData) -> None:
    """Fill the run's config and config text; a missing or unreadable config.yaml becomes a note."""
    path = run.path / "config.yaml"
    try:
        run.config_text = path.read_text(encoding="utf-8", errors="replace")
        loaded = yaml.safe_load(run.config_text)
    except OSError:
        run.notes.append("no config.yaml: the data, model and step count are unknown")
        return
    except yaml.YAMLError:
        run.notes.append("config.yaml could not be parsed: the data, model and step count are unknown")
        return
    if isinstance(loaded, dict):
        run.config = loaded
    else:
        run.notes.append("config.yaml does not hold a mapping: the data, model and step count are unknown")


def health_notes(records: list[dict]) -> list[str]:
    """The training-health events logged in metrics.jsonl (warnings, divergence), one note each."""
    return [f"step {record['step']}: {event['message']}" for record in records
            for event in record.get("events") or () if isinstance(event, dict) and event.get("message")]


def read_run(path: Path) -> RunData:
    """Everything a report needs from the run directory ``path``; each missing part becomes a note."""
    path = Path(path)
    run = RunData(path=path, name=path.name)
    _read_config(run)
    metrics = path / "metrics.jsonl"
    if metrics.is_file():
        run.records, bad = read_records(metrics)
        if bad:
            run.notes.append(f"{bad} line(s) of metrics.jsonl could not be read and are left out")
        if not run.records:
            run.notes.append("metrics.jsonl holds no logged step yet")
    else:
        run.notes.append("no metrics.jsonl yet: no curves and no loss table")
    run.grids = read_grids(path)
    if not run.grids:
        run.notes.append("no sample grids (samples/step_NNNNNN.png)")
    table = path / "loss_table.csv"
    run.loss_table = read_loss_csv(table) if table.is_file() else None
    if run.loss_table is None:
        run.loss_table = loss_table_from_records(run)
        if table.is_file():
            run.notes.append("loss_table.csv could not be read: the table comes from metrics.jsonl")
    run.measurements = read_eval_files(path, run.notes) + logged_measurements(run)
    run.notes.extend(health_notes(run.records))
    run.has_generator = (path / "generator.safetensors").is_file()
    run.has_checkpoint = (path / "checkpoints" / "last.pt").is_file()
    if not run.finished:
        where = f"step {run.last_step}" if run.last_step is not None else "no logged step"
        total = run.total_steps if run.total_steps is not None else "?"
        run.notes.append(f"not finished: {where} of {total} (still training, or stopped early: "
                         f"`gankit train --resume {path}` continues it)")
    elif not run.has_generator:
        run.notes.append("no generator.safetensors")
    return run
