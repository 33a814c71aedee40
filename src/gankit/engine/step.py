"""One training iteration, as in the textbook: k steps of D, then one step of G.

Nothing here reads a value back to the host: the statistics of an iteration are returned as
one device tensor, which the loop adds up and reads once per log interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn

from gankit.engine.speed import Speed
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
    speed: Speed = Speed.plain("cpu")
    reuse_fake: bool = False  # G's step is taken on the fake batch of D's last step
    sync_gradients: Optional[Callable[[nn.Module], None]] = None  # several processes: average grads
    # What the step calls: the modules themselves, or their torch.compile'd forms.
    g_forward: Callable[..., torch.Tensor] = field(default=None, repr=False)  # type: ignore[assignment]
    d_forward: Callable[..., Any] = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.g_forward = self.g_forward or self.generator
        self.d_forward = self.d_forward or self.discriminator

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
        return self.objective.score(_float(self.d_forward(x, labels)))

    def apply(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, module: nn.Module) -> None:
        """Back-propagate ``loss`` into ``module`` (averaged over processes) and step."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.sync_gradients is not None:
            self.sync_gradients(module)
        optimizer.step()


def discriminator_step(gan: Gan, real: torch.Tensor, labels: Optional[torch.Tensor],
                       keep_fake: bool = False) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """One step of D on a real batch and a fake batch of the same classes.

    Returns its statistics, and (with ``keep_fake``) the fake batch still attached to G's graph,
    for a G step that reuses it.
    """
    labels = labels if gan.num_classes else None
    with gan.speed.autocast():
        z = gan.sample_z(real.shape[0], real.device)
        with torch.set_grad_enabled(keep_fake):
            fake = gan.g_forward(z, labels)
        if gan.regularizers.needs_real_grad:
            real = real.detach().requires_grad_(True)
        real_out = _float(gan.d_forward(real, labels))
        fake_out = _float(gan.d_forward(fake.detach(), labels))
        terms = gan.objective.d_terms(real_out, fake_out, labels, labels)
        penalty = gan.regularizers.penalty(DStepContext(
            score=gan.score, real=real, real_score=gan.objective.score(real_out), fake=fake.detach(),
            labels=labels, pack=gan.pack, noise=gan.noise))
        total = terms.total if penalty is None else terms.total + penalty
    gan.apply(gan.d_optimizer, total, gan.discriminator)
    gan.regularizers.after_step(gan.discriminator)
    penalty = torch.zeros((), device=real.device) if penalty is None else penalty
    stats = torch.stack([terms.real, terms.fake, total,
                         gan.objective.realness(_detach(real_out)), gan.objective.realness(_detach(fake_out)),
                         penalty]).detach()
    return stats, (fake if keep_fake else None)


def generator_step(gan: Gan, batch_size: int, device: torch.device,
                   fake: Optional[torch.Tensor] = None, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One step of G against the current D; returns G's loss.

    G's samples are drawn here from fresh noise on uniformly drawn classes, unless ``fake`` (and
    its ``labels``) from D's step are given to be reused.
    """
    gan.discriminator.requires_grad_(False)  # D's weights are constants in G's step
    try:
        with gan.speed.autocast():
            if fake is None:
                labels = gan.sample_labels(batch_size, device)
                fake = gan.g_forward(gan.sample_z(batch_size, device), labels)
            g_loss = gan.objective.g_loss(_float(gan.d_forward(fake, labels)), labels)
        gan.apply(gan.g_optimizer, g_loss, gan.generator)
    finally:
        gan.discriminator.requires_grad_(True)
    return g_loss.detach()


def train_iteration(gan: Gan, batches: BatchSource, iteration: int, d_steps: int) -> torch.Tensor:
    """Iteration ``iteration`` (0-based): ``d_steps`` D steps on consecutive batches, one G step.

    Returns the statistics in :data:`STAT_NAMES` order, D's taken from its last step.
    """
    for k in range(d_steps):
        real, labels = batches(iteration * d_steps + k)
        last = k == d_steps - 1
        d_stats, fake = discriminator_step(gan, real, labels, keep_fake=gan.reuse_fake and last)
    g_loss = generator_step(gan, real.shape[0], real.device, fake, labels if gan.num_classes else None)
    return torch.cat([d_stats[:3], g_loss.view(1), d_stats[3:]])


def _float(out):
    """D's output in fp32 (under bf16 autocast it comes out in bf16)."""
    return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()


def _detach(out):
    return tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()
