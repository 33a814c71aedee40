"""Adversarial losses, each computed from D's raw outputs (one score per sample).

The logistic losses read the score as a logit: with ``D(x) = sigmoid(logit)``,
``-log D(x) = softplus(-logit)`` and ``-log(1 - D(x)) = softplus(logit)``, which never
overflow or take the log of zero. The Wasserstein, hinge and least-squares losses use the raw
score (a critic: no sigmoid anywhere).

Each loss is a small object; the training loop only calls ``d_terms`` and ``g_loss`` and
looks losses up by name in the registry :data:`gankit.registry.LOSSES`, where each registers
itself (a loss of your own: ``LOSSES.register("name", YourLoss)``, with the attributes of
:class:`AdversarialLoss`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from gankit.quantities import Quantity
from gankit.registry import LOSSES


@dataclass
class DiscriminatorTerms:
    """D's loss on the real batch, on the fake batch, and the total it minimises."""

    real: torch.Tensor
    fake: torch.Tensor
    total: torch.Tensor


class AdversarialLoss(Protocol):
    """What the training loop (and the report, the web lab, the health checks) need of a loss."""

    name: str
    outputs_are_logits: bool  # True: D(x) is reported as mean sigmoid(output), and "D has won" is checked
    unit: str  # the unit of its values: "nats" for the logistic losses
    saturating: bool  # G's loss flattens where D rejects the fakes (its gradient vanishes)
    quantities: tuple[Quantity, ...]  # what ``derived`` logs (optional: none)

    def derived(self, record: dict) -> dict:
        """Extra logged values computed from the averaged statistics (e.g. a distance estimate)."""

    def d_terms(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> DiscriminatorTerms:
        """D's losses for real and fake outputs."""

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        """G's loss for D's outputs on generated samples."""


def real_loss(real_out: torch.Tensor) -> torch.Tensor:
    """BCE(D(x), 1) = mean -log D(x), from logits."""
    return F.softplus(-real_out).mean()


def fake_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """BCE(D(G(z)), 0) = mean -log(1 - D(G(z))), from logits."""
    return F.softplus(fake_out).mean()


class Minimax:
    """Goodfellow's original game: D maximises log D(x) + log(1 - D(G(z))); G minimises
    log(1 - D(G(z))), which saturates (vanishing gradients) when D rejects the fakes."""

    name = "minimax"
    outputs_are_logits = True
    unit = "nats"
    saturating = True
    quantities: tuple[Quantity, ...] = ()

    def derived(self, record: dict) -> dict:
        """Nothing beyond the loss terms."""
        return {}

    def d_terms(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> DiscriminatorTerms:
        """-[log D(x) + log(1 - D(G(z)))], split into its real and fake terms."""
        real, fake = real_loss(real_out), fake_loss(fake_out)
        return DiscriminatorTerms(real, fake, real + fake)

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        """mean log(1 - D(G(z)))."""
        return -fake_loss(fake_out)


class NonSaturating(Minimax):
    """The paper's practical variant: G minimises -log D(G(z)) instead."""

    name = "non-saturating"
    saturating = False

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        """mean -log D(G(z))."""
        return real_loss(fake_out)


class BinaryCrossEntropy(NonSaturating):
    """The Keras/PyTorch lab form: D loss (BCE(real,1) + BCE(fake,0)) / 2, G loss BCE(fake,1)."""

    name = "bce"

    def d_terms(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> DiscriminatorTerms:
        """(BCE(D(x),1) + BCE(D(G(z)),0)) / 2, with both terms kept apart."""
        real, fake = real_loss(real_out), fake_loss(fake_out)
        return DiscriminatorTerms(real, fake, (real + fake) / 2)


class CriticLoss(Minimax):
    """Base of the losses on a raw score (no sigmoid): G minimises -mean D(G(z)) unless overridden."""

    outputs_are_logits = False
    unit = "loss units"
    saturating = False

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        """-mean D(G(z))."""
        return -fake_out.mean()


class Wasserstein(CriticLoss):
    """WGAN (Arjovsky et al. 2017): the critic maximises mean D(x) - mean D(G(z)), so it minimises
    -(mean D(x) - mean D(G(z))); G minimises -mean D(G(z)). The critic must be kept Lipschitz
    (weight clipping, a gradient penalty or spectral normalisation)."""

    name = "wasserstein"
    unit = "critic units"
    quantities = (Quantity("wasserstein", "critic's Wasserstein estimate", "critic units", chart="losses",
                           description="the critic's Wasserstein estimate", short="Wasserstein", table=True,
                           derived=True),)

    def d_terms(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> DiscriminatorTerms:
        """-mean D(x) and +mean D(G(z)); their sum is minus the Wasserstein estimate."""
        real, fake = -real_out.mean(), fake_out.mean()
        return DiscriminatorTerms(real, fake, real + fake)

    def derived(self, record: dict) -> dict:
        """The critic's estimate of the Wasserstein distance, mean D(x) - mean D(G(z))."""
        return {self.quantities[0].key: round(-(record["d_real"] + record["d_fake"]), 6)}


class Hinge(CriticLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN): D minimises mean max(0, 1 - D(x)) +
    mean max(0, 1 + D(G(z))); G minimises -mean D(G(z))."""

    name = "hinge"

    def d_terms(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> DiscriminatorTerms:
        """The two hinge terms."""
        real, fake = F.relu(1 - real_out).mean(), F.relu(1 + fake_out).mean()
        return DiscriminatorTerms(real, fake, real + fake)


class LeastSquares(CriticLoss):
    """LSGAN (Mao et al. 2017) with targets a=0 (fake), b=1 (real), c=1: D minimises
    ½ mean (D(x) - 1)² + ½ mean D(G(z))²; G minimises ½ mean (D(G(z)) - 1)²."""

    name = "least-squares"

    def d_terms(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> DiscriminatorTerms:
        """The two squared errors, halved."""
        real, fake = 0.5 * (real_out - 1).pow(2).mean(), 0.5 * fake_out.pow(2).mean()
        return DiscriminatorTerms(real, fake, real + fake)

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        """½ mean (D(G(z)) - 1)²."""
        return 0.5 * (fake_out - 1).pow(2).mean()


for _loss in (Minimax, NonSaturating, BinaryCrossEntropy, Wasserstein, Hinge, LeastSquares):
    LOSSES.register(_loss.name, _loss)


def build_loss(name: str) -> AdversarialLoss:
    """The loss registered under ``name``."""
    return LOSSES.get(name)()
