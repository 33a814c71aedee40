"""One training iteration, as in the textbook: k steps of D, then one step of G.

Nothing here reads a value back to the host: the statistics of an iteration are returned as
one device tensor, which the loop adds up and reads once per log interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from gankit.losses import AdversarialLoss
from gankit.priors import Prior

# The order of the values in the statistics vector an iteration returns.
STAT_NAMES = ("d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z")

BatchSource = Callable[[int], tuple[torch.Tensor, Optional[torch.Tensor]]]


@dataclass
class Gan:
    """The two players, their optimizers, and what they are trained with."""

    generator: nn.Module
    discriminator: nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    loss: AdversarialLoss
    prior: Prior
    z_dim: int
    noise: torch.Generator  # the only source of latent noise during training

    def sample_z(self, n: int, device: torch.device) -> torch.Tensor:
        """Latent codes for one batch from the training prior."""
        return self.prior.sample(n, self.z_dim, device=device, generator=self.noise)


def mean_probability(loss: AdversarialLoss, out: torch.Tensor) -> torch.Tensor:
    """Mean D output as the user reads it: a probability for logit losses."""
    return torch.sigmoid(out).mean() if loss.outputs_are_logits else out.mean()


def discriminator_step(gan: Gan, real: torch.Tensor) -> torch.Tensor:
    """One step of D on a real batch and a fresh fake batch; returns its statistics."""
    z = gan.sample_z(real.shape[0], real.device)
    with torch.no_grad():
        fake = gan.generator(z)
    real_out = gan.discriminator(real)
    fake_out = gan.discriminator(fake)
    terms = gan.loss.d_terms(real_out, fake_out)
    gan.d_optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    gan.d_optimizer.step()
    return torch.stack([terms.real, terms.fake, terms.total,
                        mean_probability(gan.loss, real_out.detach()),
                        mean_probability(gan.loss, fake_out.detach())]).detach()


def generator_step(gan: Gan, batch_size: int, device: torch.device) -> torch.Tensor:
    """One step of G against the current D; returns G's loss."""
    z = gan.sample_z(batch_size, device)
    gan.discriminator.requires_grad_(False)  # D's weights are constants in G's step
    try:
        g_loss = gan.loss.g_loss(gan.discriminator(gan.generator(z)))
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
        real, _ = batches(iteration * d_steps + k)
        d_stats = discriminator_step(gan, real)
    g_loss = generator_step(gan, real.shape[0], real.device)
    return torch.cat([d_stats[:3], g_loss.view(1), d_stats[3:]])
