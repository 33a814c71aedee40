"""Optimizers and the learning-rate schedule."""

import math

import pytest
import torch

from gankit.config import OptimizerConfig
from gankit.engine.optim import build_optimizer, decayed_lr, load_optimizer_state, set_lr
from gankit.engine import fit, new_run


def test_linear_schedule_falls_to_zero_at_the_last_step():
    assert decayed_lr(1e-3, "linear", 1, 100) == pytest.approx(1e-3)
    assert decayed_lr(1e-3, "linear", 51, 100) == pytest.approx(5e-4)
    assert decayed_lr(1e-3, "linear", 100, 100) == pytest.approx(1e-5)
    assert decayed_lr(1e-3, "constant", 100, 100) == 1e-3


def test_cosine_schedule_follows_half_a_cosine():
    assert decayed_lr(1e-3, "cosine", 1, 100) == pytest.approx(1e-3)
    assert decayed_lr(1e-3, "cosine", 51, 100) == pytest.approx(5e-4)
    assert decayed_lr(1e-3, "cosine", 26, 100) == pytest.approx(1e-3 * (1 + 2 ** -0.5) / 2)
    assert decayed_lr(1e-3, "cosine", 100, 100) == pytest.approx(1e-3 * (1 + math.cos(math.pi * 0.99)) / 2)


def test_a_late_decay_holds_the_base_rate_then_falls_to_zero_at_the_last_step():
    for schedule in ("linear", "cosine"):
        assert decayed_lr(1e-3, schedule, 60, 100, decay_from=60) == pytest.approx(1e-3)
        assert decayed_lr(1e-3, schedule, 61, 100, decay_from=60) == pytest.approx(1e-3)
        assert decayed_lr(1e-3, schedule, 81, 100, decay_from=60) == pytest.approx(5e-4)
    assert decayed_lr(1e-3, "linear", 100, 100, decay_from=60) == pytest.approx(1e-3 / 40)
    assert decayed_lr(1e-3, "linear", 71, 100, decay_from=60) == pytest.approx(7.5e-4)


def test_a_decay_that_starts_at_or_after_the_last_step_holds_the_rate_all_run():
    """A preset shortened below its decay_from trains at its base rates throughout."""
    for step in (1, 50, 100):
        assert decayed_lr(1e-3, "linear", step, 100, decay_from=100) == 1e-3
        assert decayed_lr(1e-3, "cosine", step, 100, decay_from=150) == 1e-3


def test_a_run_with_the_linear_schedule_ends_at_a_small_rate(tmp_path):
    session = new_run("ring8", ["train.steps=20", "train.sample_steps=[]", "optim.schedule=linear",
                                "optim.g.lr=2e-4", "optim.d.lr=1e-3"], runs_root=tmp_path)
    fit(session, show_progress=False)
    assert session.gan.d_optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 20)
    assert session.gan.g_optimizer.param_groups[0]["lr"] == pytest.approx(2e-4 / 20)


def test_a_tensor_learning_rate_is_updated_in_place_and_survives_a_checkpoint():
    """A CUDA-graph step reads its rate from a tensor: set_lr must write into that tensor, and
    loading a state saved with a float rate must keep the optimizer's own rate in its own form
    (and the other way round): the rate is the run's config, not the checkpoint's."""
    cfg = OptimizerConfig(name="adam", lr=1e-3)
    weight = torch.nn.Parameter(torch.ones(3))
    tensor_lr = build_optimizer([weight], cfg, fused=True, lr_on=torch.device("cpu"))
    rate = tensor_lr.param_groups[0]["lr"]
    assert isinstance(rate, torch.Tensor) and rate.item() == pytest.approx(1e-3)
    set_lr(tensor_lr, 5e-4)
    assert tensor_lr.param_groups[0]["lr"] is rate and rate.item() == pytest.approx(5e-4)

    float_lr = build_optimizer([torch.nn.Parameter(torch.ones(3))], cfg)
    set_lr(float_lr, 2e-4)
    load_optimizer_state(tensor_lr, float_lr.state_dict())
    assert tensor_lr.param_groups[0]["lr"] is rate and rate.item() == pytest.approx(5e-4)
    load_optimizer_state(float_lr, tensor_lr.state_dict())
    assert float_lr.param_groups[0]["lr"] == pytest.approx(2e-4)
    assert isinstance(float_lr.param_groups[0]["lr"], float)
    weight.grad = torch.ones(3)
    tensor_lr.step()  # the fused step accepts the tensor rate
    assert weight.detach().lt(1).all()


def test_resuming_takes_the_configs_hyperparameters_and_the_checkpoints_moments():
    """A run resumed with another learning rate or betas trains on with them; Adam's moments
    and step count come from the checkpoint."""
    weight = torch.nn.Parameter(torch.ones(3))
    before = build_optimizer([weight], OptimizerConfig(name="adam", lr=1e-3))
    weight.grad = torch.full((3,), 0.5)
    before.step()
    after = build_optimizer([weight], OptimizerConfig(name="adam", lr=1e-5, betas=(0.0, 0.9)))
    load_optimizer_state(after, before.state_dict())
    group = after.param_groups[0]
    assert group["lr"] == 1e-5 and group["betas"] == (0.0, 0.9)
    assert torch.equal(after.state[weight]["exp_avg"], before.state[weight]["exp_avg"])
    assert float(after.state[weight]["step"]) == 1
