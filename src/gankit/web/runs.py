"""The run and study directories the server shows, and what it says about each.

A run's id is its folder's name in the runs folder, or ``STUDY:RUN`` for ``STUDIES/STUDY/runs/RUN``.
An id from a request is only ever looked up among the names a listing of those folders gives
(:meth:`Index.find`); no path from a request is joined onto a folder. Every file is read through
:class:`RunDir` / :class:`StudyDir` anchored at the runs or studies folder, so no link below
those folders (a run folder, a picture, a summary) is ever followed.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from gankit import quantities
from gankit.errors import UserError
from gankit.fsutil import list_below, stat_below
from gankit.rundir import RunDir, StudyDir
from gankit.rundir.study import Summary, study_run_arm

NUMBERED = re.compile(r"^(?P<base>.+)-\d+$")  # a name gankit made unique: NAME-2, NAME-3, ...


def valid_name(name: object) -> bool:
    """Whether ``name`` may name a run or study folder here: a plain name, not hidden, without
    path separators, '..' or NUL."""
    return (isinstance(name, str) and bool(name) and not name.startswith(".") and ".." not in name
            and not any(c in name for c in ("/", "\\", "\0")))


def _entries(anchor: Path, folder: Path) -> list[str]:
    """The valid names of the real folders (no links) in ``folder``, reached from ``anchor``."""
    return [name for name in list_below(anchor, folder, files=False, folders=True) if valid_name(name)]


@dataclass(frozen=True)
class RunRef:
    """One run directory the server knows: its id, name, study (or None), folder, and the
    folder its reads are anchored at (the runs or the studies folder)."""

    id: str
    name: str
    study: Optional[str]
    path: Path
    anchor: Path

    @property
    def run(self) -> RunDir:
        """Its files, read without following links below the anchor."""
        return RunDir(self.path, self.anchor)


class FileCache:
    """Parsed files, read again only when their size, mtime or inode changes."""

    def __init__(self, limit: int = 4096):
        self._items: dict[tuple[str, str], tuple[tuple, Any]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, anchor: Path, path: Path, parse: Callable[[], Any], kind: str = "") -> Any:
        """``parse()`` (which reads ``path``), from the cache when the file has not changed;
        FileNotFoundError when it is missing or a link below ``anchor``."""
        stat = stat_below(anchor, path)
        stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        key = (kind, str(path))
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = parse()
        with self._lock:
            if len(self._items) >= self._limit:
                self._items.clear()
            self._items[key] = (stamp, value)
        return value


def _loss_rows(run: RunDir) -> list[dict]:
    table = run.loss_table()
    if table is None:
        raise ValueError(f"{run.loss_table_csv} cannot be read")
    return [{key: (int(value) if key == "step" else value if value is not None and math.isfinite(value) else None)
             for key, value in row.items()} for row in table.rows]


class Index:
    """The runs of ``runs_dir`` and of ``studies_dir/*/runs``, and the studies, read from disk
    on every call (so runs from anywhere show up), with their files' contents cached."""

    def __init__(self, runs_dir: Path, studies_dir: Path):
        self.runs_dir = Path(runs_dir)
        self.studies_dir = Path(studies_dir)
        self.files = FileCache()

    # ---- finding runs ----
    def _plain(self, name: str) -> Optional[RunRef]:
        ref = RunRef(name, name, None, self.runs_dir / name, self.runs_dir)
        return ref if ref.run.exists() else None

    def study(self, path: Path) -> StudyDir:
        """The study folder ``path`` of the studies folder, read without following links."""
        return StudyDir(path, self.studies_dir)

    def study_dirs(self) -> dict[str, Path]:
        """The study folders by name (folders of studies_dir with a study.yaml or summary.json)."""
        found = {}
        for name in sorted(_entries(self.studies_dir, self.studies_dir)):
            path = self.studies_dir / name
            if self.study(path).exists():
                found[name] = path
        return found

    def _study_runs(self, study: str, path: Path) -> list[RunRef]:
        folder = self.study(path)
        refs = [RunRef(f"{study}:{name}", name, study, folder.runs / name, self.studies_dir)
                for name in sorted(folder.run_names()) if valid_name(name)]
        return [ref for ref in refs if ref.run.exists()]

    def runs(self) -> list[RunRef]:
        """Every run directory: those of runs_dir (newest first), then the studies' runs."""
        plain = [ref for ref in (self._plain(name) for name in _entries(self.runs_dir, self.runs_dir))
                 if ref is not None]
        plain.sort(key=lambda ref: (-_mtime(ref.run), ref.name))
        seen = {ref.id for ref in plain}
        studied = []
        for study, path in self.study_dirs().items():
            studied += [ref for ref in self._study_runs(study, path) if ref.id not in seen]
        return plain + studied

    def find(self, run_id: object) -> Optional[RunRef]:
        """The run with this id, looked up among the listed folders; None if there is none."""
        if not isinstance(run_id, str) or not run_id or "\0" in run_id:
            return None
        if valid_name(run_id) and run_id in _entries(self.runs_dir, self.runs_dir):
            ref = self._plain(run_id)
            if ref is not None:
                return ref
        study, colon, name = run_id.partition(":")
        if not colon or not valid_name(study) or not valid_name(name):
            return None
        path = self.study_dirs().get(study)
        if path is None or name not in self.study(path).run_names():
            return None
        ref = RunRef(run_id, name, study, self.study(path).runs / name, self.studies_dir)
        return ref if ref.run.exists() else None

    def find_by_path(self, path: Path) -> Optional[RunRef]:
        """The listed run whose folder is ``path`` (after resolving both)."""
        try:
            target = path.resolve()
        except OSError:
            return None
        for ref in self.runs():
            try:
                if ref.path.resolve() == target:
                    return ref
            except OSError:
                continue
        return None

    # ---- reading runs ----
    def config(self, ref: RunRef) -> dict:
        """config.yaml as plain data."""
        run = ref.run
        return self.files.get(run.anchor, run.config, run.config_data, "config")

    def records(self, ref: RunRef) -> list[dict]:
        """The rows of metrics.jsonl ([] before the first)."""
        run = ref.run
        try:
            return self.files.get(run.anchor, run.metrics, run.records, "metrics")
        except FileNotFoundError:
            return []

    def status(self, ref: RunRef, steps: int, records: list[dict]) -> str:
        """running (a process holds the run's lock), diverged, finished or stopped, as
        :meth:`gankit.rundir.RunDir.status` says (on the cached files)."""
        return ref.run.status(steps, records, self.finished_step(ref))

    def finished_step(self, ref: RunRef) -> Optional[int]:
        """The step of the run's exported generator, if it has one (None also for a damaged
        export, which gankit writes anew on resume)."""
        run = ref.run
        try:
            return self.files.get(run.anchor, run.generator, run.exported_step, "generator")
        except (OSError, UserError):
            return None

    def loss_table(self, ref: RunRef) -> list[dict]:
        """loss_table.csv as rows of numbers ([] when there is none)."""
        run = ref.run
        try:
            return self.files.get(run.anchor, run.loss_table_csv, lambda: _loss_rows(run), "losses")
        except (OSError, ValueError):
            return []

    def grids(self, ref: RunRef) -> dict[int, Path]:
        """The saved sample pictures by step."""
        return ref.run.grids()

    def summary(self, ref: RunRef, preset: Optional[str] = None) -> dict:
        """What the run list shows of one run."""
        entry: dict[str, Any] = {"id": ref.id, "name": ref.name, "study": ref.study, "preset": preset,
                                 "step": 0, "steps": None, "status": "stopped", "last": None, "metrics": {}}
        try:
            config = self.config(ref)
            records = self.records(ref)
            steps = int(config["train"]["steps"])
        except FileNotFoundError:
            entry["error"] = f"{ref.run.config.name} is missing"
            return entry
        except (UserError, ValueError, KeyError, TypeError, OSError, yaml.YAMLError) as err:
            entry["error"] = _one_line(err)
            return entry
        entry["steps"] = steps
        entry["preset"] = preset or self.guess_preset(ref, config)
        if records:
            last = records[-1]
            entry["step"] = int(last.get("step", 0))
            entry["last"] = {k: last[k] for k in quantities.table_keys(last)}  # shown in the run list
            for row in reversed(records):
                measured = {k: v for k, v in row.items() if k.startswith("eval_") and k != "eval_protocol"}
                if measured:
                    entry["metrics"] = measured
                    break
        entry["status"] = self.status(ref, steps, records)
        return entry

    def guess_preset(self, ref: RunRef, config: dict) -> str:
        """The preset a run came from, as far as its folder tells: a study's base, the preset its
        name is (made unique), else ``data.source/model.arch``."""
        from gankit.config import preset_names

        names = preset_names()
        if ref.study is not None:
            base = self._study_base(ref)
            if base:
                return base
        for candidate in (ref.name, NUMBERED.sub(r"\g<base>", ref.name)):
            if candidate in names:
                return candidate
        data, model = config.get("data") or {}, config.get("model") or {}
        return f"{data.get('source', '?')}/{model.get('arch', '?')}"

    def _study_base(self, ref: RunRef) -> Optional[str]:
        path = self.study_dirs().get(ref.study or "")
        if path is None:
            return None
        try:
            spec = self._spec(self.study(path))
        except OSError:
            return None
        arm_name = study_run_arm(ref.name)
        for arm in spec.get("arms") or []:
            if isinstance(arm, dict) and arm_name and arm.get("name") == arm_name and arm.get("base"):
                return str(arm["base"])
        base = spec.get("base")
        return str(base) if base else None

    # ---- studies ----
    def _spec(self, study: StudyDir) -> dict:
        """study.yaml as plain data ({} when it is not a mapping)."""
        return self.files.get(study.anchor, study.spec, study.spec_data, "study")

    def studies(self) -> list[dict]:
        """Every study folder: its name, title, question, arms with their run ids, and summary."""
        return [self._study(name, path) for name, path in self.study_dirs().items()]

    def _study(self, name: str, path: Path) -> dict:
        spec: dict = {}
        summary: Optional[Summary] = None
        study_dir = self.study(path)
        try:
            spec = self._spec(study_dir)
        except OSError:
            pass
        try:
            summary = self.files.get(study_dir.anchor, study_dir.summary, study_dir.read_summary, "summary")
        except (OSError, UserError):
            pass
        runs = self._study_runs(name, path)
        sampling = bool(spec.get("sample")) or bool(summary and summary.samples)
        arms: list[dict] = []
        if summary and summary.arms:
            arms = [{"name": arm.name, "label": arm.label or arm.name} for arm in summary.arms]
        else:
            listed = spec.get("sample") if sampling else spec.get("arms")
            for arm in listed or []:
                if isinstance(arm, dict) and arm.get("name"):
                    label = arm.get("label") or (arm.get("prior") if sampling else None) or arm["name"]
                    arms.append({"name": str(arm["name"]), "label": str(label)})
        by_arm: dict[str, list[str]] = {arm["name"]: [] for arm in arms}
        if summary and summary.runs:
            paths = {}
            for ref in runs:
                try:
                    paths[ref.path.resolve()] = ref.id
                except OSError:
                    pass
            for run in summary.runs:
                if run.arm not in by_arm:
                    continue
                where = study_dir.run_folder(run)
                try:
                    run_id = paths.get(where.resolve())
                except OSError:
                    run_id = None
                if run_id is None:
                    other = self.find_by_path(where)
                    run_id = other.id if other is not None else None
                if run_id is not None and run_id not in by_arm[run.arm]:
                    by_arm[run.arm].append(run_id)
        for ref in runs:  # runs the summary does not list yet (a study in progress)
            if sampling:
                targets = list(by_arm)
            else:
                arm_name = study_run_arm(ref.name)
                targets = [arm_name] if arm_name in by_arm else []
            for arm in targets:
                if ref.id not in by_arm[arm]:
                    by_arm[arm].append(ref.id)
        title = spec.get("title") or (summary.title if summary else "") or name
        question = spec.get("question") or (summary.question if summary else "")
        return {"name": name, "title": str(title), "question": str(question or ""),
                "arms": [{**arm, "runs": by_arm[arm["name"]]} for arm in arms],
                "runs": [ref.id for ref in runs],
                "verdicts": [asdict(verdict) for verdict in summary.verdicts] if summary else [],
                "design": summary.design if summary else ""}


def _mtime(run: RunDir) -> float:
    try:
        return run.stat(run.config).st_mtime
    except OSError:
        return 0.0


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def has_generator(ref: RunRef) -> bool:
    """Whether a run has weights to sample from (the exported generator or a checkpoint)."""
    return ref.run.has_weights()
