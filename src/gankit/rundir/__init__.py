"""The run directory and the study directory, described once (no torch here).

:mod:`gankit.rundir.names` names every file and folder; :class:`RunDir` and :class:`StudyDir`
say where each lies and read it, with one set of record types (:class:`Measurement`,
:class:`Metric`, :class:`Verdict`, :class:`StudyRun`, ...). The engine writes through these
names; the API, the report, the web lab, the studies and export read through these classes.
"""

from gankit.rundir import names
from gankit.rundir.run import (Grid, LossTable, Measurement, MetricsTail, RunDir, finite, health_events, number,
                               parse_metrics)
from gankit.rundir.study import (Metric, Picture, Stat, StudyDir, StudyRun, Summary, SummaryArm, SummaryReader,
                                 Verdict)

__all__ = ["Grid", "LossTable", "Measurement", "Metric", "MetricsTail", "Picture", "RunDir", "Stat",
           "StudyDir", "StudyRun", "Summary", "SummaryArm", "SummaryReader", "Verdict", "finite", "health_events", "names",
           "number", "parse_metrics"]
