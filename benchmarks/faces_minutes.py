"""Quality over minutes of training: a preset trained in time-budgeted segments (train.minutes),
measured with gankit's image measure after each (quality per minute of a machine, not speed).

    .venv/bin/python benchmarks/faces_minutes.py faces-fast data.root=../shared/data/anime_faces \
        [--marks 5 10 20 30] [--label NAME] [--keep DIR] [--json FILE] [key=value ...]

Trains ``gankit train PRESET train.minutes=M1 key=value ...``, evaluates it (``gankit eval``),
resumes it with ``train.minutes=M2-M1``, evaluates again, and so on to the last mark: the
run after its last segment is the run a single ``train.minutes=LAST`` would have made (a resume
continues exactly), and evaluation time is not training time. Prints, per mark, the step
reached and every measurement; ``--json`` appends one line per mark to FILE (for the plot of
``--plot FILE... --out PNG``, which draws image FD and coverage over minutes, one line per label).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOWN = ("image_fd", "image_precision", "image_recall", "image_coverage", "image_density")


def gankit(argv: list[str]) -> subprocess.CompletedProcess:
    """The gankit command with ``argv``, its output captured."""
    return subprocess.run([sys.executable, "-m", "gankit", *argv], capture_output=True, text=True, env=os.environ)


def checked(done: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if done.returncode:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return done


def measure(run: Path, samples: int | None) -> tuple[int, dict, dict]:
    """(the step of the run's generator, values by name, protocols by name)."""
    checked(gankit(["eval", str(run), *(["--samples", str(samples)] if samples else [])]), f"evaluating {run}")
    report = json.loads(max((run / "eval").glob("step_*.json")).read_text())
    return (report["step"], {m["name"]: m["value"] for m in report["measurements"]},
            {m["name"]: m["protocol"] for m in report["measurements"]})


def segments(preset: str, overrides: list[str], marks: list[float], runs: Path, name: str, label: str,
             samples: int | None, out: Path | None) -> list[dict]:
    """Train to each mark in turn, measuring at each; the rows (also appended to ``out``)."""
    rows, previous, run = [], 0.0, runs / name
    for mark in marks:
        minutes = f"train.minutes={mark - previous:g}"
        started = time.perf_counter()
        if previous == 0:
            checked(gankit(["train", preset, *overrides, minutes, "--name", name, "--runs-dir", str(runs),
                            "--no-progress"]), f"training {name}")
        else:
            checked(gankit(["train", "--resume", str(run), minutes, "--no-progress"]), f"resuming {name}")
        wall = time.perf_counter() - started
        step, values, protocols = measure(run, samples)
        row = {"label": label, "preset": preset, "overrides": overrides, "minutes": mark, "step": step,
               "wall_s": round(wall), "values": values, "protocol": protocols.get("image_fd", "")}
        rows.append(row)
        print(f"{label}: {mark:g} min, step {step}: " + ", ".join(f"{k} {values[k]:.4g}" for k in SHOWN if k in values),
              flush=True)
        if out is not None:
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        previous = mark
    return rows


def plot(files: list[Path], out: Path) -> None:
    """Image FD and coverage over minutes, one line per label, from the JSON lines of ``files``."""
    from matplotlib.figure import Figure

    rows = [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
    labels = list(dict.fromkeys(row["label"] for row in rows))
    figure = Figure(figsize=(10, 4), layout="constrained")
    for axis, key, title in zip(figure.subplots(1, 2), ("image_fd", "image_coverage"),
                                ("image FD (lower is better)", "coverage (higher is better)")):
        for label in labels:
            mine = sorted((row["minutes"], row["values"][key]) for row in rows if row["label"] == label)
            axis.plot([m for m, _ in mine], [v for _, v in mine], marker="o", label=label)
        axis.set_xlabel("minutes of training")
        axis.set_title(title)
        if key == "image_fd":
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    figure.axes[1].legend(fontsize=8)
    figure.savefig(out, dpi=110)
    print(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?")
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--marks", type=float, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--label", help="the name of this line in the table and the plot (default: the preset)")
    parser.add_argument("--keep", type=Path, help="keep the run in this folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="append one JSON line per mark to this file")
    parser.add_argument("--samples", type=int, help="generated images measured (default: the measure's 5,000)")
    parser.add_argument("--plot", type=Path, nargs="+", help="draw the JSON files given instead of training")
    parser.add_argument("--out", type=Path, default=Path("faces_minutes.png"), help="the plot's file")
    args = parser.parse_args()
    if args.plot:
        plot(args.plot, args.out)
        return
    if args.preset is None:
        parser.error("name a preset")
    label = args.label or args.preset
    name = label.replace(" ", "-").replace("/", "-")
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.keep or Path(tmp)
        segments(args.preset, args.overrides, sorted(args.marks), runs, name, label, args.samples, args.json)


if __name__ == "__main__":
    main()
