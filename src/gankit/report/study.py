"""Read a study directory (``gankit study``'s output) into plain dataclasses.

The contract is ``DIR/summary.json`` (format 1) beside ``DIR/study.yaml``, ``DIR/runs/<run>/``
(ordinary run directories) and ``DIR/figures/*.png``. Values may be null; optional lists may be
absent; anything of the wrong shape is a corrupt summary and a UserError naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from gankit.errors import UserError

from .collect import RunData, number, read_run

FORMAT = 1
VERDICTS = ("supported", "contradicted", "inconclusive")


@dataclass
class Arm:
    """One arm of a study: a named variation of the base config."""

    name: str
    label: str
    overrides: list[str]
    group: Optional[str]


@dataclass
class Metric:
    """One column of the study's table."""

    key: str
    label: str
    unit: str
    better: Optional[str]  # "lower", "higher" or None
    protocol: str


@dataclass
class StudyRun:
    """One run of a study (a run directory may appear under several arms)."""

    name: str
    arm: str
    seed: Optional[int]
    dir: str
    status: str
    step: Optional[int]
    values: dict[str, Optional[float]]


@dataclass
class Stat:
    """Mean, spread and count of one metric over an arm's runs (each part may be missing)."""

    mean: Optional[float]
    std: Optional[float]
    min: Optional[float]
    max: Optional[float]
    n: Optional[int]


@dataclass
class Verdict:
    """A claim the study tested, its verdict and the evidence in numbers."""

    claim: str
    verdict: str
    evidence: str


@dataclass
class Picture:
    """A figure or an arm's samples: a PNG inside the study directory with its caption."""

    path: str
    title: str = ""
    caption: str = ""
    arm: Optional[str] = None


@dataclass
class StudyData:
    """The summary of a study and the run directories it names."""

    path: Path
    study: str
    title: str
    question: str
    description: str
    base: str
    steps: Optional[int]
    seeds: list
    arms: list[Arm]
    metrics: list[Metric]
    runs: list[StudyRun]
    table: dict[str, dict[str, Optional[Stat]]]  # arm -> metric key -> stat
    verdicts: list[Verdict]
    curves: list[str]
    figures: list[Picture]
    samples: list[Picture]
    study_yaml: str = ""
    run_data: dict[str, RunData] = field(default_factory=dict)  # run "dir" -> what is in it

    def arm_label(self, name: str) -> str:
        """The label of arm ``name`` (its name when the summary has no such arm)."""
        return next((a.label for a in self.arms if a.name == name), name)

    def runs_of(self, arm: str) -> list[RunData]:
        """The run directories of ``arm`` that exist, in summary order."""
        return [self.run_data[r.dir] for r in self.runs if r.arm == arm and r.dir in self.run_data]


class _Reader:
    """Typed access to summary.json fields; a wrong shape raises a UserError naming the field."""

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

    def items(self, data: dict, key: str, required: bool = False) -> list:
        """The list ``data[key]`` (absent or null: empty, unless ``required``)."""
        value = data.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self.fail(f"'{key}' must be a list")
        return value

    def entries(self, data: dict, key: str, name_key: str):
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
        if number(data) is not None:  # a bare number: a mean alone
            return Stat(number(data), None, None, None, None)
        parts = self.values(data, where)
        n = parts.get("n")
        return Stat(parts.get("mean"), parts.get("std"), parts.get("min"), parts.get("max"),
                    int(n) if n is not None else None)


