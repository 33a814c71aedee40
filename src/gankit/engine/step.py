"""One training iteration, as in the textbook: k steps of D, then one step of G.

Nothing here reads a value back to the host: the statistics of an iteration are returned as
one device tensor, which the loop adds up and reads once per log interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from gankit.objectives import Objective
from gankit.priors import Prior
from gankit.regularize import DStepContext, Regularizers

# The order of the values in the statistics vector an iteration returns.
STAT_NAMES = ("d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z", "d_penalty")

BatchSource = Callable[[int], tuple[torch.Tensor, Optional[torch.Tensor]]]


@dataclass
class Gan:
    """The two players, their optimizers, and what they are trained with."""

    generator: nn.Module
    discriminator: nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    objective: Objective
    regularizers: Regularizers
    prior: Prior
    z_dim: int
    num_classes: int  # > 0: G and D are conditioned on labels
    pack: int  # samples per D input
    noise: torch.Generator  # the only source of latent noise (and G's labels) during training

    def sample_z(self, n: int, device: torch.device) -> torch.Tensor:
        """Latent codes for one batch from the training prior."""
        return self.prior.sample(n, self.z_dim, device=device, generator=self.noise)

    def sample_labels(self, n: int, device: torch.device) -> Optional[torch.Tensor]:
        """Uniformly drawn classes for G's samples (None for unconditional runs)."""
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (n,), device=device, generator=self.noise)

    def score(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D's real-vs-fake score of a batch, one per D input."""
        return self.objective.score(self.discriminator(x, labels))


def discriminator_step(gan: Gan, real: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
    """One step of D on a real batch and a fake batch of the same classes; returns its statistics."""
    labels = labels if gan.num_classes else None
    z = gan.sample_z(real.shape[0], real.device)
    with torch.no_grad():
        fake = gan.generator(z, labels)
    if gan.regularizers.needs_real_grad:
        real = real.detach().requires_grad_(True)
    real_out = gan.discriminator(real, labels)
    fake_out = gan.discriminator(fake, labels)
    terms = gan.objective.d_terms(real_out, fake_out, labels, labels)
    penalty = gan.regularizers.penalty(DStepContext(
        score=gan.score, real=real, real_score=gan.objective.score(real_out), fake=fake, labels=labels,
        pack=gan.pack, noise=gan.noise))
    total = terms.total if penalty is None else terms.total + penalty
    gan.d_optimizer.zero_grad(set_to_none=True)
    total.backward()
    gan.d_optimizer.step()
    gan.regularizers.after_step(gan.discriminator)
    penalty = torch.zeros((), device=real.device) if penalty is None else penalty
    return torch.stack([terms.real, terms.fake, total,
                        gan.objective.realness(_detach(real_out)), gan.objective.realness(_detach(fake_out)),
                        penalty]).detach()


def generator_step(gan: Gan, batch_size: int, device: torch.device) -> torch.Tensor:
    """One step of G against the current D, on uniformly drawn classes; returns G's loss."""
    z = gan.sample_z(batch_size, device)
    labels = gan.sample_labels(batch_size, device)
    gan.discriminator.requires_grad_(False)  # D's weights are constants in G's step
    try:
        g_loss = gan.objective.g_loss(gan.discriminator(gan.generator(z, labels), labels), labels)
        gan.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        gan.g_optimizer.step()
    finally:
        gan.discriminator.requires_grad_(True)
    return g_loss.detach()


def train_iteration(gan: Gan, batches: BatchSource, iteration: int, d_steps: int) -> torch.Tensor:
    """Iteration ``iteration`` (0-based): ``d_steps`` D steps on consecutive batches, one G step.

    Returns the statistics in :data:`STAT_NAMES` order, D's taken from its last step.
    """
    for k in range(d_steps):
        real, labels = batches(iteration * d_steps + k)
        d_stats = discriminator_step(gan, real, labels)
    g_loss = generator_step(gan, real.shape[0], real.device)
    return torch.cat([d_stats[:3], g_loss.view(1), d_stats[3:]])


def _detach(out):
    return tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()
