"""One study directory: where its files lie, and summary.json read into typed records.

summary.json (format 1) is written by :mod:`gankit.studies.summary` from the same record types
it is read back into here (:class:`Metric`, :class:`StudyRun`, :class:`Verdict`, ...). Values may
be null and optional lists absent; anything of the wrong shape is a corrupt summary and a
UserError naming the field.
"""

from __future__ import annotations

import json
import os
import re
from stat import S_ISDIR
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import yaml

from gankit.errors import UserError
from gankit.fsutil import list_below, read_below, stat_below
from gankit.rundir import names
from gankit.rundir.run import CONFIG_LIMIT, RunDir, number

FORMAT = 1
VERDICTS = ("supported", "contradicted", "inconclusive")
STUDY_RUN_NAME = re.compile(r"^(?P<arm>.+)-s(?P<seed>\d+)$")


def study_run_name(arm: str, seed: int) -> str:
    """The name of a study's run of ``arm`` with ``seed``: ``<arm>-s<seed>``."""
    return f"{arm}-s{seed}"


def study_run_arm(name: str) -> Optional[str]:
    """The arm a study run's name says (None for a name of another form)."""
    match = STUDY_RUN_NAME.match(name)
    return match.group("arm") if match else None


@dataclass(frozen=True)
class Metric:
    """One measured quantity (a column of the study's table): its key, label, unit, which way
    is better ("lower", "higher" or None) and how it is measured."""

    key: str
    label: str
    unit: str = ""
    better: Optional[str] = None
    protocol: str = ""


@dataclass(frozen=True)
class Verdict:
    """A claim, what the measurements say of it, and the numbers that say it.

    ``effect`` (the arms' difference, or the mean minus the threshold, in the metric's units)
    with its interval ``low``..``high`` at ``confidence``, over ``seeds`` seeds; ``settled``:
    decided, or no effect within the claim's margin; ``reason``: why an inconclusive claim is
    so; ``needed``: roughly the seeds per arm an open claim would need; ``look``: the round of
    seeds at which it was judged. (Summaries written before these existed leave them empty.)
    """

    claim: str
    verdict: str
    evidence: str
    effect: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    confidence: Optional[float] = None
    seeds: Optional[int] = None
    settled: Optional[bool] = None
    reason: str = ""
    needed: Optional[int] = None
    look: Optional[int] = None


@dataclass(frozen=True)
class StudyRun:
    """One measured run of a study (under a sampling arm, if any), and its values."""

    name: str
    arm: str
    seed: Optional[int]
    dir: str  # the run directory, relative to the study directory when inside it
    status: str
    step: Optional[int]
    values: dict[str, Optional[float]]


@dataclass(frozen=True)
class SummaryArm:
    """An arm as the summary lists it: name, label, overrides, group."""

    name: str
    label: str
    overrides: list[str]
    group: Optional[str]


@dataclass(frozen=True)
class Stat:
    """Mean, spread and count of one metric over an arm's runs (each part may be missing)."""

    mean: Optional[float]
    std: Optional[float]
    min: Optional[float]
    max: Optional[float]
    n: Optional[int]


@dataclass(frozen=True)
class Picture:
    """A figure or an arm's samples: a PNG inside the study directory with its caption."""

    path: str
    title: str = ""
    caption: str = ""
    arm: Optional[str] = None


@dataclass
class Summary:
    """summary.json, typed."""

    study: str
    title: str
    question: str
    description: str
    base: str
    steps: Optional[int]
    seeds: list
    arms: list[SummaryArm]
    metrics: list[Metric]
    runs: list[StudyRun]
    table: dict[str, dict[str, Optional[Stat]]]  # arm -> metric key -> stat
    verdicts: list[Verdict]
    curves: list[str] = field(default_factory=list)
    figures: list[Picture] = field(default_factory=list)
    samples: list[Picture] = field(default_factory=list)
    design: str = ""  # when the claims were judged (one look, or rounds of seeds) and at what level


PICTURE_LIMIT = 64 << 20  # bytes of a figure read at most
SUMMARY_LIMIT = 64 << 20  # bytes of summary.json read at most (a study of thousands of runs: a few MiB)


