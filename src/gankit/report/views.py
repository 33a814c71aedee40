"""What each part of a page shows, as plain data for the templates: charts, grid viewers, tables."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from markupsafe import Markup

from gankit import quantities
from gankit.registry import QUANTITIES
from gankit.rundir import Measurement, RunDir

from .charts import Line, color, line_chart
from .run_data import RunData
from .compare import mean_band
from .quantities import is_share, labelled
from .text import data_uri, fmt

class Ids:
    """Unique ids for the elements of one page (chart SVG prefixes, viewers)."""

    def __init__(self) -> None:
        self._count: Iterator[int] = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        """A fresh id starting with ``prefix``."""
        return f"{prefix}{next(self._count)}"


SMALL_PICTURE = 480  # pixels wide: a grid this small is enlarged with hard pixel edges


@dataclass
class Frame:
    """One sample grid of a viewer panel."""

    step: int
    src: str
    width: Optional[int] = None


def png_width(payload: bytes) -> Optional[int]:
    """The width of a PNG from its header (None when it is not a PNG)."""
    if payload[:8] != b"\x89PNG\r\n\x1a\n" or len(payload) < 24:
        return None
    return int.from_bytes(payload[16:20], "big")


@dataclass
class Panel:
    """One column of a grid viewer: a run's grids, by step."""

    title: str
    frames: list[Frame]
    subtitle: str = ""

    @property
    def small(self) -> bool:
        """Whether the grids are small pictures (enlarged pixel by pixel rather than smoothed)."""
        widths = [f.width for f in self.frames if f.width]
        return bool(widths) and max(widths) < SMALL_PICTURE

    def at(self, step: int) -> Frame:
        """The latest frame at or before ``step`` (the first frame when there is none)."""
        earlier = [f for f in self.frames if f.step <= step]
        return earlier[-1] if earlier else self.frames[0]


@dataclass
class Viewer:
    """Grids of one or more runs under one slider over the union of their steps."""

    ident: str
    panels: list[Panel]
    strip_open: bool = True  # thumbnails shown open (one run) or folded (several)
    steps: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.steps = sorted({f.step for p in self.panels for f in p.frames})

    @property
    def last(self) -> int:
        """The step shown when the page opens."""
        return self.steps[-1]


def frames(run: RunData) -> list[Frame]:
    """The run's grids as data: URIs, by step (unreadable pictures are left out)."""
    out = []
    folder = RunDir(run.path)
    for grid in run.grids:
        try:
            payload = folder.read_bytes(grid.path)
        except (OSError, ValueError):
            continue
        out.append(Frame(grid.step, data_uri(payload, grid.path.suffix), png_width(payload)))
    return out


def viewer(ids: Ids, panels: Sequence[Panel], strip_open: bool) -> Optional[Viewer]:
    """A viewer over the panels that have grids (None when none has)."""
    panels = [p for p in panels if p.frames]
    return Viewer(ids("viewer"), panels, strip_open) if panels else None


def _chart(ids: Ids, title: str, ylabel: str, lines: list[Line], probability: bool = False) -> Markup:
    return Markup(line_chart(ids("c"), title, ylabel, lines, probability=probability))


def _loss_of(runs: Sequence[RunData]) -> Optional[str]:
    """The common ``train.loss`` of the runs (None when they differ or it is unknown)."""
    losses = {r.setting("train.loss") for r in runs}
    return losses.pop() if len(losses) == 1 else None


def _unit(key: str, runs: Sequence[RunData]) -> str:
    q = labelled(key, _loss_of(runs))
    return f"{q.label} ({q.unit})"


def _drawn(run: RunData, key: str) -> bool:
    """Whether ``key`` says something in this run: some finite value that is not 0 (a penalty
    logged as 0 without a regulariser does not)."""
    return key in run.keys() and any(v for v in run.series(key)[1] if math.isfinite(v))


def _on_probability_scale(key: str, unit: str) -> bool:
    return quantities.describe(key).chart == "outputs" and unit == "probability"


