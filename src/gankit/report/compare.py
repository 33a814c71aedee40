"""Comparisons across runs: which config keys differ, and curves averaged over an arm's seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from .run_data import RunData

IGNORED_KEYS = {"name"}  # each run's name is shown anyway


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"a.b.c": value}``; lists stay values."""
    if not isinstance(config, dict):
        return {prefix: config} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, name) if isinstance(value, dict) else {name: value})
    return out


def differing_keys(runs: Sequence[RunData]) -> list[str]:
    """The dotted config keys whose values are not the same in every run, in config order."""
    flat = [flatten(run.config) for run in runs]
    keys: dict[str, None] = {}
    for f in flat:
        keys.update(dict.fromkeys(f))
    return [k for k in keys if k not in IGNORED_KEYS
            and len({repr(f[k]) if k in f else "<absent>" for f in flat}) > 1]


def config_value(run: RunData, key: str) -> str:
    """The text shown for ``key`` of a run's config (``—`` when the run has no such key)."""
    flat = flatten(run.config)
    if key not in flat:
        return "—"
    value = flat[key]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Band:
    """A curve averaged over runs: per step the mean, the lowest and the highest value, and the count."""

    steps: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]
    count: list[int]


def mean_band(runs: Sequence[RunData], key: str) -> Band:
    """``key`` averaged over ``runs`` at each logged step, with the min-max spread; NaN where no run has a value."""
    by_step: dict[int, list[float]] = {}
    for run in runs:
        for step, value in zip(*run.series(key)):
            by_step.setdefault(step, [])
            if math.isfinite(value):
                by_step[step].append(value)
    band = Band([], [], [], [], [])
    for step in sorted(by_step):
        values = by_step[step]
        band.steps.append(step)
        band.count.append(len(values))
        band.mean.append(sum(values) / len(values) if values else math.nan)
        band.low.append(min(values) if values else math.nan)
        band.high.append(max(values) if values else math.nan)
    return band
