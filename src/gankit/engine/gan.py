"""One training iteration, as in the textbook: k steps of D, then one step of G.

Nothing here reads a value back to the host: each step names its statistics where it computes
them (:class:`DStepStatistics`, :class:`GStepStatistics`), the iteration packs them into one
device tensor (:class:`Statistics`), which the loop adds up and reads once per log interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional

import torch
from torch import nn

from gankit.augment import Augment
from gankit.engine.ema import WeightAverage
from gankit.engine.speed import Speed
from gankit.engine.topk import TopK
from gankit.objectives import Objective
from gankit.priors import Prior
from gankit.regularize import DStepContext, Regularizers


class DStepStatistics(NamedTuple):
    """What one D step measures (device tensors, 0-dim), named as metrics.jsonl names it."""

    d_real: torch.Tensor  # D's loss term on the real batch
    d_fake: torch.Tensor  # D's loss term on the fake batch
    d_loss: torch.Tensor  # D's total loss, penalties included
    d_x: torch.Tensor  # mean D(x), as shown (a probability, or a critic's score)
    d_g_z: torch.Tensor  # mean D(G(z)), as shown
    d_penalty: torch.Tensor  # the sum of D's penalties (0 without any)
    d_grad_norm: torch.Tensor  # L2 norm of D's gradient (processes averaged), before the optimizer step
    fake_spread: torch.Tensor  # variety of the fake batch over the real one's (see batch_spread)


class GStepStatistics(NamedTuple):
    """What one G step measures (device tensors, 0-dim), named as metrics.jsonl names it."""

    g_loss: torch.Tensor  # G's loss
    g_grad_norm: torch.Tensor  # L2 norm of G's gradient (processes averaged), before the optimizer step


class Statistics(NamedTuple):
    """The statistics of one iteration: D's from its last step, G's from its step.

    The one place that orders them: the fields are the statistics' keys in metrics.jsonl, in
    order, and :meth:`pack` stacks them in that order into the vector the loop adds up.
    """

    d_real: torch.Tensor
    d_fake: torch.Tensor
    d_loss: torch.Tensor
    g_loss: torch.Tensor
    d_x: torch.Tensor
    d_g_z: torch.Tensor
    d_penalty: torch.Tensor
    g_grad_norm: torch.Tensor
    d_grad_norm: torch.Tensor
    fake_spread: torch.Tensor

    @classmethod
    def of(cls, d: DStepStatistics, g: GStepStatistics) -> "Statistics":
        """Both steps' statistics, matched by name (a missing or unknown name is a TypeError)."""
        return cls(**d._asdict(), **g._asdict())

    def pack(self) -> torch.Tensor:
        """One detached device vector, in field order: no host transfer."""
        return torch.stack(self).detach()

    @classmethod
    def read(cls, packed: torch.Tensor) -> dict[str, float]:
        """The named values of a packed vector (or of a mean of packed vectors), read with one
        host transfer and rounded for the log (see :func:`rounded`)."""
        return {name: rounded(name, value) for name, value in zip(cls._fields, packed.tolist())}


STAT_NAMES = Statistics._fields  # the order of the values in a packed statistics vector
NORMS = ("g_grad_norm", "d_grad_norm", "g_weight_norm", "d_weight_norm")


def rounded(name: str, value: float) -> float:
    """A logged value rounded for the log: to 6 decimals, and norms, which may vanish or grow
    huge, to 6 significant digits."""
    return float(f"{value:.6g}") if name in NORMS else round(value, 6)


def batch_spread(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """How varied a fake batch is next to a real one: the mean over features of the standard
    deviation across the batch, of the fakes over that of the reals (about 1 when G's samples
    vary as much as the data, near 0 when they are all alike). Tensor operations only."""
    def spread(batch: torch.Tensor) -> torch.Tensor:
        return batch.detach().float().flatten(1).std(0, correction=0).mean()

    return spread(fake) / spread(real).clamp_min(1e-12)


def gradient_norm(gradients: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """The L2 norm of all ``gradients`` (on ``device``) together, as one vector: a 0-dim tensor.

    Tensor operations only (one for-each kernel where the device has it): no host sync, and it
    can be recorded in a CUDA graph.
    """
    if not gradients:
        return torch.zeros((), device=device)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(gradients)))