class StudyDir:
    """The files of one study directory. ``anchor``: the folder reads start from and never
    leave, following no link below it (default: the study folder; see :class:`RunDir`)."""

    def __init__(self, path: os.PathLike | str, anchor: os.PathLike | str | None = None):
        self.path = Path(path)
        self.anchor = Path(anchor) if anchor is not None else self.path

    def __repr__(self) -> str:
        return f"StudyDir('{self.path}')"

    @property
    def name(self) -> str:
        """The study folder's name."""
        return self.path.name

    @property
    def spec(self) -> Path:
        """study.yaml"""
        return self.path / names.STUDY_SPEC

    @property
    def summary(self) -> Path:
        """summary.json"""
        return self.path / names.SUMMARY

    @property
    def runs(self) -> Path:
        """The folder of the study's run directories."""
        return self.path / names.RUNS

    def run(self, name: str) -> RunDir:
        """The run directory ``runs/name``."""
        return RunDir(self.runs / name, self.anchor)

    def run_names(self) -> list[str]:
        """The names of the folders in ``runs/`` (links left out)."""
        return list_below(self.anchor, self.runs, files=False, folders=True)

    @property
    def plans(self) -> Path:
        """The folder of the runs' plan files."""
        return self.path / names.PLANS

    def plan(self, name: str) -> Path:
        """The plan file run ``name`` is trained from."""
        return self.plans / f"{name}.yaml"

    @property
    def logs(self) -> Path:
        """The folder of the trainings' console output."""
        return self.path / names.LOGS

    def log(self, name: str) -> Path:
        """Run ``name``'s console output."""
        return self.logs / f"{name}.log"

    @property
    def figures(self) -> Path:
        """The folder of the pictures the study draws."""
        return self.path / names.FIGURES

    @property
    def submitit(self) -> Path:
        """submitit's own files."""
        return self.path / names.SUBMITIT

    @property
    def report(self) -> Path:
        """report.html"""
        return self.path / names.REPORT

    def exists(self) -> bool:
        """Whether this looks like a study directory (a summary, a spec or a runs folder)."""
        return any(self._kind(path) for path in (self.summary, self.spec, self.runs))

    def _kind(self, path: Path) -> Optional[str]:
        """"file" or "folder" for a regular file or folder of this study reached without a link, else None."""
        try:
            mode = stat_below(self.anchor, path).st_mode
        except OSError:
            return None
        return "folder" if S_ISDIR(mode) else "file"

    def read_bytes(self, path: Path, limit: Optional[int] = PICTURE_LIMIT) -> bytes:
        """The bytes of one of this study's files (a figure), reached from the anchor without
        following a link; a path that leaves the study is a FileNotFoundError, a larger one a ValueError."""
        return read_below(self.anchor, path, limit)

    def spec_text(self) -> str:
        """study.yaml as text ('' when there is none)."""
        try:
            return read_below(self.anchor, self.spec, CONFIG_LIMIT).decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""

    def spec_data(self) -> dict:
        """study.yaml as plain data ({} when it is missing or not a mapping)."""
        try:
            data = yaml.safe_load(self.spec_text())
        except (yaml.YAMLError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def summary_data(self) -> dict:
        """summary.json as a dict, or a UserError that says why it cannot be read."""
        path = self.summary
        try:
            data = json.loads(read_below(self.anchor, path, SUMMARY_LIMIT).decode("utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path} is missing: the study has not written its summary yet") from None
        except (OSError, UnicodeDecodeError) as err:
            raise UserError(f"{path} cannot be read: {err}") from None
        except RecursionError:
            raise UserError(f"{path} is corrupt: nested too deeply") from None
        except ValueError as err:
            raise UserError(f"{path} is corrupt: {err}") from None
        if not isinstance(data, dict):
            raise UserError(f"{path} is corrupt: it must hold a JSON object")
        if data.get("format", FORMAT) != FORMAT:
            raise UserError(f"{path} has format {data.get('format')!r}; this gankit reads format {FORMAT}")
        return data

    def read_summary(self) -> Summary:
        """summary.json, typed (a UserError naming the field that is wrong)."""
        return SummaryReader(self.summary).read(self.summary_data(), self.name)

    def run_folder(self, run: StudyRun) -> Path:
        """Where a run of the summary lies (its dir is relative to the study, or absolute)."""
        return self.path / run.dir


class SummaryReader:
    """Typed access to summary.json's fields; a wrong shape raises a UserError naming the field."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, what: str) -> UserError:
        """The error for a summary that is wrong about ``what``."""
        return UserError(f"{self.path} is corrupt: {what}")

    def mapping(self, value: Any, where: str) -> dict:
        """``value``, which must be a JSON object."""
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be an object")
        return value

    def items(self, data: dict, key: str) -> list:
        """The list ``data[key]`` (absent or null: empty)."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"'{key}' must be a list")
        return value

    def entries(self, data: dict, key: str, name_key: str) -> Iterator[tuple[str, dict, str]]:
        """Each object of the list ``data[key]`` as ``(where, entry, name)``; every entry needs a name."""
        for i, entry in enumerate(self.items(data, key)):
            where = f"{key}[{i}]"
            entry = self.mapping(entry, where)
            name = self.text(entry, name_key, where, default=None)
            if not name:
                raise self.fail(f"{where} has no {name_key}")
            yield where, entry, name

    def text(self, data: dict, key: str, where: str, default: Optional[str] = "") -> Optional[str]:
        """``data[key]`` as text (numbers are written out; absent or null: ``default``)."""
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.fail(f"{where}.{key} must be text")
        return str(value)

    def values(self, data: Any, where: str) -> dict[str, Optional[float]]:
        """An object of numbers or nulls (null or absent: empty)."""
        data = {} if data is None else self.mapping(data, where)
        out = {}
        for key, value in data.items():
            if value is not None and number(value) is None:
                raise self.fail(f"{where}.{key} must be a number or null")
            out[str(key)] = number(value)
        return out

    def stat(self, data: Any, where: str) -> Optional[Stat]:
        """A table cell: null, a bare number (a mean alone) or {mean, std, min, max, n}."""
        if data is None:
            return None
        if number(data) is not None:
            return Stat(number(data), None, None, None, None)
        parts = self.values(data, where)
        n = parts.get("n")
        return Stat(parts.get("mean"), parts.get("std"), parts.get("min"), parts.get("max"),
                    int(n) if n is not None else None)

    def arms(self, data: dict) -> list[SummaryArm]:
        """The "arms" list."""
        arms = []
        for where, a, name in self.entries(data, "arms", "name"):
            overrides = a.get("overrides") or []
            if not isinstance(overrides, list):
                raise self.fail(f"{where}.overrides must be a list")
            arms.append(SummaryArm(name, self.text(a, "label", where, default=name) or name,
                            [str(o) for o in overrides], self.text(a, "group", where, default=None)))
        return arms

    def metrics(self, data: dict) -> list[Metric]:
        """The "metrics" list."""
        metrics = []
        for where, m, key in self.entries(data, "metrics", "key"):
            better = m.get("better")
            if better not in ("lower", "higher", None):
                raise self.fail(f"{where}.better must be 'lower', 'higher' or null, not {better!r}")
            metrics.append(Metric(key, self.text(m, "label", where, default=key) or key,
                                  self.text(m, "unit", where), better, self.text(m, "protocol", where)))
        return metrics

    def runs(self, data: dict) -> list[StudyRun]:
        """The "runs" list."""
        runs = []
        for where, x, name in self.entries(data, "runs", "name"):
            seed, step = number(x.get("seed")), number(x.get("step"))
            default_dir = f"{names.RUNS}/{name}"
            runs.append(StudyRun(name, self.text(x, "arm", where), int(seed) if seed is not None else None,
                                 self.text(x, "dir", where, default=default_dir) or default_dir,
                                 self.text(x, "status", where, default="unknown") or "unknown",
                                 int(step) if step is not None else None,
                                 self.values(x.get("values"), f"{where}.values")))
        return runs

    def table(self, data: dict) -> dict[str, dict[str, Optional[Stat]]]:
        """The "table": per arm, per metric, its statistics."""
        table = {}
        for i, row in enumerate(self.items(data, "table")):
            row = self.mapping(row, f"table[{i}]")
            cells = {} if row.get("values") is None else self.mapping(row["values"], f"table[{i}].values")
            table[self.text(row, "arm", f"table[{i}]")] = {str(k): self.stat(v, f"table[{i}].values.{k}")
                                                           for k, v in cells.items()}
        return table

    def verdicts(self, data: dict) -> list[Verdict]:
        """The "verdicts" list."""
        verdicts = []
        for i, v in enumerate(self.items(data, "verdicts")):
            v = self.mapping(v, f"verdicts[{i}]")
            where = f"verdicts[{i}]"
            numbers = self.values({k: v.get(k) for k in ("effect", "low", "high", "confidence", "seeds", "needed",
                                                         "look")}, where)
            settled = v.get("settled")
            if settled is not None and not isinstance(settled, bool):
                raise self.fail(f"{where}.settled must be true, false or null")
            whole = {k: int(numbers[k]) if numbers[k] is not None else None for k in ("seeds", "needed", "look")}
            verdicts.append(Verdict(self.text(v, "claim", where), (self.text(v, "verdict", where) or "inconclusive").lower(),
                                    self.text(v, "evidence", where), numbers["effect"], numbers["low"], numbers["high"],
                                    numbers["confidence"], whole["seeds"], settled, self.text(v, "reason", where),
                                    whole["needed"], whole["look"]))
        return verdicts

    def pictures(self, data: dict, key: str) -> list[Picture]:
        """The "figures" or "samples" list."""
        pictures = []
        for i, p in enumerate(self.items(data, key)):
            p = self.mapping(p, f"{key}[{i}]")
            path = self.text(p, "path", f"{key}[{i}]", default=None)
            if not path:
                raise self.fail(f"{key}[{i}] has no path")
            pictures.append(Picture(path, self.text(p, "title", f"{key}[{i}]"), self.text(p, "caption", f"{key}[{i}]"),
                                    self.text(p, "arm", f"{key}[{i}]", default=None)))
        return pictures

    def read(self, data: dict, fallback_name: str) -> Summary:
        """The whole summary."""
        steps = number(data.get("steps"))
        study = self.text(data, "study", "summary") or fallback_name
        return Summary(
            study=study, title=self.text(data, "title", "summary") or study,
            question=self.text(data, "question", "summary"), description=self.text(data, "description", "summary"),
            base=self.text(data, "base", "summary"), steps=int(steps) if steps is not None else None,
            seeds=self.items(data, "seeds"), arms=self.arms(data), metrics=self.metrics(data), runs=self.runs(data),
            table=self.table(data), verdicts=self.verdicts(data), curves=[str(c) for c in self.items(data, "curves")],
            figures=self.pictures(data, "figures"), samples=self.pictures(data, "samples"),
            design=self.text(data, "design", "summary"))
