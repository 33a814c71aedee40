"""The ways of conditioning a GAN on labels (``model.conditional``), each registered in
:data:`gankit.registry.CONDITIONINGS` with D's output head (mapping D's features to its outputs),
whether the label also enters D as input channels, and the objective it trains with.

none / concat: one score per sample (N,). projection: a score plus the projection of the
label's embedding onto the features (Miyato & Koyama 2018). acgan: a score and K class
logits (Odena et al. 2017). kplus1: K + 1 logits, the last one "fake" (Salimans et al. 2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from gankit.registry import CONDITIONINGS


class ScoreHead(nn.Module):
    """features -> one raw score per sample."""

    def __init__(self, features: int, num_classes: int = 0):
        super().__init__()
        self.score = nn.Linear(features, 1)

    def forward(self, h: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Scores (N,)."""
        return self.score(h).flatten()


class ProjectionHead(ScoreHead):
    """score(h) + <embed(y), h>."""

    def __init__(self, features: int, num_classes: int):
        super().__init__(features)
        self.embed = nn.Embedding(num_classes, features)
        nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, h: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Scores (N,) that depend on the labels."""
        return self.score(h).flatten() + (self.embed(labels) * h).sum(1)


class AuxiliaryClassifierHead(ScoreHead):
    """(score (N,), class logits (N, K))."""

    def __init__(self, features: int, num_classes: int):
        super().__init__(features)
        self.classes = nn.Linear(features, num_classes)

    def forward(self, h: torch.Tensor, labels: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Score and class logits."""
        return self.score(h).flatten(), self.classes(h)


class KPlusOneHead(nn.Module):
    """K + 1 logits (N, K + 1): the K classes, then "fake"."""

    def __init__(self, features: int, num_classes: int):
        super().__init__()
        self.logits = nn.Linear(features, num_classes + 1)

    def forward(self, h: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits over K classes and "fake"."""
        return self.logits(h)


@dataclass(frozen=True)
class Conditioning:
    """One value of ``model.conditional``."""

    head: type  # (features, num_classes) -> D's head module
    label: str
    conditional: bool = True  # G and D get the labels
    label_channels: bool = False  # the one-hot label also enters D as input channels
    objective: str = "adversarial"  # gankit.objectives: adversarial, acgan or kplus1
    loss: Optional[str] = None  # the only train.loss it trains with (None: any)


CONDITIONINGS.register("none", Conditioning(ScoreHead, "unconditional", conditional=False))
CONDITIONINGS.register("concat", Conditioning(ScoreHead, "label as D's input channels", label_channels=True))
CONDITIONINGS.register("projection", Conditioning(ProjectionHead, "projection discriminator"))
CONDITIONINGS.register("acgan", Conditioning(AuxiliaryClassifierHead, "auxiliary classifier (AC-GAN)",
                                             objective="acgan"))
CONDITIONINGS.register("kplus1", Conditioning(KPlusOneHead, "K + 1 classes, the last one fake",
                                              objective="kplus1", loss="bce"))
