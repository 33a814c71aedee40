"""The moving average of G's weights equals its formula, is what sampling and the exported
generator use, is kept in checkpoints beside the raw G, and resumes exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.engine.checkpoint import EMA_KEY, read_checkpoint
from gankit.engine.ema import WeightAverage, ema_beta
from gankit.engine import fit, new_run, resume_run
from gankit.sampling import load_generator

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