def run_charts(ids: Ids, run: RunData) -> list[Markup]:
    """Charts of one run: each training chart of :data:`gankit.quantities.CHARTS` with the
    quantities registered on it (a loss's own ones dashed), then each eval_* metric."""
    keys = run.keys()
    loss = run.setting("train.loss")
    charts = []
    for chart in quantities.CHARTS:
        wanted = [k for k in quantities.on_chart(chart.name, keys) if _drawn(run, k)]
        if not wanted:
            continue
        derived = [labelled(k, loss).label for k in quantities.derived_keys(wanted)]
        title = " and the ".join([chart.title, *derived])
        unit = labelled(wanted[0], loss).unit
        lines = [Line(labelled(k, loss).label, *run.series(k), color=color(i), dashed=quantities.describe(k).derived)
                 for i, k in enumerate(wanted)]
        charts.append(_chart(ids, title, f"{chart.axis} ({unit})", lines,
                             probability=_on_probability_scale(wanted[0], unit)))
    for key in (k for k in keys if k.startswith("eval_")):
        q = labelled(key, loss)
        charts.append(_chart(ids, f"Evaluation: {q.label}", f"{q.label} ({q.unit})",
                             [Line(q.label, *run.series(key), color=color(0))]))
    return charts


def compared_keys(runs: Sequence[RunData]) -> list[str]:
    """The quantities drawn for several runs, in page order: each training chart's, then eval_*."""
    present: dict[str, None] = {}
    for run in runs:
        present.update(dict.fromkeys(k for k in run.keys() if _drawn(run, k)))
    order = [k for chart in quantities.CHARTS for k in quantities.on_chart(chart.name, present)]
    return order + [k for k in present if k.startswith("eval_")]


def runs_charts(ids: Ids, runs: Sequence[RunData], labels: Sequence[str]) -> list[Markup]:
    """One chart per quantity with one line per run."""
    charts = []
    loss = _loss_of(runs)
    for key in compared_keys(runs):
        lines = [Line(label, *run.series(key), color=color(i)) for i, (run, label) in enumerate(zip(runs, labels))
                 if key in run.keys()]
        q = labelled(key, loss)
        charts.append(_chart(ids, q.label[0].upper() + q.label[1:], _unit(key, runs), lines,
                             probability=_on_probability_scale(key, q.unit)))
    return charts


def arm_chart(ids: Ids, key: str, arms: Sequence[tuple[str, Sequence[RunData]]], group: Optional[str] = None) -> Markup:
    """One chart of ``key``: per arm the mean over its runs at each step, shaded from min to max
    (the arms of ``group``, named in the title)."""
    lines = []
    for i, (label, runs) in enumerate(arms):
        band = mean_band(runs, key)
        if band.steps:
            spread = any(c > 1 for c in band.count)
            lines.append(Line(f"{label} (n={max(band.count)})", band.steps, band.mean, color=color(i),
                              low=band.low if spread else None, high=band.high if spread else None))
    every = [r for _, runs in arms for r in runs]
    q = labelled(key, _loss_of(every))
    title = f"{q.label[0].upper() + q.label[1:]}: mean over seeds, shaded min to max"
    if group:
        title = f"{group}: {title}"
    return _chart(ids, title, _unit(key, every), lines, probability=_on_probability_scale(key, q.unit))


def measurement_value(m: Measurement) -> str:
    """An evaluation number as people read it: ``7 / 8`` modes, ``98.5%`` shares, else 4 digits."""
    if m.value is None:
        return "—"
    if m.out_of is not None:
        return f"{fmt(m.value)} / {m.out_of}"
    if is_share(m.name) and math.isfinite(m.value):
        return f"{100 * m.value:.2f}%"
    return fmt(m.value)


def final_measurements(run: RunData) -> dict[str, Measurement]:
    """The latest measurement of each name (eval files and logged eval_* values together)."""
    latest: dict[str, Measurement] = {}
    for m in run.measurements:
        if m.name not in latest or (m.step or 0) >= (latest[m.name].step or 0):
            latest[m.name] = m
    return latest


def table_header(columns: Sequence[str]) -> list[str]:
    """Column titles of a loss table."""
    return [c if c == "step" else quantities.describe(c).shown if c in QUANTITIES else c for c in columns]
