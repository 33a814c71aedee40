"""Verdicts on claims: supported, contradicted and inconclusive against hand-made measurements."""

import pytest
from scipy import stats

from gankit.studies.study_file import Claim
from gankit.studies.verdicts import CONTRADICTED, INCONCLUSIVE, SUPPORTED, compare, judge

LABELS = {"a": "A", "b": "B", "c": "C"}


def fmt(value: float) -> str:
    return f"{value:.3g}"


def claim(kind="better", **fields):
    return Claim(claim="A wins", kind=kind, metric="m", arm="a", **fields)


def test_welch_p_value_matches_scipy():
    a, b = [1.0, 1.2, 0.9, 1.1], [2.0, 2.4, 1.8, 2.3]
    result = compare(a, b, "lower", paired=False)
    assert result.outcome == 1
    assert result.p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)


def test_paired_p_value_matches_scipy():
    a, b = [1.0, 2.0, 3.0, 4.0], [1.5, 2.4, 3.6, 4.4]
    result = compare(a, b, "lower", paired=True)
    assert result.p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert result.outcome == 1
    assert compare(a, b, "lower", paired=False).outcome == 0  # unpaired, the seeds' spread hides it


@pytest.mark.parametrize("a, b, better, expected", [
    ([1.0, 1.1, 0.9], [5.0, 5.1, 4.9], "lower", SUPPORTED),
    ([1.0, 1.1, 0.9], [5.0, 5.1, 4.9], "higher", CONTRADICTED),
    ([1.0, 3.0, 2.0], [2.0, 1.0, 3.0], "lower", INCONCLUSIVE),
    ([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], "lower", SUPPORTED),  # no spread at all: any gap decides
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], "lower", INCONCLUSIVE),
    ([1.0, 1.2, 1.1], [None, None, None], "lower", SUPPORTED),  # B's runs all gave no value
    ([1.0], [2.0], "lower", INCONCLUSIVE),  # one seed each: no test
])
def test_better(a, b, better, expected):
    verdict = judge(claim(other="b"), {"a": a, "b": b}, LABELS, better, paired=False, fmt=fmt)
    assert verdict.verdict == expected
    assert "A " in verdict.evidence and "B " in verdict.evidence


def test_best_needs_every_rival_beaten_and_is_contradicted_by_any_better_one():
    values = {"a": [1.0, 1.1, 0.9], "b": [5.0, 5.2, 4.9], "c": [3.0, 3.1, 2.9]}
    assert judge(claim("best"), values, LABELS, "lower", False, fmt).verdict == SUPPORTED
    values["c"] = [1.05, 0.95, 1.0]
    assert judge(claim("best"), values, LABELS, "lower", False, fmt).verdict == INCONCLUSIVE
    values["c"] = [0.1, 0.2, 0.15]
    assert judge(claim("best"), values, LABELS, "lower", False, fmt).verdict == CONTRADICTED
    # rivals restrict the comparison (arms of one group)
    assert judge(claim("best"), values, LABELS, "lower", False, fmt, rivals=["a", "b"]).verdict == SUPPORTED


def test_thresholds():
    values = {"a": [0.8, 0.85, 0.9]}
    assert judge(claim("above", threshold=0.5), values, LABELS, None, False, fmt).verdict == SUPPORTED
    assert judge(claim("below", threshold=0.5), values, LABELS, None, False, fmt).verdict == CONTRADICTED
    assert judge(claim("above", threshold=0.85), values, LABELS, None, False, fmt).verdict == INCONCLUSIVE
