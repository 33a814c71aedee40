"""What each logged quantity is called on the page, and in which unit it is measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

PROBABILITY_LOSSES = {"minimax", "non-saturating", "bce"}  # D ends in a sigmoid: losses in nats


@dataclass(frozen=True)
class Quantity:
    """A logged key with its label for people and the unit of its values."""

    key: str
    label: str
    unit: str


LABELS = {
    "d_real": "D loss on real",
    "d_fake": "D loss on fake",
    "d_loss": "D total loss",
    "g_loss": "G loss",
    "d_penalty": "D penalty",
    "wasserstein": "critic's Wasserstein estimate",
    "d_x": "mean D(x)",
    "d_g_z": "mean D(G(z))",
    "g_grad_norm": "G gradient norm",
    "d_grad_norm": "D gradient norm",
    "g_weight_norm": "G weight norm",
    "d_weight_norm": "D weight norm",
    "fake_spread": "fake batch spread (over real)",
    "img_per_s": "throughput",
}
SHARES = {"high_quality", "class_accuracy", "precision", "recall", "image_precision", "image_recall",
          "image_coverage"}  # eval metrics that are fractions
LOSS_KEYS = ("d_real", "d_fake", "g_loss")
OUTPUT_KEYS = ("d_x", "d_g_z")
GRAD_KEYS = ("g_grad_norm", "d_grad_norm")
FINAL_KEYS = ("d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z", "wasserstein")


def loss_unit(loss: Optional[str]) -> str:
    """The unit of a loss value for the config's ``train.loss`` (None: not known)."""
    if loss in PROBABILITY_LOSSES:
        return "nats"
    if loss == "wasserstein":
        return "critic units"
    return "loss units"


def output_unit(loss: Optional[str]) -> str:
    """What mean D(x) and D(G(z)) measure: probabilities, or raw scores for critics and margin losses."""
    return "probability" if loss in PROBABILITY_LOSSES or loss is None else "raw D score"


def describe(key: str, loss: Optional[str] = None) -> Quantity:
    """Label and unit of a metrics.jsonl key (``eval_*`` keys are evaluation metrics)."""
    if key.startswith("eval_"):
        name = key[len("eval_"):]
        unit = "share, 0 to 1" if name in SHARES else "count" if name.endswith("modes") else "value"
        return Quantity(key, name.replace("_", " "), unit)
    label = LABELS.get(key, key.replace("_", " "))
    if key in ("d_x", "d_g_z"):
        return Quantity(key, label, output_unit(loss))
    if key in GRAD_KEYS or key in ("g_weight_norm", "d_weight_norm"):
        return Quantity(key, label, "L2 norm")
    if key == "fake_spread":
        return Quantity(key, label, "ratio to real")
    if key == "img_per_s":
        return Quantity(key, label, "images / s")
    if key in LABELS:
        return Quantity(key, label, loss_unit(loss))
    return Quantity(key, label, "value")
