"""Constraints and penalties on D: weight clipping, the WGAN-GP gradient penalty, R1.

Spectral normalisation, the minibatch standard deviation and packing change D's layers and
live in :mod:`gankit.nets`. Each regulariser here is a small object; the D step adds every
``penalty`` to D's loss and calls every ``after_step`` after the optimizer step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from gankit.config import RegularizeConfig

ScoreFn = Callable[[torch.Tensor, Optional[torch.Tensor]], torch.Tensor]  # (samples, labels) -> (N / pack,)


@dataclass
class DStepContext:
    """What a penalty may look at in one D step."""

    score: ScoreFn  # D's real-vs-fake score of a batch
    real: torch.Tensor  # requires grad when some penalty needs it
    real_score: torch.Tensor
    fake: torch.Tensor
    labels: Optional[torch.Tensor]
    pack: int  # samples per D input: gradient norms are taken per D input
    noise: torch.Generator


def gradient_norms(scores: torch.Tensor, inputs: torch.Tensor, pack: int) -> torch.Tensor:
    """|∇ D| per D input, over all its dimensions (with packing, over the whole pack)."""
    (grad,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return grad.reshape(inputs.shape[0] // pack, -1).norm(dim=1)


class WeightClip:
    """WGAN's "kernel constraint": every D parameter clipped to [-bound, bound] after each D step."""

    needs_real_grad = False

    def __init__(self, bound: float):
        self.bound = bound

    def penalty(self, ctx: DStepContext) -> Optional[torch.Tensor]:
        """No penalty: clipping is a constraint."""
        return None

    @torch.no_grad()
    def after_step(self, discriminator: nn.Module) -> None:
        """Clip in place."""
        for parameter in discriminator.parameters():
            parameter.clamp_(-self.bound, self.bound)


class GradientPenalty:
    """WGAN-GP (Gulrajani et al. 2017): weight · mean (|∇ D(x̂)| - 1)² at x̂ = εx + (1-ε)G(z),
    ε ~ U(0, 1) per sample."""

    needs_real_grad = False

    def __init__(self, weight: float):
        self.weight = weight

    def penalty(self, ctx: DStepContext) -> torch.Tensor:
        """The penalty on random interpolates of the real and fake batch."""
        shape = (ctx.real.shape[0],) + (1,) * (ctx.real.dim() - 1)
        eps = torch.rand(shape, device=ctx.real.device, generator=ctx.noise)
        mixed = (eps * ctx.real.detach() + (1 - eps) * ctx.fake.detach()).requires_grad_(True)
        norms = gradient_norms(ctx.score(mixed, ctx.labels), mixed, ctx.pack)
        return self.weight * (norms - 1).pow(2).mean()

    def after_step(self, discriminator: nn.Module) -> None:
        """Nothing."""


class R1:
    """R1 (Mescheder et al. 2018): gamma / 2 · mean |∇ D(x)|² on real samples."""

    needs_real_grad = True

    def __init__(self, gamma: float):
        self.gamma = gamma

    def penalty(self, ctx: DStepContext) -> torch.Tensor:
        """The penalty on the real batch D just scored."""
        return self.gamma / 2 * gradient_norms(ctx.real_score, ctx.real, ctx.pack).pow(2).mean()

    def after_step(self, discriminator: nn.Module) -> None:
        """Nothing."""


class Regularizers:
    """All of a run's regularisers, applied together."""

    def __init__(self, parts: list):
        self.parts = parts
        self.needs_real_grad = any(p.needs_real_grad for p in parts)

    def penalty(self, ctx: DStepContext) -> Optional[torch.Tensor]:
        """The sum of the penalties, or None when there are none."""
        terms = [t for t in (p.penalty(ctx) for p in self.parts) if t is not None]
        return sum(terms[1:], terms[0]) if terms else None

    def after_step(self, discriminator: nn.Module) -> None:
        """Apply every constraint."""
        for part in self.parts:
            part.after_step(discriminator)


def build_regularizers(cfg: RegularizeConfig) -> Regularizers:
    """The regularisers ``cfg`` switches on."""
    parts: list = []
    if cfg.clip is not None:
        parts.append(WeightClip(cfg.clip))
    if cfg.gradient_penalty:
        parts.append(GradientPenalty(cfg.gradient_penalty))
    if cfg.r1:
        parts.append(R1(cfg.r1))
    return Regularizers(parts)
