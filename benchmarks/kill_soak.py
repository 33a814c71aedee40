"""The long version of tests/engine/test_kills.py: many runs, each killed with SIGKILL many times
(at random moments, and halfway through writing each kind of file), resumed until done, and
compared bit for bit with an uninterrupted run.

    .venv/bin/python benchmarks/kill_soak.py [--runs 10] [--kills 8] [--seed 0]

Each run is killed ``--kills`` times at random moments (0.3-8 s after each start; a kill that
comes after the run ended does not count), then once halfway through each write listed in the
test's CRASH_POINTS, each time resumed with ``gankit train --resume``. Prints one line per run
and the totals: kills that landed, commands run, runs identical to the uninterrupted one.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "engine"))

from kills import assert_same_run, finish, resume_until_done  # noqa: E402
from test_kills import CRASH_POINTS  # noqa: E402


def soak_one(folder: Path, reference: Path, rng: random.Random, kills: int) -> tuple[int, int, bool]:
    """One run killed ``kills`` times at random, resumed; then every crash point on fresh runs.
    Returns (kills landed, commands run, identical every time)."""
    landed, commands = resume_until_done(folder, "random", rng=rng, low=0.3, high=8.0, max_kills=kills)
    identical = _same(folder / "random", reference)
    for point in CRASH_POINTS:
        name = f"crash-{point.replace(':', '-').replace('.', '_')}"
        if finish(folder, name, crash=point) == -9:
            landed += 1
        commands += 1
        _, more = resume_until_done(folder, name)
        commands += more
        identical &= _same(folder / name, reference)
    return landed, commands, identical


def _same(run: Path, reference: Path) -> bool:
    try:
        assert_same_run(run, reference)
        return True
    except AssertionError as err:
        print(f"  DIFFERENT: {run.name}: {err}", flush=True)
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--kills", type=int, default=8, help="random kills per run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    totals = [0, 0, 0]
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        reference_runs = Path(tmp) / "reference"
        assert finish(reference_runs, "run") == 0
        for index in range(args.runs):
            landed, commands, identical = soak_one(Path(tmp) / f"soak-{index}", reference_runs / "run", rng, args.kills)
            totals[0] += landed
            totals[1] += commands
            totals[2] += int(identical) * (1 + len(CRASH_POINTS))
            print(f"run {index}: {landed} kills, {commands} commands, "
                  f"{'all identical' if identical else 'DIFFERENT'}", flush=True)
    runs = args.runs * (1 + len(CRASH_POINTS))
    print(f"total: {totals[0]} kills landed, {totals[1]} training commands, "
          f"{totals[2]} of {runs} completed runs identical to the uninterrupted one "
          f"({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
