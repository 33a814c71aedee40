"""Judging a study's claims from its measurements over seeds.

A claim is **supported** when the measurements say so beyond the spread between seeds,
**contradicted** when they say the opposite beyond it, and **inconclusive** otherwise. Each claim
carries its effect (the difference of the arms' means, or the mean minus the threshold, in the
metric's units) with a confidence interval at the level of the look (see
:mod:`gankit.studies.sequential`): a claim is decided when the interval excludes zero. Two arms
are compared with Welch's t interval (a paired t interval when both arms measure the same runs,
as sampling arms do); a threshold with a one-sample t interval. An inconclusive claim is
*settled* when its interval lies within the claim's margin (no effect that matters: the
equivalence test of two one-sided tests); otherwise it is open for want of seeds, and the seeds
it would roughly need are estimated from the effect and spread seen. Runs that gave no value (a
diverged run) are left out and counted in the evidence; an arm none of whose runs gave a value
loses every comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from gankit.rundir import Verdict
from gankit.studies.sequential import LEVEL, seeds_needed, t_quantile
from gankit.studies.study_file import Claim

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


@dataclass(frozen=True)
class Comparison:
    """Arm a against arm b (or a threshold) at one level.

    ``outcome``: +1 a significantly better, -1 worse, 0 neither. ``effect``, ``low``, ``high``:
    the raw difference (a - b, or mean - threshold) and its interval; ``equivalent``: the
    interval lies within the margin. ``variance`` is the per-seed variance of the difference
    (for the seeds an open comparison would need); ``n`` the seeds with a value.
    """

    outcome: int
    p: Optional[float]
    test: str
    effect: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    equivalent: bool = False
    variance: Optional[float] = None
    n: int = 0


def _clean(values: Sequence[Optional[float]]) -> np.ndarray:
    return np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)


def _t_p_value(difference: float, spread: float, freedom: float) -> float:
    """Two-sided p-value of a t statistic difference/spread with ``freedom`` degrees of freedom."""
    from scipy.special import stdtr

    if spread == 0:
        return 0.0 if difference != 0 else 1.0
    return float(2 * stdtr(freedom, -abs(difference / spread)))


def _decide(effect: float, spread: float, freedom: float, sign: float, level: float, margin: Optional[float],
            test: str, variance: float, n: int) -> Comparison:
    """The comparison of an effect with its standard error ``spread`` at ``level``."""
    half = t_quantile(level, freedom) * spread if spread else 0.0
    low, high = effect - half, effect + half
    worst, best = min(sign * low, sign * high), max(sign * low, sign * high)
    outcome = 1 if worst > 0 else -1 if best < 0 else 0  # no spread at all: any gap decides
    equivalent = margin is not None and -margin < low and high < margin
    return Comparison(outcome, _t_p_value(effect, spread, freedom), test, effect, low, high, equivalent, variance, n)


def compare(a: Sequence[Optional[float]], b: Sequence[Optional[float]], better: str, paired: bool,
            level: float = LEVEL, margin: Optional[float] = None) -> Comparison:
    """Whether a's values are better than b's (``better``: lower / higher) beyond their spread."""
    sign = -1.0 if better == "lower" else 1.0
    if paired:
        pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None
                 and math.isfinite(x) and math.isfinite(y)]
        if len(pairs) < 2:
            return _lopsided(a, b)
        diff = np.array([x - y for x, y in pairs])
        variance = float(diff.var(ddof=1))
        return _decide(float(diff.mean()), math.sqrt(variance / len(diff)), len(diff) - 1, sign, level, margin,
                       f"paired t over {len(diff)} runs", variance, len(diff))
    x, y = _clean(a), _clean(b)
    if len(x) < 2 or len(y) < 2:
        return _lopsided(a, b)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    spread = math.sqrt(vx + vy)
    freedom = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)) if spread else 1.0
    return _decide(float(x.mean() - y.mean()), spread, freedom, sign, level, margin, "Welch t",
                   float(x.var(ddof=1) + y.var(ddof=1)), min(len(x), len(y)))


def _lopsided(a: Sequence[Optional[float]], b: Sequence[Optional[float]]) -> Comparison:
    """Too few values to test: an arm with values beats one whose runs all gave none."""
    has_a, has_b = len(_clean(a)) > 0, len(_clean(b)) > 0
    n = min(len(_clean(a)), len(_clean(b)))
    if has_a and not has_b and len(b):
        return Comparison(1, None, "the other arm's runs gave no value", n=n)
    if has_b and not has_a and len(a):
        return Comparison(-1, None, "this arm's runs gave no value", n=n)
    return Comparison(0, None, "too few runs to test", n=n)


def against_threshold(a: Sequence[Optional[float]], threshold: float, above: bool, level: float = LEVEL,
                      margin: Optional[float] = None) -> Comparison:
    """Whether a's mean lies above (``above``) or below ``threshold`` beyond its spread."""
    x = _clean(a)
    if len(x) < 2:
        return Comparison(0, None, "too few runs to test", n=len(x))
    variance = float(x.var(ddof=1))
    return _decide(float(x.mean() - threshold), math.sqrt(variance / len(x)), len(x) - 1, 1.0 if above else -1.0,
                   level, margin, "one-sample t", variance, len(x))


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


