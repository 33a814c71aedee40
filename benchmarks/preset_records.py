"""The shipped presets against the published records, every row over its seeds (quality, not speed).

    .venv/bin/python benchmarks/preset_records.py [ROW ...] [--jobs 2] [--cores N] [--first-seed S]
        [--seeds N] [--results FILE] [--write-results-md]
    .venv/bin/python benchmarks/preset_records.py --list

Each row of ``RECORDS`` is a preset as shipped (``gankit train PRESET seed=S``, plus the scale a
row states), its seeds, what gankit's evaluator measures on it (the protocol ``gankit eval``
prints), the published best and the target. Running a row trains and measures the seeds the
results file does not hold yet for the preset as it is now (a seed measured on an older preset
file is stale and runs again), ``--jobs`` at a time with the cores divided between them.
Rows that compare with the classic loop (dcgan-mnist, dcgan-faces) train both sides per seed
with benchmarks/quality_vs_textbook.py and record the ratio.

The results file (default benchmarks/records.json) keeps every seed's measurements with the
preset file's digest, the command and the time it took. The table is built from it alone:
mean ± standard deviation, the minimum (or maximum, for what should be low) and whether the target
holds on every seed; a row with seeds missing says how many were measured and what the rest would
cost on this machine's CPU ("did not fit"). ``--write-results-md`` puts the table into
benchmarks/RESULTS.md between its ``records`` markers; without it the table is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from preset_seeds import one_seed, python, shown  # noqa: E402
from speed import SHARED_DATA  # noqa: E402

from gankit.quantities import describe  # noqa: E402

PRESETS = HERE.parent / "src" / "gankit" / "presets"
RESULTS_MD = HERE / "RESULTS.md"
MARKERS = ("<!-- records: written by benchmarks/preset_records.py -->", "<!-- /records -->")
FACES = SHARED_DATA / "anime_faces"
# The faces at the scale a CPU affords (the faces studies' scale): 16-wide networks, the first
# 5,000 faces (the image measure's reference), 600 steps.
FACES_SCALE = ["model.g_width=16", "model.d_width=16", "data.limit=5000"]


@dataclass(frozen=True)
class Bar:
    """One condition a seed must meet: ``name`` (a measurement, or ``ratio:NAME`` for gankit /
    classic loop) compared with ``value`` by ``op`` (">=", "<=" or "==")."""

    name: str
    op: str
    value: float

    def holds(self, values: dict) -> Optional[bool]:
        """Whether the measured values meet the bar (None when the measurement is missing)."""
        if self.name not in values:
            return None
        got = values[self.name]
        return {">=": got >= self.value, "<=": got <= self.value, "==": got == self.value}[self.op]

    def describe(self) -> str:
        """The bar in words, e.g. ``high_quality ≥ 96%``."""
        op = {">=": "≥", "<=": "≤", "==": "="}[self.op]
        return f"{label(self.name)} {op} {shown(self.name, self.value)}"


@dataclass(frozen=True)
class Record:
    """A row of the table: a preset at a scale, its seeds, the bars and the published best."""

    row: str
    preset: str
    seeds: int
    bars: tuple[Bar, ...]
    published: str
    minutes_per_seed: float  # on one thread of the 2-core AVX2 development machine, training and measuring
    overrides: tuple[str, ...] = ()
    steps: Optional[int] = None
    classic: tuple[str, ...] = ()  # not empty: compared with the classic loop, with these overrides on both sides
    shown_values: tuple[str, ...] = ()  # what the table shows, in order

    def overrides_for_run(self) -> list[str]:
        """The key=value overrides of the gankit run (the steps included)."""
        steps = [f"train.steps={self.steps}"] if self.steps and not self.classic else []
        return [*self.overrides, *steps]

    def digest(self) -> str:
        """What makes a stored seed current: the preset's settings (not its comments) and this row's
        (not where this machine keeps the shared data)."""
        preset = yaml.safe_load((PRESETS / f"{self.preset}.yaml").read_text())
        settings = json.dumps([preset, self.overrides, self.steps, self.classic], sort_keys=True)
        settings = settings.replace(str(SHARED_DATA), "SHARED_DATA")
        return hashlib.sha256(settings.encode()).hexdigest()[:16]


MNIST = f"data.root={SHARED_DATA}"
# The image rows train in fp32 so that a record holds on any machine: speed.precision=auto trains
# the conv nets in bf16 where the CPU has it natively and in fp32 elsewhere, and a seed's values
# differ between the two (cgan-mnist-2000 seed 1: 97.19% class accuracy in fp32, 98.26% in bf16).
# The toys' MLPs train in fp32 under auto everywhere.
FP32 = "speed.precision=fp32"
RECORDS = [
    Record("ring8", "ring8", 10, (Bar("modes", "==", 8), Bar("high_quality", ">=", 0.97)),
           "PacGAN3 7.8 / 97.7%", 13, shown_values=("modes", "high_quality")),
    Record("grid25", "grid25", 10, (Bar("modes", "==", 25), Bar("high_quality", ">=", 0.96)),
           "PacGAN4 24.8 / 93.6%; ALI 24.1 / 95.7%", 28, shown_values=("modes", "high_quality")),
    Record("stacked-mnist", "stacked-mnist", 3, (Bar("stacked_modes", ">=", 1000), Bar("stacked_kl", "<=", 0.05)),
           "PacDCGAN2 1000 modes, KL 0.06", 95, overrides=(MNIST, FP32), shown_values=("stacked_modes", "stacked_kl")),
    Record("cgan-mnist-2000", "cgan-mnist", 3, (Bar("class_accuracy", ">=", 0.99),),
           "the lab's network: about 97.3%", 13, overrides=(MNIST, FP32), steps=2000,
           shown_values=("class_accuracy", "domain_fd")),
    Record("cgan-mnist-10000", "cgan-mnist", 3, (Bar("class_accuracy", ">=", 0.997), Bar("domain_fd", "<=", 5)),
           "— (real training digits: domain FD 2.8–3.2, benchmarks/domain_floor.py)", 60,
           overrides=(MNIST, FP32), steps=10000, shown_values=("class_accuracy", "domain_fd")),
    Record("dcgan-mnist-4690", "dcgan-mnist", 3, (Bar("ratio:domain_fd", "<=", 0.5),),
           "— (the PyTorch example's loop)", 34, overrides=(FP32,), steps=4690, classic=("--data", str(SHARED_DATA)),
           shown_values=("ratio:domain_fd", "domain_fd", "classic:domain_fd")),
    Record("dcgan-faces-600", "dcgan-faces", 3,
           (Bar("ratio:image_fd", "<=", 0.5), Bar("gain:image_recall", ">=", 0), Bar("gain:image_coverage", ">=", 0)),
           "— (the classic loop on the lab's settings)", 10, overrides=(FP32,), steps=600,
           classic=("--data", str(FACES), "--both", *FACES_SCALE),
           shown_values=("ratio:image_fd", "image_fd", "classic:image_fd", "image_recall", "classic:image_recall",
                         "image_coverage", "classic:image_coverage")),
]

def label(name: str) -> str:
    """A measurement's name as the table prints it."""
    for prefix, words in (("ratio:", "gankit / classic "), ("classic:", "classic "), ("gain:", "gankit − classic ")):
        if name.startswith(prefix):
            return words + name[len(prefix):]
    return name


