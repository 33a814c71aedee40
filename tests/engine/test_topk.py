"""Top-k generator updates (train.top_k): the share kept, which fakes, and G's loss over them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gankit.config import build_config
from gankit.engine import TrainableGan
from gankit.engine.gan import generator_step
from gankit.engine.speed import graph_obstacle
from gankit.engine.topk import TopK
from gankit.errors import UserError


def test_the_share_kept_falls_by_the_decay_each_epoch_down_to_the_floor():
    rule = TopK(floor=0.5, decay=0.9, batches_per_epoch=10, d_steps=2)
    # Two real batches per iteration: an epoch is 5 iterations.
    assert [rule.share(i) for i in (0, 4, 5, 10)] == pytest.approx([1.0, 1.0, 0.9, 0.81])
    assert rule.share(1000) == 0.5
    assert [rule.kept(i, 64) for i in (0, 5, 1000)] == [64, 58, 32]
    assert TopK(0.001, 0.5, 1, 1).kept(100, 64) == 1  # never an empty batch


def test_select_keeps_the_outputs_rated_most_real_with_their_labels():
    rule = TopK(floor=0.5, decay=0.5, batches_per_epoch=1, d_steps=1)
    logits = torch.tensor([[0.3], [-2.0], [5.0], [1.0]])
    labels = torch.tensor([0, 1, 2, 3])
    out, kept_labels = rule.select(logits, labels, lambda o: o, iteration=3)
    assert sorted(out.flatten().tolist()) == [1.0, 5.0]
    assert sorted(kept_labels.tolist()) == [2, 3]
    # A head with several outputs (a score and class logits) is cut on every output alike.
    classes = torch.arange(8.0).reshape(4, 2)
    (score, logits_kept), _ = rule.select((logits, classes), None, lambda o: o[0], iteration=3)
    assert sorted(score.flatten().tolist()) == [1.0, 5.0]
    assert sorted(logits_kept[:, 0].tolist()) == [4.0, 6.0]
    # In the first epoch the whole batch is kept.
    assert rule.select(logits, labels, lambda o: o, iteration=0)[0] is logits


def test_g_loss_is_taken_over_the_fakes_d_rates_most_real_only():
    cfg = build_config("ring8", ["train.top_k=0.25", "train.top_k_decay=0.5", "train.batch_size=64"])
    gan = TrainableGan(cfg).gan
    z = gan.sample_z(64, torch.device("cpu"))
    fake = gan.generator(z)
    with torch.no_grad():
        logits = gan.discriminator(fake).flatten()
    assert len(logits) == 32  # PacGAN2: one output per pair
    best = logits.sort(descending=True).values[:8]
    stats = generator_step(gan, 64, torch.device("cpu"), fake=fake, iteration=10_000)
    # The non-saturating loss -log D(G(z)) over the best quarter of D's outputs only.
    assert stats.g_loss.item() == pytest.approx(F.softplus(-best).mean().item(), rel=1e-5)
    assert stats.g_loss.item() < F.softplus(-logits).mean().item()


def test_only_the_kept_fakes_move_g():
    """A fake D rates worst sends no gradient back into G's batch."""
    cfg = build_config("ring8", ["train.top_k=0.5", "train.top_k_decay=0.5", "train.batch_size=8",
                                  "model.pack=1"])
    gan = TrainableGan(cfg).gan
    fake = gan.generator(gan.sample_z(8, torch.device("cpu"))).detach().requires_grad_(True)
    with torch.no_grad():
        order = gan.discriminator(fake).flatten().argsort()
    generator_step(gan, 8, torch.device("cpu"), fake=fake, iteration=10**6)
    moved = fake.grad.abs().sum(1) > 0
    assert not moved[order[:4]].any() and moved[order[4:]].all()


def test_top_k_is_checked_and_keeps_the_run_off_cuda_graphs():
    with pytest.raises(UserError, match="top_k"):
        build_config("ring8", ["train.top_k=0"])
    with pytest.raises(UserError, match="top_k"):
        build_config("ring8", ["train.top_k=1.5"])
    cfg = build_config("ring8", ["train.top_k=0.5"])
    assert "train.top_k" in graph_obstacle(cfg, torch.device("cuda"), world_size=1)
    assert graph_obstacle(build_config("ring8", []), torch.device("cuda"), world_size=1) == ""
