"""Optimizers and the learning-rate schedule."""

import pytest

from gankit.engine.optim import decayed_lr
from gankit.engine.train import fit, new_run


def test_linear_schedule_falls_to_zero_at_the_last_step():
    assert decayed_lr(1e-3, "linear", 1, 100) == pytest.approx(1e-3)
    assert decayed_lr(1e-3, "linear", 51, 100) == pytest.approx(5e-4)
    assert decayed_lr(1e-3, "linear", 100, 100) == pytest.approx(1e-5)
    assert decayed_lr(1e-3, "constant", 100, 100) == 1e-3


def test_a_run_with_the_linear_schedule_ends_at_a_small_rate(tmp_path):
    session = new_run("ring8", ["train.steps=20", "train.sample_steps=[]", "optim.schedule=linear",
                                "optim.d.lr=1e-3"], runs_root=tmp_path)
    fit(session, show_progress=False)
    assert session.gan.d_optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 20)
    assert session.gan.g_optimizer.param_groups[0]["lr"] == pytest.approx(2e-4 / 20)
