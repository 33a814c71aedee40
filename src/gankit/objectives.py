"""What D and G minimise, from D's outputs and the labels: an adversarial loss, and for the
conditional heads that classify (AC-GAN, K+1) the classification terms too.

The training loop only calls ``d_terms``, ``g_loss``, ``score`` and ``realness``; which
objective a run uses follows from ``train.loss`` and ``model.conditional``.
"""

from __future__ import annotations

from typing import Optional, Protocol

import torch
import torch.nn.functional as F

from gankit.config import RunConfig
from gankit.losses import AdversarialLoss, DiscriminatorTerms, build_loss
from gankit.registry import CONDITIONINGS

Labels = Optional[torch.Tensor]


class Objective(Protocol):
    """The losses of a run, on whatever D's head outputs."""

    def d_terms(self, real_out, fake_out, real_labels: Labels, fake_labels: Labels) -> DiscriminatorTerms:
        """D's loss on the real batch, on the fake batch, and the total it minimises."""

    def g_loss(self, fake_out, fake_labels: Labels) -> torch.Tensor:
        """G's loss."""

    def score(self, out) -> torch.Tensor:
        """One real-vs-fake score per D input (N,): what penalties differentiate and plots show."""

    def as_shown(self, score: torch.Tensor) -> torch.Tensor:
        """Scores as a user reads them: probabilities of "real" for logistic objectives, raw
        scores for critics."""

    def realness(self, out) -> torch.Tensor:
        """The mean of D's outputs as shown."""

    def derived(self, record: dict) -> dict:
        """Extra logged values computed from averaged statistics."""


class Adversarial:
    """A plain adversarial loss on one score per sample (unconditional, concat, projection)."""

    def __init__(self, loss: AdversarialLoss):
        self.loss = loss

    def d_terms(self, real_out, fake_out, real_labels: Labels = None, fake_labels: Labels = None) -> DiscriminatorTerms:
        """The loss's D terms; labels were already used inside D."""
        return self.loss.d_terms(self.score(real_out), self.score(fake_out))

    def g_loss(self, fake_out, fake_labels: Labels = None) -> torch.Tensor:
        """The loss's G term."""
        return self.loss.g_loss(self.score(fake_out))

    def score(self, out) -> torch.Tensor:
        """D's output itself."""
        return out

    def as_shown(self, score: torch.Tensor) -> torch.Tensor:
        """sigmoid(score) for logistic losses, the score itself for critics."""
        return torch.sigmoid(score) if self.loss.outputs_are_logits else score

    def realness(self, out) -> torch.Tensor:
        """Mean of the scores as shown."""
        return self.as_shown(self.score(out)).mean()

    def derived(self, record: dict) -> dict:
        """Whatever the adversarial loss derives (the Wasserstein estimate)."""
        return self.loss.derived(record)


class AuxiliaryClassifier(Adversarial):
    """AC-GAN: the adversarial loss on the score plus ``weight`` × cross-entropy of the class
    logits, for D on real and fake samples and for G on its own samples."""

    def __init__(self, loss: AdversarialLoss, weight: float):
        super().__init__(loss)
        self.weight = weight

    def d_terms(self, real_out, fake_out, real_labels: Labels = None, fake_labels: Labels = None) -> DiscriminatorTerms:
        """Each term includes the class loss on its batch."""
        adversarial = self.loss.d_terms(real_out[0], fake_out[0])
        real_class = self.weight * F.cross_entropy(real_out[1], real_labels)
        fake_class = self.weight * F.cross_entropy(fake_out[1], fake_labels)
        return DiscriminatorTerms(adversarial.real + real_class, adversarial.fake + fake_class,
                                  adversarial.total + real_class + fake_class)

    def g_loss(self, fake_out, fake_labels: Labels = None) -> torch.Tensor:
        """G fools D and makes its samples recognisable as the requested class."""
        return self.loss.g_loss(fake_out[0]) + self.weight * F.cross_entropy(fake_out[1], fake_labels)

    def score(self, out) -> torch.Tensor:
        """The adversarial score."""
        return out[0]

    def derived(self, record: dict) -> dict:
        """Nothing: the logged terms include the class losses."""
        return {}


class KPlusOne:
    """D classifies into K classes plus "fake" (index K), trained by cross-entropy on logits
    (no softmax before it): real samples to their class, generated ones to "fake"; D's loss
    is the mean over the 2N samples. G wants its sample of class y classified as y."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def d_terms(self, real_out, fake_out, real_labels: Labels = None, fake_labels: Labels = None) -> DiscriminatorTerms:
        """CE(real, y) and CE(fake, K), averaged."""
        fake_class = torch.full((fake_out.shape[0],), self.num_classes, dtype=torch.long, device=fake_out.device)
        real, fake = F.cross_entropy(real_out, real_labels), F.cross_entropy(fake_out, fake_class)
        return DiscriminatorTerms(real, fake, (real + fake) / 2)

    def g_loss(self, fake_out, fake_labels: Labels = None) -> torch.Tensor:
        """CE(D(G(z, y)), y)."""
        return F.cross_entropy(fake_out, fake_labels)

    def score(self, out) -> torch.Tensor:
        """log p(real) / p(fake) = logsumexp of the class logits minus the fake logit."""
        return torch.logsumexp(out[:, :self.num_classes], 1) - out[:, self.num_classes]

    def as_shown(self, score: torch.Tensor) -> torch.Tensor:
        """The probability of "not fake"."""
        return torch.sigmoid(score)

    def realness(self, out) -> torch.Tensor:
        """Mean probability of "not fake"."""
        return self.as_shown(self.score(out)).mean()

    def derived(self, record: dict) -> dict:
        """Nothing beyond the loss terms."""
        return {}


def build_objective(cfg: RunConfig, num_classes: Optional[int]) -> Objective:
    """The objective ``cfg`` asks for: the one its conditioning trains with (``num_classes`` of
    the data, for the conditional runs)."""
    kind = CONDITIONINGS.get(cfg.model.conditional).objective
    if kind == "kplus1":
        return KPlusOne(num_classes)
    loss = build_loss(cfg.train.loss)
    if kind == "acgan":
        return AuxiliaryClassifier(loss, cfg.train.class_weight)
    return Adversarial(loss)