def lower_is_better(name: str) -> bool:
    """Whether a smaller value of ``name`` is the better one."""
    return name.startswith("ratio:") or describe(name.split(":")[-1]).better == "lower"


def measure_seed(record: Record, seed: int, threads: int, keep: Path) -> dict:
    """Train and measure one seed of a row; returns its values and seconds."""
    start = time.perf_counter()
    if record.classic:
        values = compared_with_classic(record, seed, threads, keep)
    else:
        values = one_seed(record.preset, seed, keep, record.overrides_for_run(), threads, None)["values"]
    return {"values": values, "seconds": round(time.perf_counter() - start)}


def compared_with_classic(record: Record, seed: int, threads: int, keep: Path) -> dict:
    """Both sides of benchmarks/quality_vs_textbook.py for one seed, read from its JSON output:
    gankit's values, the classic loop's (``classic:NAME``), their ratios (``ratio:NAME``) and
    differences (``gain:NAME``)."""
    out = keep / f"{record.row}-s{seed}.json"
    done = python([str(HERE / "quality_vs_textbook.py"), record.preset, "--steps", str(record.steps), "--seed", str(seed),
                   *record.classic, "--keep", str(keep / f"{record.row}-s{seed}"), "--json", str(out),
                   *record.overrides], threads)
    if done.returncode:
        raise SystemExit(f"{record.row} seed {seed} failed:\n{done.stderr[-2000:]}")
    sides = json.loads(out.read_text())
    values = dict(sides["gankit"])
    for name, classic in sides["classic"].items():
        values[f"classic:{name}"] = classic
        if name in sides["gankit"]:
            values[f"ratio:{name}"] = sides["gankit"][name] / classic if classic else float("nan")
            values[f"gain:{name}"] = sides["gankit"][name] - classic
    return values


