"""Loss curves (PNG) and the loss table at the sample-grid steps (Markdown and CSV)."""

from __future__ import annotations

import csv
import math
import os
from typing import Iterable, Sequence

from gankit.fsutil import atomic_write
from gankit.quantities import describe

from ._util import as_float

LOSS_CURVES = ("d_real", "d_fake", "d_loss", "g_loss", "d_penalty")
OUTPUT_CURVES = ("d_x", "d_g_z", "wasserstein")
SHOWN_WHEN_NONZERO = {"d_penalty"}  # a curve that is 0 unless a regulariser is on
TABLE_KEYS = ("d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z")  # after the step


def _series(records: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """Return (steps, values) for the records that have both a numeric step and a numeric ``key``, by step."""
    pairs = []
    for record in records:
        step, value = as_float(record.get("step")), as_float(record.get(key))
        if step is not None and value is not None:
            pairs.append((step, value))
    pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _panel(ax, records, curves, title, ylabel) -> list[float]:
    """Draw ``curves`` on ``ax`` with title, labels and legend; return all plotted values."""
    plotted: list[float] = []
    for key in curves:
        label = describe(key).label
        steps, values = _series(records, key)
        if key in SHOWN_WHEN_NONZERO and not any(values):
            continue
        if steps:
            ax.plot(steps, values, label=label, linewidth=1.2, marker="." if len(steps) < 30 else None)
            plotted.extend(values)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if plotted:
        ax.legend(loc="best")
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    return plotted


def plot_losses(records: Sequence[dict], path: str | os.PathLike) -> None:
    """Write one PNG with two side-by-side panels, atomically.

    Left: D loss on real, D loss on fake, D total and G loss against step. Right: mean D(x)
    and mean D(G(z)) against step. Records missing a key are simply left out of that curve.
    Uses a bare matplotlib ``Figure`` (Agg), never pyplot or a screen.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.5), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2)
    _panel(left, records, LOSS_CURVES, "Losses", "loss")
    outputs = _panel(right, records, OUTPUT_CURVES, "Discriminator outputs", "mean D output")
    finite = [v for v in outputs if math.isfinite(v)]
    if finite and min(finite) >= 0.0 and max(finite) <= 1.0:
        right.set_ylim(-0.02, 1.02)
        right.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")


def _table_rows(records: Iterable[dict], steps: Iterable[int]) -> list[dict]:
    """One row per record whose step is in ``steps``, restricted to the table columns (missing -> None)."""
    wanted = {int(s) for s in steps}
    rows = []
    for record in records:
        step = as_float(record.get("step"))
        if step is None or step != int(step) or int(step) not in wanted:
            continue
        row = {key: as_float(record.get(key)) for key in TABLE_KEYS}
        rows.append({"step": int(step), **row})
    return rows


def _fmt(value: float | None) -> str:
    """Markdown cell text: blank for missing, 4 decimals otherwise."""
    return "" if value is None else f"{value:.4f}"


def write_loss_table(records: Sequence[dict], steps: Iterable[int], md_path: str | os.PathLike,
                     csv_path: str | os.PathLike) -> list[dict]:
    """Write the losses at the sample-grid ``steps`` as a Markdown and a CSV table, both atomically.

    One row per record whose step is in ``steps``, in record order; columns step, D real, D fake,
    D total, G, D(x), D(G(z)). Markdown: aligned pipe table, numbers with 4 decimals. CSV header:
    ``step,d_real,d_fake,d_loss,g_loss,d_x,d_g_z`` with full-precision numbers. Missing values are
    blank. Returns the rows as dicts keyed by the CSV header.
    """
    rows = _table_rows(records, steps)
    headers = ["step"] + [describe(key).shown for key in TABLE_KEYS]
    cells = [[str(row["step"])] + [_fmt(row[key]) for key in TABLE_KEYS] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.rjust(w) for h, w in zip(headers, widths)) + " |",
             "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"]
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    with atomic_write(md_path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with atomic_write(csv_path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["step", *TABLE_KEYS])
        for row in rows:
            writer.writerow([row["step"]] + ["" if row[k] is None else repr(row[k]) for k in TABLE_KEYS])
    return rows
