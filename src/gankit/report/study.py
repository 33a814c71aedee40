"""A report's view of a study directory (:class:`StudyData`): its summary.json, read into the
record types of :mod:`gankit.rundir.study`, with the run directories it names.

The contract is ``DIR/summary.json`` (format 1) beside ``DIR/study.yaml``, ``DIR/runs/<run>/``
(ordinary run directories) and ``DIR/figures/*.png``. Values may be null; optional lists may be
absent; anything of the wrong shape is a corrupt summary and a UserError naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gankit.rundir import Metric, Picture, RunDir, Stat, StudyDir, StudyRun, Summary, Verdict

from .run_data import RunData, read_run

__all__ = ["Metric", "Picture", "Stat", "StudyData", "StudyRun", "Verdict", "read_study"]


@dataclass
class StudyData(Summary):
    """The summary of a study, where it lies, its study.yaml and the run directories it names."""

    path: Path = Path()
    study_yaml: str = ""
    run_data: dict[str, RunData] = field(default_factory=dict)  # run "dir" -> what is in it

    def arm_label(self, name: str) -> str:
        """The label of arm ``name`` (its name when the summary has no such arm)."""
        return next((a.label for a in self.arms if a.name == name), name)

    def runs_of(self, arm: str) -> list[RunData]:
        """The run directories of ``arm`` that exist, in summary order."""
        return [self.run_data[r.dir] for r in self.runs if r.arm == arm and r.dir in self.run_data]


def read_study(path: Path) -> StudyData:
    """The study in folder ``path``: its summary.json and the run directories it lists."""
    folder = StudyDir(path)
    summary = folder.read_summary()
    study = StudyData(**vars(summary), path=folder.path, study_yaml=folder.spec_text())
    for run in study.runs:
        run_folder = folder.run_folder(run)  # relative to the study, or absolute for a run that lies elsewhere
        if run.dir not in study.run_data and RunDir(run_folder).exists():
            study.run_data[run.dir] = read_run(run_folder)
    return study
