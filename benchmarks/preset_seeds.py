"""Sample quality of a preset over several seeds, measured with `gankit eval` (quality, not speed).

    .venv/bin/python benchmarks/preset_seeds.py ring8 --seeds 10 [--jobs 2] [--first-seed 0]
        [--keep DIR] [--samples N] [key=value ...]

Trains ``gankit train PRESET seed=S key=value ...`` for each seed, ``--jobs`` at a time with
the cores divided between them (one thread each on 2 cores with --jobs 2), then runs
``gankit eval`` on each finished run and prints every measurement per seed, and per metric the
mean ± standard deviation, the minimum and the maximum over the seeds. The runs are kept in
``--keep`` when given (else in a temporary folder that is removed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gankit.quantities import describe


def python(argv: list[str], threads: int) -> subprocess.CompletedProcess:
    """Run this Python with ``argv`` on ``threads`` threads, its output captured."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env)


def gankit(argv: list[str], threads: int) -> subprocess.CompletedProcess:
    """Run the gankit command with ``argv`` on ``threads`` threads."""
    return python(["-m", "gankit", *argv], threads)


def one_seed(preset: str, seed: int, runs: Path, overrides: list[str], threads: int,
             samples: int | None) -> dict:
    """Train one seed and evaluate it; returns its measurements by name and the training time."""
    name = f"{Path(preset).stem}-s{seed}"
    start = time.perf_counter()
    trained = gankit(["train", preset, f"seed={seed}", *overrides, "--name", name, "--runs-dir", str(runs),
                      "--no-progress"], threads)
    if trained.returncode:
        raise SystemExit(f"seed {seed} failed to train:\n{trained.stderr[-2000:]}")
    seconds = time.perf_counter() - start
    run = Path(trained.stdout.strip().splitlines()[-1])  # name-2, -3... when runs already holds a name
    evaluated = gankit(["eval", str(run), *(["--samples", str(samples)] if samples else [])], threads)
    if evaluated.returncode:
        raise SystemExit(f"seed {seed} failed to evaluate:\n{evaluated.stderr[-2000:]}")
    report = json.loads(max((run / "eval").glob("step_*.json")).read_text())
    values = {m["name"]: m["value"] for m in report["measurements"]}
    protocols = {m["name"]: m["protocol"] for m in report["measurements"]}
    return {"seed": seed, "seconds": round(seconds), "values": values, "protocols": protocols}


def shown(name: str, value: float) -> str:
    """A value as the tables print it: shares as percentages (a ``ratio:`` of two is not one)."""
    if describe(name.split(":")[-1]).share and not name.startswith("ratio:"):
        return f"{100 * value:.2f}%"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--samples", type=int, help="gankit eval --samples (default: each metric's protocol)")
    parser.add_argument("--keep", type=Path, help="keep the run directories here")
    args = parser.parse_intermixed_args()
    threads = max(1, args.cores // args.jobs)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.keep or Path(tmp)
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda s: one_seed(args.preset, s, runs, args.overrides, threads, args.samples),
                                    seeds))
    names = list(results[0]["values"])
    for r in results:
        print(f"seed {r['seed']} ({r['seconds']} s): " + ", ".join(f"{n} {shown(n, r['values'][n])}" for n in names))
    print(f"{args.preset} {' '.join(args.overrides)} over {len(results)} seeds ({threads} thread(s) per run):")
    for name in names:
        values = [r["values"][name] for r in results]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"  {name}: {shown(name, statistics.mean(values))} ± {shown(name, spread)} "
              f"(min {shown(name, min(values))}, max {shown(name, max(values))})")
    print(f"  protocol: {results[0]['protocols'][names[0]]}")


if __name__ == "__main__":
    main()
