"""A study's answer: the table over seeds, the verdicts, written as ``summary.json`` and printed.

The summary is computed from the run directories alone (through the measures), so a study
that was killed and continued gives the same summary as one that never was.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gankit.rundir import Metric, StudyDir, StudyRun, Verdict
from gankit.rundir.study import FORMAT
from gankit.studies.study_file import StudySpec
from gankit.studies.verdicts import judge


def format_value(value: Optional[float], metric: Optional[Metric] = None) -> str:
    """A value as a person reads it: shares in percent, steps and modes whole, else 3 digits."""
    if value is None or not math.isfinite(value):
        return "–"
    unit = metric.unit if metric else ""
    if unit == "share" or unit == "share of seeds":
        return f"{100 * value:.1f}%"
    if unit in ("steps", "modes"):
        return f"{value:.0f}" if value == round(value) or abs(value) >= 100 else f"{value:.1f}"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def statistics(values: list[Optional[float]]) -> dict[str, Optional[float]]:
    """mean, std (over seeds, n-1; None for one value), min, max and n of the finite values."""
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if not len(x):
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if len(x) > 1 else None,
            "min": float(x.min()), "max": float(x.max()), "n": int(len(x))}


def per_arm(measured: list[StudyRun], key: str, arms: list[str]) -> dict[str, list[Optional[float]]]:
    """The values of ``key`` per arm, one per run, in seed order."""
    return {arm: [m.values.get(key) for m in sorted(measured, key=lambda m: m.seed) if m.arm == arm]
            for arm in arms}


def verdicts(spec: StudySpec, measured: list[StudyRun], metrics: dict[str, Metric]) -> list[Verdict]:
    """Every claim of the study, judged at each look in turn: the first look that settles a
    claim decides it (later seeds do not reopen it); an open claim is shown at the last look."""
    looks = spec.looks(len(_seeds(measured)))
    last = looks.look_of(len(_seeds(measured))) if spec.settle else 1
    results = []
    for claim in spec.claims:
        for look in range(1, max(last, 1) + 1):
            judged = set(spec.seed_list(looks.seeds_at(look))) if spec.settle else _seeds(measured)
            verdict = _judge(spec, claim, [m for m in measured if m.seed in judged], metrics, looks.level_at(look))
            if verdict.settled:
                break
        verdict = replace(verdict, look=look)
        if claim.explain:
            verdict = replace(verdict, evidence=verdict.evidence + ". Why: " + _explanation(
                claim, measured, metrics, {a.name: a.shown for a in spec.shown_arms}))
        results.append(verdict)
    return results


def _seeds(measured: list[StudyRun]) -> set:
    return {m.seed for m in measured}


def _judge(spec: StudySpec, claim, measured: list[StudyRun], metrics: dict[str, Metric], level: float) -> Verdict:
    """One claim judged from ``measured`` at ``level``."""
    arms = spec.shown_arms
    labels = {a.name: a.shown for a in arms}
    groups = {a.name: getattr(a, "group", None) for a in arms}
    metric = metrics.get(claim.metric) or Metric(claim.metric, claim.metric)
    values = per_arm(measured, claim.metric, list(labels))
    rivals = [a for a in labels if groups[a] == groups[claim.arm]]
    return judge(claim, values, labels, metric.better, paired=bool(spec.sample),
                 fmt=lambda v, m=metric: format_value(v, m), rivals=rivals, level=level, margin=spec.margin(claim))


def open_claims(summary: dict[str, Any]) -> list[str]:
    """The claims of a summary that are not settled yet."""
    return [v["claim"] for v in summary["verdicts"] if not v.get("settled")]


def _explanation(claim, measured: list[StudyRun], metrics: dict[str, Metric], labels: dict[str, str]) -> str:
    parts = []
    for arm in filter(None, (claim.arm, claim.other)):
        quoted = []
        for key in claim.explain:
            stats = statistics(per_arm(measured, key, [arm])[arm])
            metric = metrics.get(key) or Metric(key, key)
            unit = f" {metric.unit}" if metric.unit and metric.unit not in ("share", "steps", "modes") else ""
            quoted.append(f"{metric.label} {format_value(stats['mean'], metric)}{unit}")
        parts.append(f"{labels[arm]}: " + ", ".join(quoted))
    return "; ".join(parts)


def build_summary(spec: StudySpec, measured: list[StudyRun], metrics: dict[str, Metric],
                  figures: list[dict] = (), samples: list[dict] = ()) -> dict[str, Any]:
    """The summary.json document (format 1), which :meth:`gankit.rundir.StudyDir.read_summary` reads back."""
    arms = spec.shown_arms
    keys = [k for k in metrics if any(m.values.get(k) is not None for m in measured)]
    seeds = sorted(_seeds(measured), key=lambda s: (s is None, s))
    return {
        "format": FORMAT, "study": spec.name, "title": spec.title or spec.name, "question": spec.question,
        "description": spec.description.strip(), "base": spec.base,
        "steps": spec.steps, "seeds": seeds if spec.settle else list(spec.seeds),
        "design": spec.looks(len(seeds)).describe() + ("; equivalence margins: " + ", ".join(
            f"{k} ±{v:g}" for k, v in spec.margins.items()) if spec.margins else ""),
        "arms": [{"name": a.name, "label": a.shown, "group": getattr(a, "group", None),
                  "overrides": [f"{k}={v}" for k, v in getattr(a, "set", {}).items()]
                  or ([f"prior={a.prior}"] if hasattr(a, "prior") else [])} for a in arms],
        "metrics": [{"key": k, "label": metrics[k].label, "unit": metrics[k].unit, "better": metrics[k].better,
                     "protocol": metrics[k].protocol} for k in keys],
        "runs": [asdict(m) for m in measured],
        "table": [{"arm": a.name, "values": {k: statistics(per_arm(measured, k, [a.name])[a.name]) for k in keys}}
                  for a in arms],
        "verdicts": [asdict(v) for v in verdicts(spec, measured, metrics)],
        "curves": [] if spec.sample else list(spec.curves),
        "figures": list(figures), "samples": list(samples),
    }


def _strict(value: Any) -> Any:
    """JSON-safe: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def summary_json(summary: dict[str, Any]) -> str:
    """The summary as strict JSON text (no NaN or Infinity tokens)."""
    return json.dumps(_strict(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def format_summary(summary: dict[str, Any]) -> str:
    """The table and the verdicts as plain text for the terminal."""
    metrics = {m["key"]: Metric(m["key"], m["label"], m["unit"], m["better"]) for m in summary["metrics"]}
    labels = {a["name"]: a["label"] for a in summary["arms"]}
    header = ["arm"] + [f"{m.label}" + (f" ({m.unit})" if m.unit else "") for m in metrics.values()]
    rows = []
    for row in summary["table"]:
        cells = [labels[row["arm"]]]
        for key, metric in metrics.items():
            stats = row["values"].get(key, {})
            mean = format_value(stats.get("mean"), metric)
            spread = f" ± {format_value(stats['std'], metric)}" if stats.get("n", 0) > 1 else ""
            cells.append(mean + spread)
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for verdict in summary["verdicts"]:
        why = f" [{verdict['reason']}]" if verdict.get("reason") else ""
        lines.append(f"{verdict['verdict'].upper():>13}: {verdict['claim']} — {verdict['evidence']}{why}")
    if summary.get("design"):
        lines.append(f"judged: {summary['design']}")
    return "\n".join(lines)


def write_summary(study_dir: Path, summary: dict[str, Any]) -> Path:
    """Write summary.json atomically."""
    from gankit.fsutil import atomic_write_text

    path = StudyDir(study_dir).summary
    atomic_write_text(path, summary_json(summary))
    return path
