"""D's output heads, one per ``model.conditional``: they map D's features to its outputs.

none / concat: one score per sample (N,). projection: a score plus the projection of the
label's embedding onto the features (Miyato & Koyama 2018). acgan: a score and K class
logits (Odena et al. 2017). kplus1: K + 1 logits, the last one "fake" (Salimans et al. 2016).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


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


HEADS: dict[str, type] = {
    "none": ScoreHead,
    "concat": ScoreHead,
    "projection": ProjectionHead,
    "acgan": AuxiliaryClassifierHead,
    "kplus1": KPlusOneHead,
}
