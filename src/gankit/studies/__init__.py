"""Studies: the classic lab experiments as data, run over several seeds by one engine.

``run_study("noise")`` trains every arm x seed as an ordinary run directory, measures each
run, judges the study's claims over the seeds and writes ``summary.json`` and a report.
"""

from gankit.studies.run import StudyOptions, StudyResult, run_study
from gankit.studies.study_file import StudySpec, builtin_names, load_study

__all__ = ["StudyOptions", "StudyResult", "StudySpec", "builtin_names", "load_study", "run_study"]
