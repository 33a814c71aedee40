"""From a study spec to its runs, and the state of each run as its directory tells it.

Every arm x seed is one ordinary run directory, ``DIR/runs/<arm>-s<seed>``, trained from its
plan file ``DIR/plans/<arm>-s<seed>.yaml`` (the base preset with the study's and the arm's
overrides, the seed and the steps). A study started again finds each run's state from its
directory alone: finished runs are skipped, interrupted ones resumed, and a run killed before
its first checkpoint is started afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import yaml

from gankit.config import apply_overrides, load_preset, names_a_file, validate
from gankit.errors import UserError
from gankit.fsutil import atomic_write_text
from gankit.rundir import RunDir, StudyDir
from gankit.rundir.run import is_diverged
from gankit.rundir.study import study_run_name
from gankit.studies.study_file import Arm, StudySpec



class State(Enum):
    """Where a run stands, read from its directory."""

    NEW = "new"  # no directory yet
    EMPTY = "empty"  # a directory without a checkpoint: killed before its first one (resumed from step 0)
    PARTIAL = "partial"  # a checkpoint before the last step: resume it
    UNFINISHED = "unfinished"  # a checkpoint at the last step without the final generator
    FINISHED = "finished"  # the generator of the last step is written
    DIVERGED = "diverged"  # stopped because it became non-finite: done, with no values to measure


@dataclass(frozen=True)
class RunPlan:
    """One run of a study: an arm trained with one seed."""

    name: str
    arm: Arm
    seed: int
    config: dict[str, Any]  # plain config data: base preset + overrides

    @property
    def steps(self) -> int:
        """The training steps the run is planned for."""
        return int(self.config["train"]["steps"])


def _override(key: str, value: Any) -> str:
    """``key=value`` with the value written as YAML, as the CLI parses it."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    return f"{key}={text.removesuffix('...').strip()}"


def _base(name: str, study_file: Optional[Path]) -> str:
    """A shipped preset's name as it is, or a preset file named as a path (``mine.yaml``,
    ``./mine``), a relative one resolved beside the study file."""
    if study_file is None or not names_a_file(name):
        return name
    return str((study_file.parent / Path(name).expanduser()).resolve())


def plan_runs(spec: StudySpec, study_file: Optional[Path] = None) -> list[RunPlan]:
    """Every arm x seed of ``spec`` as a validated plan (a config mistake is a UserError now,
    before anything is trained)."""
    plans = []
    for arm in spec.arms:
        preset = load_preset(_base(arm.base or spec.base, study_file))
        overrides = [_override(k, v) for k, v in {**spec.set, **arm.set}.items()]
        for seed in spec.seeds:
            extra = [f"seed={seed}"] + ([f"train.steps={spec.steps}"] if spec.steps else [])
            data = apply_overrides(preset, overrides + extra)
            name = study_run_name(arm.name, seed)
            data["name"] = name
            try:
                cfg = validate(data)
            except UserError as err:
                raise UserError(f"arm '{arm.name}': {err}") from None
            _check_folder(cfg, spec.name)
            data.setdefault("train", {})["steps"] = cfg.train.steps
            plans.append(RunPlan(name, arm, seed, data))
    return plans


def _check_folder(cfg, study: str) -> None:
    """A study on data only ``data.root`` names (a folder of images, a file of sequences) needs it
    there (refused now, not once per run)."""
    from gankit.data import SOURCES

    if not SOURCES.find(cfg.data.source).needs_root:
        return
    if not cfg.data.root:
        raise UserError(f"study {study} trains on data.source={cfg.data.source}: give it data.root=FOLDER "
                        "(a folder or a .zip of images; a file of sequences)")
    if not Path(cfg.data.root).expanduser().exists():
        raise UserError(f"data folder not found: {cfg.data.root} (data.root)")


def run_dir(study_dir: Path, plan: RunPlan) -> Path:
    """The run directory of a planned run."""
    return StudyDir(study_dir).run(plan.name).path


def plan_file(study_dir: Path, plan: RunPlan) -> Path:
    """The preset file a planned run is trained from."""
    return StudyDir(study_dir).plan(plan.name)


def _without_steps(data: dict[str, Any]) -> dict[str, Any]:
    copy = yaml.safe_load(yaml.safe_dump(data))
    copy.get("train", {}).pop("steps", None)
    return copy


def check_compatible(study_dir: Path, plan: RunPlan) -> None:
    """Refuse a plan that differs, in anything but its steps, from the one its existing run was
    started with (the same folder would then hold runs of two different studies)."""
    path = plan_file(study_dir, plan)
    if not path.is_file() or not run_dir(study_dir, plan).exists():
        return
    try:
        before = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        before = None
    if not isinstance(before, dict) or _without_steps(before) != _without_steps(plan.config):
        raise UserError(f"{study_dir} already holds run {plan.name} trained with other settings; "
                        "give another --out for this study (or remove that folder)")


def write_plan(study_dir: Path, plan: RunPlan) -> Path:
    """Write the plan's preset file (atomically) and return it."""
    path = plan_file(study_dir, plan)
    atomic_write_text(path, yaml.safe_dump(plan.config, sort_keys=False))
    return path


def diverged_at(run: Path) -> Optional[int]:
    """The step at which the run stopped because it diverged (its last log says so), or None."""
    records = RunDir(run).records()
    return int(records[-1]["step"]) if is_diverged(records) else None


def run_state(run: Path, steps: int) -> State:
    """Where the run in ``run`` stands against ``steps`` planned steps."""
    from gankit.engine import checkpoint_step

    if not run.exists():
        return State.NEW
    checkpoint = checkpoint_step(run)
    if diverged_at(run) is not None:
        return State.DIVERGED
    if checkpoint is None:
        return State.EMPTY
    if checkpoint > steps:
        raise UserError(f"{run} is already at step {checkpoint}, past the {steps} steps asked for; "
                        "ask for at least as many (--steps) or give another --out")
    if checkpoint < steps:
        return State.PARTIAL
    return State.FINISHED if RunDir(run).exported_step() == steps else State.UNFINISHED
