"""Build the page: read the inputs, lay out one run, several runs or a study, render, write atomically."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from gankit import __version__, quantities
from gankit.errors import UserError
from gankit.fsutil import atomic_write_text
from gankit.rundir import RunDir, names

from . import study_page
from .run_data import RunData, kind_of, read_run
from .compare import config_value, differing_keys
from .quantities import labelled
from .study import read_study
from .text import facts, fmt
from .views import (Ids, Panel, final_measurements, frames, measurement_value, run_charts, runs_charts, table_header,
                    viewer)

PAGE_SUFFIXES = (".html", ".htm")


@dataclass
class LossTableView:
    """A loss table ready to print."""

    source: str
    header: list[str]
    rows: list[list[str]]


def _environment() -> Environment:
    """The Jinja environment of the package's templates (autoescaped)."""
    return Environment(loader=PackageLoader("gankit.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def run_view(ids: Ids, run: RunData, label: Optional[str] = None, charts: bool = True) -> dict:
    """What the page shows of one run: facts, notes, charts, loss table, grids, metrics and config."""
    table = None
    if run.loss_table is not None:
        cols = run.loss_table.columns
        table = LossTableView(run.loss_table.source, table_header(cols),
                              [[fmt(row.get(c)) for c in cols] for row in run.loss_table.rows])
    measurements = [{"name": m.name, "value": measurement_value(m), "step": fmt(m.step), "protocol": m.protocol,
                     "source": m.source} for m in run.measurements]
    return {"name": run.name, "label": label or run.name, "path": str(run.path), "status": run.status,
            "facts": facts(run), "notes": run.notes, "charts": run_charts(ids, run) if charts else [],
            "loss_table": table, "measurements": measurements, "config_text": run.config_text,
            "viewer": viewer(ids, [Panel(run.name, frames(run))], strip_open=True) if charts else None}


def _labels(runs: Sequence[RunData]) -> list[str]:
    """Short, distinct names for runs: the folder name, with its parent when two share it."""
    names = [r.path.name for r in runs]
    labels = [f"{r.path.parent.name}/{r.path.name}" if names.count(r.path.name) > 1 else r.path.name for r in runs]
    return [label if labels.count(label) == 1 else f"{label} ({i + 1})" for i, label in enumerate(labels)]


def runs_context(ids: Ids, runs: Sequence[RunData]) -> dict:
    """The page of several runs side by side."""
    labels = _labels(runs)
    diff = differing_keys(runs)
    keys = {k for r in runs for k in r.keys()}
    finals = [(k, labelled(k).label) for k in quantities.table_keys(keys)]
    latest = [final_measurements(r) for r in runs]
    metric_names = list(dict.fromkeys(name for found in latest for name in found))
    rows = [{"label": label, "status": run.status, "step": f"{fmt(run.last_step)} / {fmt(run.total_steps)}",
             "config": [config_value(run, k) for k in diff], "finals": [fmt(run.final(k)) for k, _ in finals],
             "metrics": [measurement_value(found[n]) if n in found else "—" for n in metric_names]}
            for run, label, found in zip(runs, labels, latest)]
    panels = [Panel(label, frames(run), subtitle=run.status) for run, label in zip(runs, labels)]
    return {"title": "Runs compared: " + ", ".join(labels), "runs": [run_view(ids, r, l, charts=False)
                                                                   for r, l in zip(runs, labels)],
            "diff": diff, "finals": finals, "metric_names": metric_names, "rows": rows,
            "charts": runs_charts(ids, runs, labels), "viewer": viewer(ids, panels, strip_open=False)}


def render(paths: Sequence[Path]) -> str:
    """The report of ``paths`` (one run, several runs, or one study directory) as HTML text."""
    paths = list(dict.fromkeys(Path(p) for p in paths))
    if not paths:
        raise UserError("give at least one run directory or a study directory")
    kinds = [kind_of(p) for p in paths]
    ids = Ids()
    if "study" in kinds:
        if len(paths) > 1:
            raise UserError("a study directory is reported on its own: gankit report STUDY_DIR")
        template, context = "study.html.j2", study_page.study_context(ids, read_study(paths[0]))
    elif len(paths) == 1:
        run = read_run(paths[0])
        template, context = "run.html.j2", {"title": f"{run.name}: gankit run", "r": run_view(ids, run)}
    else:
        template, context = "runs.html.j2", runs_context(ids, [read_run(p) for p in paths])
    env = _environment()
    loader = env.loader
    assets = {name: Markup(loader.get_source(env, name)[0]) for name in ("report.css", "report.js")}
    made = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return env.get_template(template).render(version=__version__, made=made, sources=[str(p) for p in paths],
                                             css=assets["report.css"], js=assets["report.js"], **context)


def default_output(paths: Sequence[Path]) -> Path:
    """RUN/report.html or STUDY_DIR/report.html for one folder, ./report.html for several."""
    return RunDir(paths[0]).report if len(paths) == 1 else Path(names.REPORT)


def _check_output(out: Path, paths: Sequence[Path]) -> None:
    """Refuse an output that is a folder, or a file of an input that is not a web page."""
    if out.is_dir():
        raise UserError(f"cannot write the report to {out}: it is a folder")
    target = out.resolve()
    for path in paths:
        root = Path(path).resolve()
        if root in target.parents and target.suffix.lower() not in PAGE_SUFFIXES:
            raise UserError(f"refusing to write the report to {out}: it is inside {path} and not an .html file")


def build_report(paths: list[Path], out: Optional[Path] = None) -> Path:
    """Write the HTML report of ``paths`` and return where it went.

    ``paths``: one run directory, several run directories (compared side by side), or one study
    directory. ``out`` defaults to RUN/report.html, STUDY_DIR/report.html, or ./report.html for
    several runs. The page is self-contained (pictures as data: URIs, charts as inline SVG, no
    network). Nothing but the report file is written; the file is replaced atomically.
    """
    paths = [Path(p) for p in paths]
    html = render(paths)
    out = Path(out) if out is not None else default_output(list(dict.fromkeys(paths)))
    _check_output(out, paths)
    atomic_write_text(out, html)
    return out