def step_gradients(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The gradients ``optimizer`` steps with (its parameters are read from the optimizer: no
    walk over the module's tree on the hot path)."""
    return [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]


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
    ema: Optional[WeightAverage] = None  # the moving average of G's weights (train.ema)
    augment: Optional[Augment] = None  # applied to every batch D sees, real and fake (regularize.augment)
    top_k: Optional[TopK] = None  # G learns only from the fakes D rates most real (train.top_k)
    # What the step calls: the modules themselves, or their torch.compile'd forms.
    g_forward: Callable[..., torch.Tensor] = field(default=None, repr=False)  # type: ignore[assignment]
    d_forward: Callable[..., Any] = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # `is None`, not `or`: a compiled module has no truth value (it proxies len()).
        if self.g_forward is None:
            self.g_forward = self.generator
        d_forward = self.discriminator if self.d_forward is None else self.d_forward
        if self.augment is not None:
            augment, noise = self.augment, self.noise
            self.d_forward = lambda x, labels=None: d_forward(augment(x, noise), labels)
        else:
            self.d_forward = d_forward

    @property
    def sampler(self) -> nn.Module:
        """The G that samples, draws grids, is evaluated and exported: the weight average when
        there is one, else G itself."""
        return self.ema.module if self.ema is not None else self.generator

    def measure_average_statistics(self, device: torch.device) -> None:
        """Give the weight average (if any) BatchNorm statistics of its own, measured on inputs
        from the training prior and uniform classes (see gankit.engine.ema)."""
        if self.ema is not None:
            self.ema.measure_statistics(
                lambda n, noise: (self.sample_z(n, device, noise), self.sample_labels(n, device, noise)), device)

    def sample_z(self, n: int, device: torch.device, noise: Optional[torch.Generator] = None) -> torch.Tensor:
        """Latent codes for one batch from the training prior (drawn with ``noise``, by default
        the training's generator)."""
        return self.prior.sample(n, self.z_dim, device=device, generator=noise or self.noise)

    def sample_labels(self, n: int, device: torch.device,
                      noise: Optional[torch.Generator] = None) -> Optional[torch.Tensor]:
        """Uniformly drawn classes for G's samples (None for unconditional runs; drawn with
        ``noise``, by default the training's generator)."""
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (n,), device=device, generator=noise or self.noise)

    def score(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """D's real-vs-fake score of a batch, one per D input."""
        return self.objective.score(_float(self.d_forward(x, labels)))

    def apply(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, module: nn.Module) -> torch.Tensor:
        """Back-propagate ``loss`` into ``module`` (averaged over processes) and step; returns
        the L2 norm of the gradient the step was taken with (a device tensor)."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.sync_gradients is not None:
            self.sync_gradients(module)
        norm = gradient_norm(step_gradients(optimizer), loss.device)
        optimizer.step()
        return norm


def discriminator_step(gan: Gan, real: torch.Tensor, labels: Optional[torch.Tensor],
                       keep_fake: bool = False) -> tuple[DStepStatistics, Optional[torch.Tensor]]:
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
    grad_norm = gan.apply(gan.d_optimizer, total, gan.discriminator)
    gan.regularizers.after_step(gan.discriminator)
    stats = DStepStatistics(
        d_real=terms.real.detach(), d_fake=terms.fake.detach(), d_loss=total.detach(),
        d_x=gan.objective.realness(_detach(real_out)), d_g_z=gan.objective.realness(_detach(fake_out)),
        d_penalty=torch.zeros((), device=real.device) if penalty is None else penalty.detach(),
        d_grad_norm=grad_norm, fake_spread=batch_spread(fake, real))
    return stats, (fake if keep_fake else None)


def generator_step(gan: Gan, batch_size: int, device: torch.device,
                   fake: Optional[torch.Tensor] = None, labels: Optional[torch.Tensor] = None,
                   iteration: int = 0) -> GStepStatistics:
    """One step of G against the current D in iteration ``iteration``; returns its statistics.

    G's samples are drawn here from fresh noise on uniformly drawn classes, unless ``fake`` (and
    its ``labels``) from D's step are given to be reused. With top-k updates G's loss is taken
    over the fakes D rates most real only.
    """
    gan.discriminator.requires_grad_(False)  # D's weights are constants in G's step
    try:
        with gan.speed.autocast():
            if fake is None:
                labels = gan.sample_labels(batch_size, device)
                fake = gan.g_forward(gan.sample_z(batch_size, device), labels)
            out = _float(gan.d_forward(fake, labels))
            if gan.top_k is not None:
                out, labels = gan.top_k.select(out, labels, gan.objective.score, iteration)
            g_loss = gan.objective.g_loss(out, labels)
        grad_norm = gan.apply(gan.g_optimizer, g_loss, gan.generator)
    finally:
        gan.discriminator.requires_grad_(True)
    return GStepStatistics(g_loss=g_loss.detach(), g_grad_norm=grad_norm)


def train_iteration(gan: Gan, batches: BatchSource, iteration: int, d_steps: int) -> torch.Tensor:
    """Iteration ``iteration`` (0-based): ``d_steps`` D steps on consecutive batches, one G step.

    Returns its :class:`Statistics`, packed (D's taken from its last step).
    """
    for k in range(d_steps):
        real, labels = batches(iteration * d_steps + k)
        last = k == d_steps - 1
        d_stats, fake = discriminator_step(gan, real, labels, keep_fake=gan.reuse_fake and last)
    g_stats = generator_step(gan, real.shape[0], real.device, fake, labels if gan.num_classes else None,
                             iteration)
    return Statistics.of(d_stats, g_stats).pack()


def _float(out):
    """D's output in fp32 (under bf16 autocast it comes out in bf16)."""
    return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()


def _detach(out):
    return tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()