def _signed(value: float, fmt: Callable[[float], str]) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "") + fmt(abs(value))


def _interval_text(result: Comparison, level: float, fmt: Callable[[float], str], what: str) -> str:
    if result.low is None:
        return ""
    return (f"; {what} {_signed(result.effect, fmt)} ({100 * (1 - level):.3g}% CI {_signed(result.low, fmt)} to "
            f"{_signed(result.high, fmt)})")


def judge(claim: Claim, values: dict[str, list[Optional[float]]], labels: dict[str, str], better: Optional[str],
          paired: bool, fmt: Callable[[float], str], rivals: Sequence[str] = (), level: float = LEVEL,
          margin: Optional[float] = None) -> Verdict:
    """The verdict on ``claim`` from ``values`` (per arm, one entry per run) of its metric.

    ``rivals``: the arms a ``best`` claim is compared with (default: every other arm). ``level``:
    the level this look may use; ``margin``: the equivalence margin in the metric's units (None:
    no effect is too small to matter). An open claim names the seeds it would roughly need.
    """
    arm = claim.arm
    direction = better or "higher"
    own = f"{labels[arm]} {summary_text(values[arm], fmt)}"
    if claim.kind in ("above", "below"):
        result = against_threshold(values[arm], claim.threshold, claim.kind == "above", level, margin)
        evidence = (f"{own} against {fmt(claim.threshold)} ({_p_text(result)})"
                    + _interval_text(result, level, fmt, "mean minus threshold"))
        return _verdict(claim, _word(result.outcome), evidence, result, result.equivalent, level, margin)
    others = [claim.other] if claim.kind == "better" else [r for r in (rivals or values) if r != arm]
    results = {other: compare(values[arm], values[other], direction, paired, level, margin) for other in others}
    parts = [f"{labels[o]} {summary_text(values[o], fmt)} ({_p_text(results[o])})" for o in others]
    evidence = f"{own} vs " + "; ".join(parts) + f"; {direction} is better"
    outcomes = [r.outcome for r in results.values()]
    if any(o < 0 for o in outcomes):
        verdict = CONTRADICTED
    elif outcomes and all(o > 0 for o in outcomes):
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    closest = _closest(results, direction, verdict)
    if closest is not None:
        evidence += _interval_text(results[closest], level, fmt, f"difference to {labels[closest]}")
    equivalent = any(r.equivalent and r.outcome == 0 for r in results.values())
    return _verdict(claim, verdict, evidence, results.get(closest), equivalent, level, margin)


def _closest(results: dict[str, Comparison], direction: str, verdict: str) -> Optional[str]:
    """The rival that decides the verdict: a better one when contradicted, else the nearest."""
    sign = -1.0 if direction == "lower" else 1.0
    tested = {o: r for o, r in results.items() if r.effect is not None}
    if not tested:
        return next(iter(results), None)
    if verdict == CONTRADICTED:
        tested = {o: r for o, r in tested.items() if r.outcome < 0} or tested
    return min(tested, key=lambda o: sign * tested[o].effect)


def _verdict(claim: Claim, word: str, evidence: str, result: Optional[Comparison], equivalent: bool, level: float,
             margin: Optional[float]) -> Verdict:
    """The verdict record, with its effect, interval, whether it is settled and why."""
    settled = word != INCONCLUSIVE or equivalent
    needed = None
    if word != INCONCLUSIVE:
        reason = ""
    elif equivalent:
        reason = f"no effect: the interval lies within the margin of ±{margin:g}"
    elif result is None or result.low is None:
        reason = "too few seeds to test"
    else:
        gap = abs(result.effect)
        if margin is not None and gap < margin / 2:  # nearer to no effect: seeds to show equivalence
            gap = margin - gap
        needed = seeds_needed(gap, result.variance or 0.0, level)
        if needed is not None:  # the estimate is a normal approximation: more than it has, at least
            needed = max(needed, result.n + 1)
        reason = "too few seeds" + (f": roughly {needed} per arm would decide it" if needed else "")
        if margin is None:
            reason += " (no margin is set, so 'no effect' cannot be concluded)"
    if result is None:
        return Verdict(claim.claim, word, evidence, settled=settled, reason=reason)
    return Verdict(claim.claim, word, evidence, effect=result.effect, low=result.low, high=result.high,
                   confidence=1 - level, seeds=result.n, settled=settled, reason=reason, needed=needed)


def _word(outcome: int) -> str:
    return {1: SUPPORTED, -1: CONTRADICTED}.get(outcome, INCONCLUSIVE)
