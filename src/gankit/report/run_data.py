"""A report's view of a run directory (:class:`RunData`), read through :mod:`gankit.rundir`,
tolerating anything missing or half-written: each missing part becomes a note on the page.

A report reads only what a run leaves behind (README, "What a run leaves behind"): nothing here
touches a live loop, and nothing in a run directory is ever written. Torch is imported only to
learn what a logged statistic no quantity describes is, from the losses that may derive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from gankit import quantities
from gankit.errors import UserError
from gankit.rundir import Grid, LossTable, Measurement, RunDir, StudyDir, finite, health_events, names, number



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


def kind_of(path: Path) -> str:
    """``"study"`` or ``"run"`` for a folder; a UserError for anything else."""
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if not path.is_dir():
        raise UserError(f"{path} is not a folder: give a run directory or a study directory")
    if StudyDir(path).summary.is_file() or StudyDir(path).spec.is_file():
        return "study"
    if RunDir(path).exists():
        return "run"
    raise UserError(f"{path} is neither a run directory (no {names.CONFIG}) nor a study directory "
                    f"(no {names.SUMMARY})")


def loss_table_from_records(run: RunData) -> Optional[LossTable]:
    """The losses at the grid steps (or the configured sample steps), taken from metrics.jsonl."""
    steps = {g.step for g in run.grids}
    if not steps:
        configured = run.setting("train.sample_steps", []) or []
        steps = {int(s) for s in configured if finite(s) is not None}
        if run.total_steps is not None:
            steps.add(run.total_steps)
    columns = ["step", *quantities.table_keys(run.keys())]
    rows = [{key: number(r.get(key)) for key in columns} for r in run.records
            if finite(r.get("step")) is not None and int(finite(r["step"])) in steps]
    rows.sort(key=lambda r: r["step"])
    return LossTable(columns, rows, "metrics.jsonl at the grid steps") if rows else None


def logged_measurements(run: RunData) -> list[Measurement]:
    """The eval_* values of the last record that has them, with the protocols from its eval_protocol."""
    for record in sorted(run.records, key=lambda r: finite(r.get("step")) or 0.0, reverse=True):
        keys = [k for k in record if k.startswith("eval_") and k != "eval_protocol"]
        if keys:
            protocols = record.get("eval_protocol") if isinstance(record.get("eval_protocol"), dict) else {}
            step = int(finite(record["step"]))
            return [Measurement(k[len("eval_"):], number(record[k]), str(protocols.get(k[len("eval_"):], "")),
                                None, step, names.METRICS) for k in keys]
    return []


def _read_config(run: RunData) -> None:
    """Fill the run's config and config text; a missing or unreadable config.yaml becomes a note."""
    folder = RunDir(run.path)
    try:
        run.config_text = folder.read_text(folder.config, errors="replace")
        loaded = yaml.safe_load(run.config_text)
    except (OSError, ValueError):
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
    return [f"step {step}: {event['message']}" for step, event in health_events(records) if event.get("message")]


def read_run(path: Path) -> RunData:
    """Everything a report needs from the run directory ``path``; each missing part becomes a note."""
    path = Path(path)
    files = RunDir(path)
    run = RunData(path=path, name=path.name)
    _read_config(run)
    if files.metrics.is_file():
        run.records, bad = files.readable_records()
        if bad:
            run.notes.append(f"{bad} line(s) of metrics.jsonl could not be read and are left out")
        if not run.records:
            run.notes.append("metrics.jsonl holds no logged step yet")
    else:
        run.notes.append("no metrics.jsonl yet: no curves and no loss table")
    run.grids = [Grid(step, picture) for step, picture in files.grids().items()]
    if not run.grids:
        run.notes.append("no sample grids (samples/step_NNNNNN.png)")
    run.loss_table = files.loss_table()
    if run.loss_table is None:
        run.loss_table = loss_table_from_records(run)
        if files.loss_table_csv.is_file():
            run.notes.append("loss_table.csv could not be read: the table comes from metrics.jsonl")
    run.measurements = files.eval_results(run.notes) + logged_measurements(run)
    run.notes.extend(health_notes(run.records))
    run.has_generator = files.generator.is_file()
    run.has_checkpoint = files.last_checkpoint.is_file()
    if not run.finished:
        where = f"step {run.last_step}" if run.last_step is not None else "no logged step"
        total = run.total_steps if run.total_steps is not None else "?"
        run.notes.append(f"not finished: {where} of {total} (still training, or stopped early: "
                         f"`gankit train --resume {path}` continues it)")
    elif not run.has_generator:
        run.notes.append("no generator.safetensors")
    return run
