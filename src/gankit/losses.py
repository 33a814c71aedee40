"""Adversarial losses, all computed from D's raw outputs (logits) in a numerically stable way.

With ``D(x) = sigmoid(logit)``: ``-log D(x) = softplus(-logit)`` and
``-log(1 - D(x)) = softplus(logit)``, which never overflow or take the log of zero.

Each loss is a small object; the training loop only calls ``d_terms`` and ``g_loss`` and
looks losses up by name in :data:`LOSSES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F


@dataclass
class DiscriminatorTerms:
    """D's loss on the real batch, on the fake batch, and the total it minimises."""

    real: torch.Tensor
    fake: torch.Tensor
    total: torch.Tensor


class AdversarialLoss(Protocol):
    """What the training loop needs of a loss."""

    name: str
    outputs_are_logits: bool  # True: D(x) is reported as mean sigmoid(output)

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


LOSSES: dict[str, type] = {
    Minimax.name: Minimax,
    NonSaturating.name: NonSaturating,
    BinaryCrossEntropy.name: BinaryCrossEntropy,
}


def build_loss(name: str) -> AdversarialLoss:
    """The loss registered under ``name``."""
    return LOSSES[name]()
