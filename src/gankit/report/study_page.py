"""The layout of a study page: verdicts, the table of arms, curves by arm, figures, grids, runs."""

from __future__ import annotations

import math
from typing import Optional

from gankit.rundir import StudyDir

from .study import Metric, Picture, Stat, StudyData
from .text import data_uri, fmt, paragraphs
from .views import Ids, Panel, arm_chart, frames, viewer

ARROWS = {"lower": "↓", "higher": "↑"}
SHARE_UNITS = ("share", "share of seeds")


def arm_order(study: StudyData) -> list[str]:
    """Arm names in summary order, then any arm named only by the table or the runs."""
    names = [a.name for a in study.arms]
    extra = [*study.table, *(r.arm for r in study.runs)]
    return list(dict.fromkeys(names + [a for a in extra if a]))


def value_text(value: Optional[float], unit: str) -> str:
    """A study value: shares (unit ``share`` or ``share of seeds``) in percent, else :func:`fmt`."""
    if unit in SHARE_UNITS and value is not None and math.isfinite(value):
        return f"{100 * value:.1f}%"
    return fmt(value)


def _cell(metric: Metric, stat: Optional[Stat]) -> dict:
    """One table cell: ``mean ± std`` and the count."""
    if stat is None or stat.mean is None:
        return {"key": metric.key, "mean": None, "text": "—", "n": stat.n if stat else None, "best": False}
    text = value_text(stat.mean, metric.unit)
    text += f" ± {value_text(stat.std, metric.unit)}" if stat.std is not None else ""
    return {"key": metric.key, "mean": stat.mean, "text": text, "n": stat.n, "best": False}


def _mark_best(rows: list[dict], metrics: list[Metric]) -> bool:
    """Highlight the best finite mean of each column among ``rows``; return whether any was marked."""
    marked = False
    for j, metric in enumerate(metrics):
        if metric.better is None:
            continue
        means = [r["cells"][j]["mean"] for r in rows]
        finite = [m for m in means if m is not None and math.isfinite(m)]
        if len(finite) < 2:  # nothing to compare with
            continue
        best = min(finite) if metric.better == "lower" else max(finite)
        for row in rows:
            if row["cells"][j]["mean"] == best:
                row["cells"][j]["best"] = marked = True
    return marked


def table_view(study: StudyData) -> dict:
    """The table of arms: rows grouped by the arms' group, cells mean ± std (n), best marked."""
    groups_of = {a.name: a.group for a in study.arms}
    order = arm_order(study)
    group_names = list(dict.fromkeys(groups_of.get(a) for a in order))
    grouped = any(g is not None for g in group_names)
    groups, any_best = [], False
    for name in group_names:
        rows = [{"arm": arm, "label": study.arm_label(arm),
                 "cells": [_cell(m, study.table.get(arm, {}).get(m.key)) for m in study.metrics]}
                for arm in order if groups_of.get(arm) == name]
        if rows:
            any_best |= _mark_best(rows, study.metrics)
            groups.append({"name": name, "rows": rows})
    columns = [{"key": m.key, "label": m.label, "unit": m.unit, "better": m.better, "arrow": ARROWS.get(m.better or "")}
               for m in study.metrics]
    return {"columns": columns, "groups": groups, "grouped": grouped, "any_best": any_best,
            "protocols": [m for m in study.metrics if m.protocol]}


def _picture(study: StudyData, picture: Picture, title: str) -> dict:
    """A figure with its picture as a data: URI (None when the file is missing, outside the
    study or reached through a link)."""
    path = study.path / picture.path
    try:
        src: Optional[str] = data_uri(StudyDir(study.path).read_bytes(path), path.suffix)
    except (OSError, ValueError):
        src = None
    return {"path": picture.path, "title": title, "caption": picture.caption, "src": src}


def runs_view(study: StudyData) -> dict:
    """The runs table: one row per summary entry."""
    rows = []
    for run in study.runs:
        data = study.run_data.get(run.dir)
        rows.append({"name": run.name, "arm": study.arm_label(run.arm), "seed": fmt(run.seed), "status": run.status,
                     "step": fmt(run.step if run.step is not None else data.last_step if data else None),
                     "missing": data is None,
                     "cells": [value_text(run.values.get(m.key), m.unit) for m in study.metrics]})
    return {"rows": rows}


def _notes(study: StudyData) -> list[str]:
    """What the page cannot show: run directories that are missing, arms with no run."""
    missing = list(dict.fromkeys(r.dir for r in study.runs if r.dir not in study.run_data))
    notes = [f"run directory {d} is missing: its curves and grids are left out" for d in missing]
    for curve in study.curves:
        if not any(curve in run.keys() for run in study.run_data.values()):
            notes.append(f"no run logged '{curve}': its chart is left out")
    return notes


def study_context(ids: Ids, study: StudyData) -> dict:
    """Everything the study template shows."""
    order = arm_order(study)
    group_of = {a.name: a.group for a in study.arms}
    charts = []
    for group in dict.fromkeys(group_of.get(a) for a in order):  # arms of one group share their charts
        arms = [(study.arm_label(a), study.runs_of(a)) for a in order if group_of.get(a) == group]
        arms = [(label, runs) for label, runs in arms if runs]
        charts += [arm_chart(ids, key, arms, group=group) for key in study.curves
                   if any(key in run.keys() for _, runs in arms for run in runs)]
    panels, shown = [], set()
    for arm in order:
        first = next((run for run in study.runs_of(arm) if run.grids), None)
        if first is not None and first.path not in shown:  # arms that sample one run show it once
            shown.add(first.path)
            panels.append(Panel(study.arm_label(arm), frames(first), subtitle=first.path.name))
    facts = [(label, value) for label, value in (
        ("base", study.base), ("steps", fmt(study.steps) if study.steps is not None else ""),
        ("seeds", ", ".join(str(s) for s in study.seeds)), ("arms", str(len(study.arms))),
        ("runs", str(len(study.runs))), ("judged", study.design), ("folder", str(study.path))) if value]
    return {"title": f"{study.title}: gankit study", "s": study, "description": paragraphs(study.description),
            "facts": facts, "notes": _notes(study), "table": table_view(study), "charts": charts,
            "figures": [_picture(study, f, f.title) for f in study.figures],
            "samples": [_picture(study, s, study.arm_label(s.arm or "")) for s in study.samples],
            "viewer": viewer(ids, panels, strip_open=False), "runs": runs_view(study)}