def _load(path: Path) -> dict:
    """summary.json as a dict, or a UserError that says why it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing: the study has not written its summary yet") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path} cannot be read: {err}") from None
    except ValueError as err:
        raise UserError(f"{path} is corrupt: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is corrupt: it must hold a JSON object")
    if data.get("format", FORMAT) != FORMAT:
        raise UserError(f"{path} has format {data.get('format')!r}; this gankit reads format {FORMAT}")
    return data


def _arms(r: _Reader, data: dict) -> list[Arm]:
    arms = []
    for where, a, name in r.entries(data, "arms", "name"):
        overrides = a.get("overrides") or []
        if not isinstance(overrides, list):
            raise r.fail(f"{where}.overrides must be a list")
        arms.append(Arm(name, r.text(a, "label", where, default=name) or name,
                        [str(o) for o in overrides], r.text(a, "group", where, default=None)))
    return arms


def _metrics(r: _Reader, data: dict) -> list[Metric]:
    metrics = []
    for where, m, key in r.entries(data, "metrics", "key"):
        better = m.get("better")
        if better not in ("lower", "higher", None):
            raise r.fail(f"{where}.better must be 'lower', 'higher' or null, not {better!r}")
        metrics.append(Metric(key, r.text(m, "label", where, default=key) or key,
                              r.text(m, "unit", where), better, r.text(m, "protocol", where)))
    return metrics


def _runs(r: _Reader, data: dict) -> list[StudyRun]:
    runs = []
    for where, x, name in r.entries(data, "runs", "name"):
        seed, step = number(x.get("seed")), number(x.get("step"))
        runs.append(StudyRun(name, r.text(x, "arm", where), int(seed) if seed is not None else None,
                             r.text(x, "dir", where, default=f"runs/{name}") or f"runs/{name}",
                             r.text(x, "status", where, default="unknown") or "unknown",
                             int(step) if step is not None else None, r.values(x.get("values"), f"{where}.values")))
    return runs


def _table(r: _Reader, data: dict) -> dict[str, dict[str, Optional[Stat]]]:
    table = {}
    for i, row in enumerate(r.items(data, "table")):
        row = r.mapping(row, f"table[{i}]")
        cells = {} if row.get("values") is None else r.mapping(row["values"], f"table[{i}].values")
        table[r.text(row, "arm", f"table[{i}]")] = {str(k): r.stat(v, f"table[{i}].values.{k}")
                                                     for k, v in cells.items()}
    return table


def _verdicts(r: _Reader, data: dict) -> list[Verdict]:
    verdicts = []
    for i, v in enumerate(r.items(data, "verdicts")):
        v = r.mapping(v, f"verdicts[{i}]")
        verdicts.append(Verdict(r.text(v, "claim", f"verdicts[{i}]"),
                                (r.text(v, "verdict", f"verdicts[{i}]") or "inconclusive").lower(),
                                r.text(v, "evidence", f"verdicts[{i}]")))
    return verdicts


def _pictures(r: _Reader, data: dict, key: str) -> list[Picture]:
    pictures = []
    for i, p in enumerate(r.items(data, key)):
        p = r.mapping(p, f"{key}[{i}]")
        path = r.text(p, "path", f"{key}[{i}]", default=None)
        if not path:
            raise r.fail(f"{key}[{i}] has no path")
        pictures.append(Picture(path, r.text(p, "title", f"{key}[{i}]"), r.text(p, "caption", f"{key}[{i}]"),
                                r.text(p, "arm", f"{key}[{i}]", default=None)))
    return pictures


def inside(root: Path, relative: str) -> Optional[Path]:
    """``root / relative`` when it stays inside ``root`` (a figure cannot be taken from elsewhere), else None."""
    target = (root / relative).resolve()
    return target if target == root.resolve() or root.resolve() in target.parents else None


def read_study(path: Path) -> StudyData:
    """The study in folder ``path``: its summary.json and the run directories it lists."""
    path = Path(path)
    r = _Reader(path / "summary.json")
    data = _load(r.path)
    steps = number(data.get("steps"))
    study = StudyData(
        path=path, study=r.text(data, "study", "summary") or path.name,
        title=r.text(data, "title", "summary") or r.text(data, "study", "summary") or path.name,
        question=r.text(data, "question", "summary"), description=r.text(data, "description", "summary"),
        base=r.text(data, "base", "summary"), steps=int(steps) if steps is not None else None,
        seeds=r.items(data, "seeds"), arms=_arms(r, data), metrics=_metrics(r, data), runs=_runs(r, data),
        table=_table(r, data), verdicts=_verdicts(r, data),
        curves=[str(c) for c in r.items(data, "curves")],
        figures=_pictures(r, data, "figures"), samples=_pictures(r, data, "samples"))
    yaml_path = path / "study.yaml"
    if yaml_path.is_file():
        study.study_yaml = yaml_path.read_text(encoding="utf-8", errors="replace")
    for run in study.runs:
        folder = path / run.dir  # relative to the study, or absolute for a run that lies elsewhere
        if run.dir not in study.run_data and (folder / "config.yaml").is_file():
            study.run_data[run.dir] = read_run(folder)
    return study