def summary(record: Record, stored: dict) -> dict:
    """A row's cells from its current stored seeds."""
    seeds = [s for s in stored.values() if s["digest"] == record.digest()]
    cells = {}
    for name in record.shown_values:
        values = [s["values"][name] for s in seeds if name in s["values"]]
        if not values:
            continue
        worst = max(values) if lower_is_better(name) else min(values)
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        cells[name] = f"{shown(name, statistics.mean(values))} ± {shown(name, spread)} (worst {shown(name, worst)})"
    verdicts = [all(bar.holds(s["values"]) for bar in record.bars) for s in seeds]
    return {"measured": len(seeds), "cells": cells, "met_on": sum(verdicts)}


def table(stored: dict) -> str:
    """The markdown table of every row from the stored results."""
    lines = ["| row | seeds measured | measured: mean ± sd (worst seed) | published best | target (every seed) | met |",
             "|---|---|---|---|---|---|"]
    for record in RECORDS:
        row = summary(record, stored.get(record.row, {}))
        measured = "; ".join(f"{label(n)} {c}" for n, c in row["cells"].items()) or "—"
        missing = record.seeds - row["measured"]
        if row["measured"] == 0:
            met = f"not measured: did not fit the CPU time (about {record.minutes_per_seed:g} min per seed on one thread)"
        elif missing > 0:
            met = (f"met on {row['met_on']} of the {row['measured']} measured seeds; {missing} seed(s) did not fit "
                   f"the CPU time (about {record.minutes_per_seed:g} min each on one thread)")
        else:
            met = "**yes**" if row["met_on"] == record.seeds else f"no: met on {row['met_on']} of {record.seeds} seeds"
        target = " and ".join(bar.describe() for bar in record.bars)
        lines.append(f"| `{record.row}` | {row['measured']} of {record.seeds} | {measured} | {record.published} | "
                     f"{target} | {met} |")
    return "\n".join(lines)


def write_into_results_md(text: str) -> None:
    """Replace the table between the markers of benchmarks/RESULTS.md."""
    page = RESULTS_MD.read_text()
    start, end = page.index(MARKERS[0]), page.index(MARKERS[1])
    RESULTS_MD.write_text(page[:start + len(MARKERS[0])] + "\n" + text + "\n" + page[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", help="rows to run (none: only write the table)")
    parser.add_argument("--list", action="store_true", help="list the rows and their cost")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, help="run at most this many seeds (default: the row's)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--results", type=Path, default=HERE / "records.json")
    parser.add_argument("--keep", type=Path, default=Path("/tmp/gankit-records"), help="run directories")
    parser.add_argument("--write-results-md", action="store_true")
    args = parser.parse_args()
    if args.list:
        for r in RECORDS:
            print(f"{r.row}: {r.seeds} seeds, about {r.minutes_per_seed:g} min per seed on one thread")
        return
    by_row = {r.row: r for r in RECORDS}
    unknown = [r for r in args.rows if r not in by_row]
    if unknown:
        raise SystemExit(f"unknown row(s) {', '.join(unknown)}; rows: {', '.join(by_row)}")
    stored = json.loads(args.results.read_text()) if args.results.exists() else {}
    threads = max(1, args.cores // args.jobs)
    for name in args.rows:
        record = by_row[name]
        have = stored.setdefault(name, {})
        last = args.first_seed + (args.seeds or record.seeds)
        todo = [s for s in range(args.first_seed, min(last, record.seeds))
                if have.get(str(s), {}).get("digest") != record.digest()]
        keep = args.keep / name
        keep.mkdir(parents=True, exist_ok=True)

        def run(seed: int, record: Record = record, keep: Path = keep) -> tuple[int, dict]:
            return seed, measure_seed(record, seed, threads, keep)

        with ThreadPoolExecutor(args.jobs) as pool:
            for seed, result in pool.map(run, todo):
                have[str(seed)] = {**result, "digest": record.digest()}
                args.results.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
                print(f"{name} seed {seed} ({result['seconds']} s): "
                      + ", ".join(f"{label(n)} {shown(n, result['values'][n])}" for n in record.shown_values
                                  if n in result["values"]), flush=True)
    text = table(stored)
    if args.write_results_md:
        write_into_results_md(text)
    print(text)


if __name__ == "__main__":
    main()
