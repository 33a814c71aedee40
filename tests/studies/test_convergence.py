"""When a curve settles, and its spread and swing after: against curves whose answer is known."""

import math

import numpy as np
import pytest

from gankit.studies.convergence import settling, smooth


def test_trailing_average_by_hand():
    assert smooth(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist() == [1.0, 1.5, 2.5, 3.5]


def test_a_step_settles_right_after_the_step():
    steps = np.arange(1, 201) * 10
    values = np.where(steps <= 500, 5.0, 1.0) + 0.01 * np.sin(steps)  # level 5 until step 500, then 1
    result = settling(steps, values, window=3)
    assert 500 < result.step <= 530  # the 3-log average reaches the new level 3 logs after the step
    assert result.level == pytest.approx(1.0, abs=0.02)


def test_an_exponential_decay_settles_where_it_is_within_the_band():
    rng = np.random.default_rng(0)
    steps = np.arange(1, 401, dtype=float)
    values = 2.0 * np.exp(-steps / 40) + 0.05 * rng.standard_normal(400)
    result = settling(steps, values)
    # the smoothed curve is within ~0.1 of its level once 2 exp(-t/40) < ~0.1, i.e. near t = 120
    assert 80 < result.step < 200
    later = settling(steps, 2.0 * np.exp(-steps / 80) + 0.05 * rng.standard_normal(400))
    assert later.step > result.step  # a slower decay settles later


def test_spread_and_swing_tell_oscillation_from_noise():
    steps = np.arange(1, 301, dtype=float)
    alternating = np.where(np.arange(300) % 2 == 0, 1.0, -1.0)
    drifting = np.sin(steps / 50)
    a, d = settling(steps, alternating), settling(steps, drifting)
    assert a.swing == pytest.approx(2.0)
    assert d.swing < 0.05 < a.swing
    assert a.spread == pytest.approx(1.0, abs=0.01)


def test_non_finite_values_give_no_answer():
    result = settling([1, 2, 3, 4, 5], [1.0, 2.0, math.nan, 1.0, 1.0])
    assert result.step is None and math.isnan(result.spread)
