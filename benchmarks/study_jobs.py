"""How a study's trainings should share the cores: one at a time with every core, J at a time
with a share each, or J at a time each taking every core (oversubscribed).

    .venv/bin/python benchmarks/study_jobs.py [--preset digits] [--runs 4] [--steps 600]

Runs the same small study (``--runs`` seeds of one preset) from scratch three ways, in one
process, one after the other, and prints each wall time and its ratio to the first:

  jobs=1, all cores         one training at a time, with every core
  jobs=C, cores/C threads   C trainings at once, one share of the cores each (what --jobs does)
  jobs=C, C threads each    C trainings at once, each with every core (what a naive pool does)

Wall times include each training's start-up (about 5 s of imports) and the study's measuring.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gankit.studies.executors import available_cores


def study_file(folder: Path, preset: str, runs: int) -> Path:
    """A study of ``runs`` seeds of ``preset``, measuring nothing costly."""
    path = folder / "bench.yaml"
    path.write_text(f"base: {preset}\nseeds: {runs}\nmeasure: [outputs]\nset: {{train.sample_steps: [0]}}\n")
    return path


def timed(study: Path, out: Path, steps: int, jobs: int, cores: int) -> float:
    """Wall seconds of ``gankit study`` from scratch."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gankit", "study", str(study), "--out", str(out), "--steps", str(steps),
                    "--jobs", str(jobs), "--cores", str(cores)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Time the three ways and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    cores = available_cores()
    with tempfile.TemporaryDirectory() as folder:
        study = study_file(Path(folder), args.preset, args.runs)
        ways = [(f"jobs=1, {cores} threads", 1, cores),
                (f"jobs={cores}, 1 thread each", cores, cores),
                (f"jobs={cores}, {cores} threads each (oversubscribed)", cores, cores * cores)]
        print(f"{args.runs} runs of {args.preset}, {args.steps} steps each, {cores} cores")
        baseline = None
        for label, jobs, budget in ways:
            seconds = timed(study, Path(folder) / "out", args.steps, jobs, budget)
            baseline = baseline or seconds
            print(f"{label:<45} {seconds:7.1f} s   {baseline / seconds:5.2f}x the first", flush=True)


if __name__ == "__main__":
    main()
