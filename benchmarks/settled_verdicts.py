"""Do a study's settled verdicts survive a change of rounding?

    .venv/bin/python benchmarks/settled_verdicts.py noise [--rounding threads|isa|precision]
        [--max-seeds 15] [--out /tmp/settled] [key=value ...]

Runs ``gankit study NAME --until-settled`` twice from scratch with different rounding, then
prints, claim by claim, each run's verdict, whether it settled and after how many seeds, and
whether the two agree; and how many of the two runs' trainings ended with different losses
(the check that the rounding really changed them: otherwise agreement proves nothing).

  threads     two trainings at once with one thread each, vs one at a time with two threads
              (small networks may split no sum between threads: then nothing changes)
  isa         this CPU's vector kernels vs PyTorch's and oneDNN's plain ones (as on an older
              CPU: sums are taken in another order)
  precision   speed.precision=fp32 vs bf16 (bf16 is emulated, slowly, on CPUs without it)

Both study directories are kept under --out: each has its summary.json and report.html. Wall
times include every training's start-up and the measuring; a directory that was already there is
continued, and its time is then only this command's (marked "continued").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from gankit.rundir import RunDir, StudyDir
from gankit.studies.executors import available_cores

TWO_AT_ONCE = ["--jobs", "2", "--cores", "2"]
PLAIN_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}
WAYS = {  # (label, gankit study options, environment)
    "threads": [("one thread per run, two at once", TWO_AT_ONCE, {}),
                ("two threads per run, one at a time", ["--jobs", "1", "--cores", "2"], {})],
    "isa": [("this CPU's vector kernels (AVX2)", TWO_AT_ONCE, {}),
            ("plain kernels (ATEN_CPU_CAPABILITY=default, oneDNN SSE4.1)", TWO_AT_ONCE, PLAIN_KERNELS)],
    "precision": [("fp32", TWO_AT_ONCE + ["speed.precision=fp32"], {}),
                  ("bf16", TWO_AT_ONCE + ["speed.precision=bf16"], {})],
}


def run_study(name: str, out: Path, options: list[str], env: dict, max_seeds: int,
              extra: list[str]) -> tuple[float, bool]:
    """Wall seconds of ``gankit study NAME --until-settled`` into ``out``, and whether it continued one."""
    continued = StudyDir(out).summary.exists()
    start = time.perf_counter()
    command = [sys.executable, "-m", "gankit", "study", name, "--out", str(out), "--until-settled",
               "--max-seeds", str(max_seeds), *options, *extra]
    print("$ " + " ".join([f"{k}={v}" for k, v in env.items()] + command[1:]), flush=True)
    subprocess.run(command, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1", **env})
    return time.perf_counter() - start, continued


def last_losses(study: Path) -> dict[str, dict]:
    """Each run's last logged row without its speed, by run name."""
    runs = StudyDir(study).runs
    rows = {}
    for folder in sorted(runs.iterdir()):
        records = RunDir(folder).records()
        rows[folder.name] = {k: v for k, v in (records[-1] if records else {}).items() if k != "img_per_s"}
    return rows


def verdict_cell(verdict: dict) -> str:
    state = "settled" if verdict.get("settled") else "open"
    return f"{verdict['verdict']} ({state}, {verdict.get('seeds', '?')} seeds)"


def compare(name: str, studies: list[tuple[str, Path, tuple[float, bool]]]) -> None:
    """Print the verdicts side by side, the agreement, the wall times and how many runs differ."""
    summaries = [json.loads(StudyDir(path).summary.read_text()) for _, path, _ in studies]
    (label_a, path_a, _), (label_b, path_b, _) = studies
    print(f"\n### `{name}`: {label_a} vs {label_b}\n")
    print(f"| claim | {label_a} | {label_b} | agree |\n|---|---|---|---|")
    settled_both = agreeing = 0
    for a, b in zip(*(s["verdicts"] for s in summaries)):
        both = bool(a.get("settled")) and bool(b.get("settled"))
        same = a["verdict"] == b["verdict"]
        settled_both += both
        agreeing += both and same
        print(f"| {a['claim']} | {verdict_cell(a)} | {verdict_cell(b)} | {'yes' if same else 'NO'} |")
    print(f"\nclaims settled in both: {settled_both}; their verdicts agree: {agreeing} of {settled_both}")
    for (label, _, (wall, continued)), summary in zip(studies, summaries):
        how = " (continued: this command's time only)" if continued else ""
        print(f"- {label}: {wall / 60:.1f} min{how}, seeds {len(summary['seeds'])}, {summary.get('design', '')}")
    a_rows, b_rows = last_losses(path_a), last_losses(path_b)
    common = sorted(set(a_rows) & set(b_rows))
    differ = sum(a_rows[r] != b_rows[r] for r in common)
    print(f"- runs trained both ways: {len(common)}; ended with different losses: {differ}")


def main() -> None:
    """Run the study both ways and compare."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study")
    parser.add_argument("--rounding", choices=sorted(WAYS), default="threads")
    parser.add_argument("--max-seeds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("/tmp/settled"))
    args, extra = parser.parse_known_args()
    print(f"{args.study}, rounding by {args.rounding}, {available_cores()} cores, torch "
          f"{__import__('torch').__version__}", flush=True)
    studies = []
    for index, (label, options, env) in enumerate(WAYS[args.rounding]):
        out = args.out / f"{args.study}-{args.rounding}-{index}"
        studies.append((label, out, run_study(args.study, out, options, env, args.max_seeds, extra)))
    compare(args.study, studies)


if __name__ == "__main__":
    main()
