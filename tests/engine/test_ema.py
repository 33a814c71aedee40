"""The moving average of G's weights equals its formula, is what sampling and the exported
generator use, is kept in checkpoints beside the raw G, and resumes exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.engine.checkpoint import EMA_KEY, read_checkpoint
from gankit.engine import ema as ema_module
from gankit.engine.ema import WeightAverage, ema_beta
from gankit.engine import TrainableGan, fit, new_run, resume_run
from gankit.sampling import load_generator

pytestmark = pytest.mark.slow  # trains: `make test-fast` leaves it out

TINY = ["model.g_width=16", "model.d_width=8", "train.batch_size=32", "train.sample_steps=[0]",
        "speed.precision=fp32", "train.log_every=10"]


def test_the_average_follows_its_formula():
    module = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = WeightAverage(module, decay=0.9)
    expected = [p.detach().clone() for p in module.parameters()]
    for step in range(1, 30):
        with torch.no_grad():
            for p in module.parameters():
                p.add_(torch.randn_like(p))
            module[1].running_mean.add_(1.0)
        average.update(module, step)
        beta = min(0.9, (1 + step) / (10 + step))
        expected = [beta * e + (1 - beta) * p.detach() for e, p in zip(expected, module.parameters())]
    for mine, want in zip(average.module.parameters(), expected):
        assert torch.allclose(mine, want, atol=1e-6)
    assert torch.equal(average.module[1].running_mean, module[1].running_mean)  # buffers are copied
    assert ema_beta(0.999, 1) == pytest.approx(2 / 11) and ema_beta(0.999, 100_000) == 0.999
    assert not any(p.requires_grad for p in average.module.parameters())


def test_sampling_uses_the_average_and_the_raw_g_stays(tmp_path):
    session = new_run(None, [*TINY, "train.steps=30", "train.ema=0.9"], runs_root=tmp_path)
    fit(session, show_progress=False)
    payload = read_checkpoint(session.run_dir / "checkpoints" / "last.pt")
    exported = load_generator(session.run_dir).state_dict()
    for key, value in payload[EMA_KEY].items():
        assert torch.equal(exported[key], value), key
    raw = load_generator(session.run_dir, raw=True).state_dict()
    assert all(torch.equal(raw[k], v) for k, v in payload["generator"].items())
    assert any(not torch.equal(raw[k], exported[k]) for k in raw if raw[k].is_floating_point())


def test_a_resumed_average_continues_exactly(tmp_path):
    common = [*TINY, "train.ema=0.95", "train.checkpoint_every=1000"]
    straight = new_run(None, [*common, "train.steps=40"], name="straight", runs_root=tmp_path)
    fit(straight, show_progress=False)
    half = new_run(None, [*common, "train.steps=20"], name="half", runs_root=tmp_path)
    fit(half, show_progress=False)
    resumed = resume_run(half.run_dir, ["train.steps=40"])
    fit(resumed, show_progress=False)
    a, b = straight.gan.ema.state_dict(), resumed.gan.ema.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _norm_net() -> nn.Module:
    class Conditional(nn.Module):  # G's calling convention: (z, labels)
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))

        def forward(self, z, labels=None):
            return self.body(z)

    return Conditional()


def test_the_average_measures_its_own_batchnorm_statistics():
    torch.manual_seed(0)
    module = _norm_net()
    average = WeightAverage(module, decay=0.9)
    with torch.no_grad():
        average.module.body[0].weight.mul_(3.0)  # the average's weights are not G's
        average.module.body[1].running_mean.fill_(5.0)  # G's statistics, copied
    weights = {k: v.clone() for k, v in average.module.state_dict().items() if "running" not in k and "num" not in k}

    def draw(n, noise):
        return torch.randn(n, 3, generator=noise) + 1.0, None

    average.measure_statistics(draw, torch.device("cpu"))
    noise = torch.Generator().manual_seed(ema_module.STATISTICS_SEED)
    batches = [average.module.body[0](draw(ema_module.STATISTICS_BATCH, noise)[0])
               for _ in range(ema_module.STATISTICS_SAMPLES // ema_module.STATISTICS_BATCH)]
    norm = average.module.body[1]
    want_mean = torch.stack([b.mean(0) for b in batches]).mean(0)
    want_var = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    assert torch.allclose(norm.running_mean, want_mean, atol=1e-5)
    assert torch.allclose(norm.running_var, want_var, rtol=1e-4)
    assert norm.momentum == 0.1 and not average.module.training
    assert all(torch.equal(average.module.state_dict()[k], v) for k, v in weights.items())
    first = norm.running_mean.clone()
    average.measure_statistics(draw, torch.device("cpu"))  # the same inputs every time
    assert torch.equal(norm.running_mean, first)


def test_the_saved_average_carries_its_own_statistics(tmp_path):
    session = new_run(None, [*TINY, "train.steps=30", "train.ema=0.9"], runs_root=tmp_path)
    fit(session, show_progress=False)
    exported = load_generator(session.run_dir).state_dict()
    raw = load_generator(session.run_dir, raw=True).state_dict()
    statistics = [k for k in exported if k.endswith("running_mean")]
    assert statistics and all(not torch.equal(exported[k], raw[k]) for k in statistics)
    session.gan.measure_average_statistics(torch.device("cpu"))
    again = session.gan.ema.state_dict()
    assert all(torch.equal(exported[k], again[k]) for k in statistics)


def test_a_gan_stepped_by_hand_averages_and_schedules_as_a_run_does(tmp_path):
    common = [*TINY, "train.steps=30", "train.ema=0.9", "optim.schedule=linear"]
    session = new_run(None, common, runs_root=tmp_path)
    fit(session, show_progress=False)
    by_hand = TrainableGan(session.cfg.model_copy(deep=True))
    for _ in range(30):
        by_hand.iterate()
    z = by_hand.fixed_noise(16)
    run_average = load_generator(session.run_dir)
    assert by_hand.gan.g_optimizer.param_groups[0]["lr"] == pytest.approx(session.cfg.optim.g.lr / 30)
    assert torch.allclose(by_hand.generate(z), run_average(z), atol=1e-6)
    raw = load_generator(session.run_dir, raw=True)
    assert not torch.allclose(by_hand.generate(z), raw(z), atol=1e-3)  # the average, not the raw G
