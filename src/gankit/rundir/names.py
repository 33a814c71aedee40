"""Every file and folder of a run directory and of a study directory, named once.

    RUN/                          a run directory (gankit train)
      config.yaml                 CONFIG: the resolved config; re-running it reproduces the run
      metrics.jsonl               METRICS: one JSON object per logged step
      events.out.tfevents.*       TENSORBOARD: the same scalars, grids and health texts
      samples/step_NNNNNN.png     SAMPLES / step_file(step, ".png"): grids from one fixed noise batch
      checkpoints/last.pt         CHECKPOINTS / LAST_CHECKPOINT: everything to resume exactly
      checkpoints/step_NNNNNN.pt  kept checkpoints (train.keep_checkpoints > 1)
      generator.safetensors       GENERATOR: G's weights (its average with train.ema), with its step
      eval/step_NNNNNN.json       EVAL / step_file(step, ".json"): what gankit eval measured
      loss_curve.png              LOSS_CURVE
      loss_table.md, .csv         LOSS_TABLE_MD, LOSS_TABLE_CSV: the losses at the grid steps
      report.html                 REPORT: gankit report's page
      .lock                       LOCK: held by the one process that writes here

    STUDY/                        a study directory (gankit study)
      study.yaml                  STUDY_SPEC: the study as run
      summary.json                SUMMARY: the table over seeds and the verdicts
      report.html                 REPORT
      runs/<arm>-s<seed>/         RUNS: ordinary run directories
      plans/<run>.yaml            PLANS: what each run is trained from
      logs/<run>.log              LOGS: each training's console output
      figures/                    FIGURES: pictures the study draws
      submitit/                   SUBMITIT: submitit's own files (--executor slurm or submitit-local)
      .lock                       LOCK
"""

from __future__ import annotations

import re
from typing import Optional

# a run directory
CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
TENSORBOARD = "events.out.tfevents.*"  # a glob: TensorBoard names the file itself
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
LAST_CHECKPOINT = "last.pt"
GENERATOR = "generator.safetensors"
EVAL = "eval"
LOSS_CURVE = "loss_curve.png"
LOSS_TABLE_MD = "loss_table.md"
LOSS_TABLE_CSV = "loss_table.csv"
REPORT = "report.html"
LOCK = ".lock"

# a study directory
STUDY_SPEC = "study.yaml"
SUMMARY = "summary.json"
RUNS = "runs"
PLANS = "plans"
LOGS = "logs"
FIGURES = "figures"
SUBMITIT = "submitit"  # submitit's own files, for studies run through it

# files named by a training step: samples/step_000200.png, eval/step_000200.json, checkpoints/step_000200.pt
STEP_FILE = re.compile(r"^step_(\d{6,})(\.[a-z]+)$")


def step_file(step: int, suffix: str) -> str:
    """The name of a file of training step ``step``: ``step_000200.png``."""
    return f"step_{step:06d}{suffix}"


def step_of(name: str, suffix: str) -> Optional[int]:
    """The step in a file name made by :func:`step_file` with ``suffix`` (None for any other name)."""
    match = STEP_FILE.match(name)
    return int(match.group(1)) if match and match.group(2) == suffix else None


# What a run writes before its first checkpoint: a run resumed without one starts again from step 0.
STARTED_FILES = (METRICS, LOSS_CURVE, LOSS_TABLE_MD, LOSS_TABLE_CSV, GENERATOR)
STARTED_FOLDERS = (SAMPLES, EVAL)
