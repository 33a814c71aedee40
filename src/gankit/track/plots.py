"""Loss curves (PNG) and the loss table at the sample-grid steps (Markdown and CSV)."""

from __future__ import annotations

import csv
import math
import os
from typing import Iterable, Sequence

from gankit import quantities
from gankit.fsutil import atomic_write

from ._util import as_float


def _series(records: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """Return (steps, values) for the records that have both a numeric step and a numeric ``key``, by step."""
    pairs = []
    for record in records:
        step, value = as_float(record.get("step")), as_float(record.get(key))
        if step is not None and value is not None:
            pairs.append((step, value))
    pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _logged(records: Sequence[dict]) -> list[str]:
    """Every key of the records, in first-seen order."""
    return list(dict.fromkeys(key for record in records for key in record))


def _panel(ax, records, chart: quantities.Chart) -> list[float]:
    """Draw the quantities of ``chart`` on ``ax`` with title, labels and legend; return all plotted
    values. A curve with no value other than 0 (a penalty without a regulariser) is left out."""
    plotted: list[float] = []
    for key in quantities.on_chart(chart.name, _logged(records)):
        quantity = quantities.describe(key)
        steps, values = _series(records, key)
        if not any(values):
            continue
        ax.plot(steps, values, label=quantity.label, linewidth=1.2, marker="." if len(steps) < 30 else None,
                linestyle="--" if quantity.derived else "-")
        plotted.extend(values)
    ax.set_title(chart.title)
    ax.set_xlabel("step")
    ax.set_ylabel(chart.axis)
    ax.grid(True, alpha=0.3)
    if plotted:
        ax.legend(loc="best")
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    return plotted


def plot_losses(records: Sequence[dict], path: str | os.PathLike) -> None:
    """Write one PNG with two side-by-side panels, atomically: the quantities registered on the
    losses chart (D loss on real, on fake, D total, G loss, a penalty, the loss's own estimates)
    and on the outputs chart (mean D(x) and mean D(G(z))) against step. Records missing a key are
    simply left out of that curve. Uses a bare matplotlib ``Figure`` (Agg), never pyplot or a screen.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.5), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2)
    charts = {chart.name: chart for chart in quantities.CHARTS}
    _panel(left, records, charts["losses"])
    outputs = _panel(right, records, charts["outputs"])
    finite = [v for v in outputs if math.isfinite(v)]
    if finite and min(finite) >= 0.0 and max(finite) <= 1.0:
        right.set_ylim(-0.02, 1.02)
        right.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")


def _table_rows(records: Iterable[dict], steps: Iterable[int], columns: Sequence[str]) -> list[dict]:
    """One row per record whose step is in ``steps``, restricted to ``columns`` (missing -> None)."""
    wanted = {int(s) for s in steps}
    rows = []
    for record in records:
        step = as_float(record.get("step"))
        if step is None or step != int(step) or int(step) not in wanted:
            continue
        row = {key: as_float(record.get(key)) for key in columns}
        rows.append({"step": int(step), **row})
    return rows


def _fmt(value: float | None) -> str:
    """Markdown cell text: blank for missing, 4 decimals otherwise."""
    return "" if value is None else f"{value:.4f}"


def write_loss_table(records: Sequence[dict], steps: Iterable[int], md_path: str | os.PathLike,
                     csv_path: str | os.PathLike) -> list[dict]:
    """Write the losses at the sample-grid ``steps`` as a Markdown and a CSV table, both atomically.

    One row per record whose step is in ``steps``, in record order; columns step and the table
    quantities (D real, D fake, D total, G, D(x), D(G(z)), and a loss's own, such as the
    Wasserstein estimate, when the records hold it). Markdown: aligned pipe table, numbers with 4 decimals. CSV header:
    ``step,d_real,d_fake,d_loss,g_loss,d_x,d_g_z[,...]`` with full-precision numbers. Missing values
    are blank. Returns the rows as dicts keyed by the CSV header.
    """
    logged = set(_logged(records))
    columns = [key for key in quantities.table_keys() if key in logged or not quantities.describe(key).derived]
    rows = _table_rows(records, steps, columns)
    headers = ["step"] + [quantities.describe(key).shown for key in columns]
    cells = [[str(row["step"])] + [_fmt(row[key]) for key in columns] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.rjust(w) for h, w in zip(headers, widths)) + " |",
             "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"]
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    with atomic_write(md_path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with atomic_write(csv_path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["step", *columns])
        for row in rows:
            writer.writerow([row["step"]] + ["" if row[k] is None else repr(row[k]) for k in columns])
    return rows
