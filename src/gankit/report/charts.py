"""Line charts as inline SVG: a bare matplotlib Figure (never pyplot), text drawn as paths.

The SVG is trimmed for inlining in HTML: no XML prolog, DOCTYPE, metadata or namespace URLs,
every id prefixed so that several charts on one page never share one, and sized by CSS.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import matplotlib
import numpy as np
from markupsafe import escape
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
MAX_POINTS = 1000  # longer curves are averaged down to this many points (keeps the page light)
MARKERS_BELOW = 40  # points per line under which each point is marked (isolated points stay visible)
LEGEND_INSIDE = 5  # more lines than this: the legend goes under the axes
SVG_STYLE = {"svg.fonttype": "path", "svg.hashsalt": "gankit", "font.size": 9, "axes.titlesize": 10}


def color(index: int) -> str:
    """The colour of the ``index``-th run or arm (the same in every chart of a page)."""
    return PALETTE[index % len(PALETTE)]


@dataclass
class Line:
    """One line of a chart: values by step (NaN: a gap), with an optional shaded band low..high."""

    label: str
    steps: Sequence[float]
    values: Sequence[float]
    color: str = PALETTE[0]
    low: Optional[Sequence[float]] = None
    high: Optional[Sequence[float]] = None
    dashed: bool = False


def thin(values: Sequence[float], limit: int, reduce=np.nanmean) -> np.ndarray:
    """``values`` cut into at most ``limit`` consecutive buckets, each reduced to one number (NaN if all NaN)."""
    array = np.asarray(values, dtype=float)
    if len(array) <= limit:
        return array
    buckets = np.array_split(array, limit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bucket of NaN only: a gap
        return np.array([reduce(b) if np.isfinite(b).any() else np.nan for b in buckets])


def _draw(ax, line: Line) -> bool:
    """Draw ``line`` (and its band) on ``ax``; return whether it has any finite value.

    Long curves are averaged over buckets down to MAX_POINTS (their band keeps each bucket's extremes).
    """
    x = thin(line.steps, MAX_POINTS)
    y = thin(line.values, MAX_POINTS)
    if line.low is not None and line.high is not None:
        low, high = thin(line.low, MAX_POINTS, np.nanmin), thin(line.high, MAX_POINTS, np.nanmax)
        ax.fill_between(x, low, high, where=np.isfinite(low) & np.isfinite(high), color=line.color,
                        alpha=0.18, linewidth=0)
    marker = "o" if len(x) < MARKERS_BELOW else None
    ax.plot(x, y, label=line.label, color=line.color, linewidth=1.5, marker=marker, markersize=3,
            linestyle="--" if line.dashed else "-")
    return bool(np.isfinite(y).any())


def _figure(title: str, xlabel: str, ylabel: str, lines: Sequence[Line], probability: bool) -> Figure:
    """The matplotlib figure of one chart."""
    fig = Figure(figsize=(6.4, 3.5), layout="constrained")
    ax = fig.subplots()
    drawn = [_draw(ax, line) for line in lines]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    steps = {float(s) for line in lines for s in line.steps}
    if len(steps) == 1:  # one logged step: centre it instead of a window of fractions of a step
        ax.set_xlim(min(steps) - 1, min(steps) + 1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if not any(drawn):
        ax.text(0.5, 0.5, "no finite value logged", ha="center", va="center", transform=ax.transAxes, color="grey")
    finite = [v for line in lines for v in line.values if isinstance(v, float) and math.isfinite(v)]
    if probability and finite and min(finite) >= 0.0 and max(finite) <= 1.0:
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    if len(lines) > LEGEND_INSIDE:
        fig.legend(loc="outside lower center", ncols=min(4, len(lines)), fontsize=8, frameon=False)
    elif lines:
        ax.legend(loc="best", fontsize=8)
    return fig


def inline_svg(svg: str, ident: str, title: str) -> str:
    """Matplotlib's SVG text made fit for inlining: ids prefixed with ``ident``, no URLs, sized by CSS."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{ident}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{ident}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{ident}-\1)", svg)
    svg = re.sub(r'\s(width|height)="[^"]*pt"', "", svg, count=2)
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{escape(title)}"', 1).strip()


def line_chart(ident: str, title: str, ylabel: str, lines: Sequence[Line], *, xlabel: str = "step (generator updates)",
               probability: bool = False) -> str:
    """One chart as inline SVG markup: ``lines`` against step, with title, axis labels and a legend.

    ``ident`` must be unique on the page (it prefixes the SVG's ids). ``probability``: values
    that all lie in [0, 1] get a fixed 0..1 axis with a dotted line at 0.5.
    """
    with matplotlib.rc_context(SVG_STYLE):
        fig = _figure(title, xlabel, ylabel, lines, probability)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    return inline_svg(buffer.getvalue(), ident, title)
