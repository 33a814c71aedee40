"""Judging a study's claims from its measurements over seeds.

A claim is **supported** when the measurements say so beyond the spread between seeds,
**contradicted** when they say the opposite beyond it, and **inconclusive** otherwise. Two
arms are compared with Welch's t-test (a paired t-test when both arms measure the same runs,
as sampling arms do), two-sided at the 5% level; a threshold with a one-sample t-test. Runs
that gave no value (a diverged run) are left out and counted in the evidence; an arm none of
whose runs gave a value loses every comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from gankit.rundir import Verdict
from gankit.studies.study_file import Claim

LEVEL = 0.05
SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


@dataclass(frozen=True)
class Comparison:
    """Arm a against arm b: +1 a significantly better, -1 b significantly better, 0 neither."""

    outcome: int
    p: Optional[float]
    test: str


def _clean(values: Sequence[Optional[float]]) -> np.ndarray:
    return np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)


def _t_p_value(difference: np.ndarray | float, spread: float, freedom: float) -> float:
    """Two-sided p-value of a t statistic difference/spread with ``freedom`` degrees of freedom."""
    from scipy import stats

    if spread == 0:
        return 0.0 if difference != 0 else 1.0
    return float(2 * stats.t.sf(abs(float(difference) / spread), freedom))


def compare(a: Sequence[Optional[float]], b: Sequence[Optional[float]], better: str, paired: bool) -> Comparison:
    """Whether a's values are better than b's (``better``: lower / higher) beyond their spread."""
    sign = -1.0 if better == "lower" else 1.0
    if paired:
        pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None
                 and math.isfinite(x) and math.isfinite(y)]
        if len(pairs) < 2:
            return _lopsided(a, b)
        diff = np.array([x - y for x, y in pairs])
        p = _t_p_value(diff.mean(), diff.std(ddof=1) / math.sqrt(len(diff)), len(diff) - 1)
        mean_gap = sign * diff.mean()
        test = f"paired t-test over {len(diff)} runs"
    else:
        x, y = _clean(a), _clean(b)
        if len(x) < 2 or len(y) < 2:
            return _lopsided(a, b)
        vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
        spread = math.sqrt(vx + vy)
        freedom = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)) if spread else 1.0
        p = _t_p_value(x.mean() - y.mean(), spread, freedom)
        mean_gap = sign * (x.mean() - y.mean())
        test = "Welch t-test"
    outcome = 0 if p >= LEVEL or mean_gap == 0 else (1 if mean_gap > 0 else -1)
    return Comparison(outcome, p, test)


def _lopsided(a: Sequence[Optional[float]], b: Sequence[Optional[float]]) -> Comparison:
    """Too few values to test: an arm with values beats one whose runs all gave none."""
    has_a, has_b = len(_clean(a)) > 0, len(_clean(b)) > 0
    if has_a and not has_b and len(b):
        return Comparison(1, None, "the other arm's runs gave no value")
    if has_b and not has_a and len(a):
        return Comparison(-1, None, "this arm's runs gave no value")
    return Comparison(0, None, "too few runs to test")


def against_threshold(a: Sequence[Optional[float]], threshold: float, above: bool) -> Comparison:
    """Whether a's mean lies above (``above``) or below ``threshold`` beyond its spread."""
    x = _clean(a)
    if len(x) < 2:
        return Comparison(0, None, "too few runs to test")
    p = _t_p_value(x.mean() - threshold, x.std(ddof=1) / math.sqrt(len(x)), len(x) - 1)
    gap = (x.mean() - threshold) * (1 if above else -1)
    outcome = 0 if p >= LEVEL or gap == 0 else (1 if gap > 0 else -1)
    return Comparison(outcome, p, "one-sample t-test")


def summary_text(values: Sequence[Optional[float]], fmt: Callable[[float], str]) -> str:
    """``mean ± std (n)`` of the finite values, noting the runs that gave none."""
    x = _clean(values)
    missing = len(values) - len(x)
    note = f", {missing} without a value" if missing else ""
    if not len(x):
        return f"no value ({len(values)} runs)"
    spread = f" ± {fmt(x.std(ddof=1))}" if len(x) > 1 else ""
    return f"{fmt(x.mean())}{spread} (n={len(x)}{note})"


def _p_text(comparison: Comparison) -> str:
    if comparison.p is None:
        return comparison.test
    return f"{comparison.test}, p = {comparison.p:.3g}"


def judge(claim: Claim, values: dict[str, list[Optional[float]]], labels: dict[str, str], better: Optional[str],
          paired: bool, fmt: Callable[[float], str], rivals: Sequence[str] = ()) -> Verdict:
    """The verdict on ``claim`` from ``values`` (per arm, one entry per run) of its metric.

    ``rivals``: the arms a ``best`` claim is compared with (default: every other arm).
    """
    arm = claim.arm
    direction = better or "higher"
    own = f"{labels[arm]} {summary_text(values[arm], fmt)}"
    if claim.kind in ("above", "below"):
        result = against_threshold(values[arm], claim.threshold, claim.kind == "above")
        evidence = f"{own} against {fmt(claim.threshold)} ({_p_text(result)})"
        return Verdict(claim.claim, _word(result.outcome), evidence)
    others = [claim.other] if claim.kind == "better" else [r for r in (rivals or values) if r != arm]
    results = {other: compare(values[arm], values[other], direction, paired) for other in others}
    parts = [f"{labels[o]} {summary_text(values[o], fmt)} ({_p_text(results[o])})" for o in others]
    evidence = f"{own} vs " + "; ".join(parts) + f"; {direction} is better"
    outcomes = [r.outcome for r in results.values()]
    if any(o < 0 for o in outcomes):
        verdict = CONTRADICTED
    elif outcomes and all(o > 0 for o in outcomes):
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Verdict(claim.claim, verdict, evidence)


def _word(outcome: int) -> str:
    return {1: SUPPORTED, -1: CONTRADICTED}.get(outcome, INCONCLUSIVE)
