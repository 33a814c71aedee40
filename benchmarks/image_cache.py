"""Image folders read once: the decode rate, the time to the first training step of a first and
of a later run, and the memory a run holds, for a real 10k folder and a synthetic 200k one.

    .venv/bin/python benchmarks/image_cache.py [--faces ../shared/data/anime_faces] [--large 200000]
        [--old-python /path/to/older/checkout/.venv/bin/python]

Each measurement is a real `gankit train dcgan-faces data.root=FOLDER train.steps=1` process
(one step, no grids but step 0's) on a fresh cache folder: "first run" decodes the folder into
the cache, "later run" maps it. The time to the first step is the process's wall time up to the
first line of metrics.jsonl (step 0, written after the first iteration), read from the file's
modification time; the memory is the process's peak resident set (ru_maxrss). The synthetic
folder holds ``--large`` hard links to the 10k faces under new names (decoded like any file; no
disk space); the 10k folder is also decoded on one core alone (taskset). ``--streamed`` also measures the large folder with ``data.memory_gb=1`` (streamed
from the map). ``--old-python`` runs the same with another gankit (e.g. the commit before the
cache) for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
ONE_STEP = ["train.steps=1", "train.sample_steps=[0]", "train.sample_count=16", "train.log_every=1",
            "--no-progress"]


def synthetic_folder(faces: Path, target: Path, count: int) -> Path:
    """``count`` hard links to the faces, under new names in 100 subfolders."""
    sources = sorted(p for p in faces.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    for i in range(count):
        folder = target / f"{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / f"{i:07d}{sources[i % len(sources)].suffix}"
        if not link.exists():
            os.link(sources[i % len(sources)], link)
    return target


def one_run(python: str, root: Path, cache: Path, runs: Path, name: str, extra: list[str],
            cores: Optional[int] = None) -> dict:
    """Time to the first step, wall time and peak memory of one 1-step run (on the first
    ``cores`` cores only, when given)."""
    env = {**os.environ, "GANKIT_CACHE": str(cache)}
    if python != sys.executable:
        env.pop("PYTHONPATH", None)  # another gankit: its own code, not this one's
    pinned = ["taskset", "-c", f"0-{cores - 1}"] if cores else []
    start = time.time()
    process = subprocess.Popen([*pinned, python, "-m", "gankit", "train", "dcgan-faces", f"data.root={root}",
                                *extra, *ONE_STEP, "--name", name,
                                "--runs-dir", str(runs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=env)
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
    wall = time.time() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{name} failed:\n{err[-2000:]}")
    from gankit.rundir import RunDir

    first_row = RunDir(runs / name).metrics.stat().st_mtime - start
    rate = [line for line in err.splitlines() if "images/s" in line]
    return {"first_step_s": round(first_row, 1), "wall_s": round(wall, 1),
            "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
            "decode": rate[-1].split("data: ")[-1] if rate else ""}


def measure(python: str, root: Path, label: str, work: Path, extra: list[str], cores: Optional[int] = None) -> None:
    cache = work / f"cache-{label}"
    shutil.rmtree(cache, ignore_errors=True)
    runs = work / f"runs-{label}"
    first = one_run(python, root, cache, runs, "first", extra, cores)
    later = one_run(python, root, cache, runs, "later", extra, cores)
    print(json.dumps({"folder": label, "first run": first, "later run": later}), flush=True)
    shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=REPO.parent / "shared" / "data" / "anime_faces")
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--streamed", action="store_true")
    parser.add_argument("--old-python", help="another gankit's python to compare with")
    parser.add_argument("--work", type=Path, help="where folders, caches and runs go (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="gankit-image-cache-"))
    print(f"# {os.cpu_count()} cores; work folder {work}", flush=True)
    pythons = [("gankit", sys.executable)] + ([("old", args.old_python)] if args.old_python else [])
    large = synthetic_folder(args.faces, work / "large", args.large) if args.large else None
    for who, python in pythons:
        measure(python, args.faces, f"{who}-10k", work, [])
        if who == "gankit":
            measure(python, args.faces, f"{who}-10k-one-core", work, [], cores=1)
        if large is not None:
            measure(python, large, f"{who}-{args.large // 1000}k", work, [])
            if args.streamed and who == "gankit":
                measure(python, large, f"{who}-{args.large // 1000}k-streamed", work, ["data.memory_gb=1"])
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
