"""The gradient norms of G and D in every logged row: what autograd gives by hand, where the
minimax loss saturates, the norm of the averaged gradient, and the named statistics record."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import build_config
from gankit.engine.gan import (STAT_NAMES, DStepStatistics, GStepStatistics, Statistics, discriminator_step,
                                generator_step, train_iteration)
from gankit.engine import initial_statistics, new_run, prepare

PLAIN = ["speed.precision=fp32", "speed.channels_last=false", "speed.fused_optimizer=false", "speed.graph=false"]
TINY = ["model.arch=mlp", "model.g_width=32", "model.d_width=32", "model.z_dim=8", "data.limit=64",
        "train.batch_size=16"]
LR = 0.05
SGD = ["optim.g.name=sgd", "optim.d.name=sgd", f"optim.g.lr={LR}", f"optim.d.lr={LR}"]


def norm(tensors) -> float:
    """The L2 norm of ``tensors`` as one vector, in float64."""
    return math.sqrt(sum(float(t.double().pow(2).sum()) for t in tensors))


def gradient_penalty(d, real, fake, noise, weight):
    """WGAN-GP written out: weight * mean (|grad D(x_hat)| - 1)^2 at eps x + (1 - eps) G(z)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, generator=noise)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(mixed).sum(), mixed, create_graph=True)
    return weight * (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(d, real, weight):
    """R1 written out: gamma / 2 * mean |grad D(x)|^2 on the real batch."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(real).sum(), real, create_graph=True)
    return weight / 2 * grad.flatten(1).pow(2).sum(1).mean()


@pytest.mark.parametrize("penalty", ["regularize.gradient_penalty=10", "regularize.r1=5"])
def test_logged_norms_are_the_gradients_autograd_gives_by_hand(penalty):
    """One iteration with plain SGD: D's norm is that of the gradient of its BCE loss plus the
    penalty, G's that of its loss against the updated D, both recomputed from a copy of the state."""
    cfg = build_config(None, [*PLAIN, *TINY, *SGD, penalty])
    _, _, batches, gan = prepare(cfg)
    g, d = copy.deepcopy(gan.generator), copy.deepcopy(gan.discriminator)
    noise = torch.Generator().manual_seed(0)
    noise.set_state(gan.noise.get_state())

    logged = dict(zip(STAT_NAMES, train_iteration(gan, batches.get, 0, 1).tolist()))

    # D's step: BCE (real and fake terms halved) plus the penalty, on the same batch and noise.
    real, _ = batches.get(0)
    fake = g(gan.prior.sample(16, cfg.model.z_dim, generator=noise)).detach()
    d_loss = (F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()) / 2
    if "gradient_penalty" in penalty:
        d_penalty = gradient_penalty(d, real, fake, noise, 10.0)
    else:
        d_penalty = r1_penalty(d, real, 5.0)
    d_grads = torch.autograd.grad(d_loss + d_penalty, list(d.parameters()))
    assert d_penalty.item() > 0
    assert logged["d_penalty"] == pytest.approx(d_penalty.item(), rel=1e-5)
    assert logged["d_grad_norm"] == pytest.approx(norm(d_grads), rel=1e-5)

    # D's SGD update by hand; the run's D must agree, or G's step below would not be comparable.
    with torch.no_grad():
        for weight, grad in zip(d.parameters(), d_grads):
            weight -= LR * grad
    for mine, theirs in zip(d.parameters(), gan.discriminator.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-6)

    # G's step: fresh noise, non-saturating loss against the updated D (a constant here).
    d.requires_grad_(False)
    g_loss = F.softplus(-d(g(gan.prior.sample(16, cfg.model.z_dim, generator=noise)))).mean()
    g_grads = torch.autograd.grad(g_loss, list(g.parameters()))
    assert logged["g_loss"] == pytest.approx(g_loss.item(), rel=1e-5)
    assert logged["g_grad_norm"] == pytest.approx(norm(g_grads), rel=1e-5)
    assert logged["g_grad_norm"] > 0 and logged["d_grad_norm"] > 0


def reject_fakes(discriminator: nn.Module, logit: float) -> None:
    """Make D confident that everything is fake: its output layer gives about ``logit``."""
    head = [m for m in discriminator.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        head.weight.mul_(0.01)
        head.bias.fill_(logit)


def test_minimax_gradient_vanishes_where_the_non_saturating_one_does_not(tmp_path):
    """Goodfellow et al. (2014): when D rejects the fakes (D(G(z)) ~ e^-8), log(1 - D(G(z)))
    saturates, and G's gradient is ~ D(G(z)) times the non-saturating one; in the step-0 record
    and in a training G step alike."""
    norms = {}
    for loss in ("minimax", "non-saturating"):
        session = new_run(None, [*PLAIN, *TINY, f"train.loss={loss}", "train.steps=1"], name=loss,
                          runs_root=tmp_path)
        reject_fakes(session.gan.discriminator, -8.0)
        record = Statistics.read(initial_statistics(session))
        assert record["d_g_z"] < 1e-3
        stats = generator_step(session.gan, 16, torch.device("cpu"))
        norms[loss] = record["g_grad_norm"], stats.g_grad_norm.item()
    for minimax, non_saturating in zip(norms["minimax"], norms["non-saturating"]):
        assert 0 < minimax < 1e-2 * non_saturating
        assert minimax / non_saturating == pytest.approx(math.exp(-8), rel=0.05)


def test_the_norm_is_taken_after_the_gradients_are_averaged():
    """With several processes the logged norm is that of the averaged gradient: a stand-in for
    the all-reduce that halves every gradient halves both norms, D's and G's, from the same state."""
    def fresh(sync):
        _, _, batches, gan = prepare(build_config(None, [*PLAIN, *TINY, *SGD]))
        gan.sync_gradients = sync
        return batches, gan

    halve = lambda module: [p.grad.mul_(0.5) for p in module.parameters() if p.grad is not None]  # noqa: E731
    norms = {}
    for name, sync in (("alone", None), ("averaged", halve)):
        batches, gan = fresh(sync)
        d_stats, _ = discriminator_step(gan, *batches.get(0))
        _, gan = fresh(sync)
        g_stats = generator_step(gan, 16, torch.device("cpu"))
        norms[name] = d_stats.d_grad_norm.item(), g_stats.g_grad_norm.item()
    assert norms["averaged"] == (norms["alone"][0] / 2, norms["alone"][1] / 2)
    assert min(norms["alone"]) > 0


def test_the_step_zero_record_changes_nothing(tmp_path):
    """Its gradients leave no trace: weights, BatchNorm buffers, .grad and every generator stay."""
    session = new_run(None, ["train.steps=1", "train.batch_size=16"], runs_root=tmp_path)
    gan = session.gan
    before = copy.deepcopy({"g": gan.generator.state_dict(), "d": gan.discriminator.state_dict()})
    rng, noise = torch.get_rng_state(), gan.noise.get_state()
    record = Statistics.read(initial_statistics(session))
    assert record["g_grad_norm"] > 0 and record["d_grad_norm"] > 0 and record["d_penalty"] == 0
    for part, module in (("g", gan.generator), ("d", gan.discriminator)):
        for key, value in module.state_dict().items():
            assert torch.equal(value, before[part][key]), f"{part}.{key} changed"
        assert all(p.grad is None for p in module.parameters())
        assert module.training
    assert torch.equal(torch.get_rng_state(), rng) and torch.equal(gan.noise.get_state(), noise)


def test_statistics_are_packed_in_the_order_of_their_names():
    values = {name: torch.tensor(float(i)) for i, name in enumerate(STAT_NAMES)}
    d = DStepStatistics(**{k: v for k, v in values.items() if k in DStepStatistics._fields})
    g = GStepStatistics(**{k: v for k, v in values.items() if k in GStepStatistics._fields})
    assert torch.equal(Statistics.of(d, g).pack(), torch.arange(len(STAT_NAMES), dtype=torch.float32))
    assert STAT_NAMES == ("d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z", "d_penalty",
                          "g_grad_norm", "d_grad_norm", "fake_spread")
    read = Statistics.read(torch.tensor([0.1234567891] * 7 + [1.234567e-7, 12345.6789, 0.1234567891]))
    assert read["d_loss"] == 0.123457  # losses to 6 decimals, as always
    assert (read["g_grad_norm"], read["d_grad_norm"]) == (1.23457e-07, 12345.7)  # norms: 6 significant digits


def test_every_logged_row_carries_finite_positive_norms(gankit, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code, _, err = gankit("train", "train.steps=3", "train.log_every=1", "train.batch_size=16",
                          "train.sample_steps=[0]", "--runs-dir", str(tmp_path))
    assert code == 0, err
    run_dir = tmp_path / "digits"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2, 3]
    for record in records:
        assert list(record) == ["step", "d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z", "d_penalty",
                                "g_grad_norm", "d_grad_norm", "fake_spread", "g_weight_norm", "d_weight_norm",
                                "img_per_s"]
        for key in ("g_grad_norm", "d_grad_norm"):
            assert math.isfinite(record[key]) and record[key] > 0, (record["step"], key)
    events = EventAccumulator(str(run_dir))
    events.Reload()
    for key in ("g_grad_norm", "d_grad_norm"):
        assert [e.step for e in events.Scalars(f"gradients/{key}")] == [0, 1, 2, 3]
