"""What every logged quantity is: the training statistics of metrics.jsonl and the evaluation
metrics (logged as ``eval_<name>``), each registered in :data:`gankit.registry.QUANTITIES` with
its label, unit, which way is better, the chart it belongs on and a description in words.

The report, the web lab (through ``GET /api/units``), the studies' tables and the health
warnings read their labels and units here. A loss-valued quantity's unit depends on the run's
loss: :func:`unit_of` asks the loss (nats for the logistic losses, critic units, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from gankit.registry import LOSSES, QUANTITIES

LOSS_UNIT = "loss"  # the unit of the run's loss (unit_of resolves it)
OUTPUT_UNIT = "D output"  # a probability for the logistic losses, a raw score for the others


@dataclass(frozen=True)
class Quantity:
    """One logged quantity."""

    key: str
    label: str
    unit: str = ""
    better: Optional[str] = None  # "lower", "higher" or None
    chart: str = ""  # the chart it is drawn on: losses, outputs, gradients, weights, speed, evaluation
    description: str = ""  # in words, as a warning names it
    share: bool = False  # a fraction 0..1, shown as a percentage
    short: str = ""  # a legend's or a table column's label (default: the label)
    small: bool = False  # often below 1e-3: shown with significant digits, not decimals

    @property
    def shown(self) -> str:
        """The short label, or the label."""
        return self.short or self.label

    def to_dict(self) -> dict:
        """As the web lab reads it."""
        return asdict(self)


def register(*quantities: Quantity) -> None:
    """Register quantities (gankit's own below; others from their own modules)."""
    for quantity in quantities:
        QUANTITIES.register(quantity.key, quantity)


def unit_of(key: str, loss: Optional[str] = None) -> str:
    """The unit of ``key`` (``eval_`` prefix or not) in a run trained with ``loss``."""
    quantity = describe(key)
    if quantity.unit == LOSS_UNIT:
        entry = LOSSES.find(loss) if loss else None
        return entry.unit if entry is not None else "loss units"
    if quantity.unit == OUTPUT_UNIT:
        entry = LOSSES.find(loss) if loss else None
        return "probability" if entry is None or entry.outputs_are_logits else "raw D score"
    return quantity.unit


def describe(key: str) -> Quantity:
    """The registered quantity ``key`` (an ``eval_`` prefix is ignored), or one named after the key."""
    name = key[len("eval_"):] if key.startswith("eval_") else key
    quantity = QUANTITIES.find(name)
    if quantity is not None:
        return quantity
    unit = "count" if name.endswith("modes") else "value"
    return Quantity(name, name.replace("_", " "), unit, chart="evaluation" if key.startswith("eval_") else "")


register(
    # training statistics (gankit.engine.gan.Statistics, health's weight norms, the losses' derived values)
    Quantity("d_real", "D loss on real", LOSS_UNIT, chart="losses", description="D's loss on real samples",
             short="D real"),
    Quantity("d_fake", "D loss on fake", LOSS_UNIT, chart="losses", description="D's loss on fake samples",
             short="D fake"),
    Quantity("d_loss", "D total loss", LOSS_UNIT, chart="losses", description="D's loss", short="D total"),
    Quantity("g_loss", "G loss", LOSS_UNIT, chart="losses", description="G's loss", short="G"),
    Quantity("d_penalty", "D penalty", LOSS_UNIT, chart="losses", description="D's penalty"),
    Quantity("wasserstein", "critic's Wasserstein estimate", "critic units", chart="losses",
             description="the critic's Wasserstein estimate", short="Wasserstein"),
    Quantity("d_x", "mean D(x)", OUTPUT_UNIT, chart="outputs", description="D(x)", short="D(x)"),
    Quantity("d_g_z", "mean D(G(z))", OUTPUT_UNIT, chart="outputs", description="D(G(z))", short="D(G(z))"),
    Quantity("g_grad_norm", "G gradient norm", "L2 norm", chart="gradients", description="G's gradient"),
    Quantity("d_grad_norm", "D gradient norm", "L2 norm", chart="gradients", description="D's gradient"),
    Quantity("g_weight_norm", "G weight norm", "L2 norm", chart="weights", description="G's weights"),
    Quantity("d_weight_norm", "D weight norm", "L2 norm", chart="weights", description="D's weights"),
    Quantity("fake_spread", "fake batch spread (over real)", "ratio to real", chart="outputs",
             description="the fake batch's spread"),
    Quantity("img_per_s", "throughput", "images / s", "higher", chart="speed"),
    # evaluation metrics (gankit.metrics.evaluate)
    Quantity("modes", "modes", "modes", "higher", "evaluation"),
    Quantity("high_quality", "high quality", "share", "higher", "evaluation", share=True),
    Quantity("mode_kl", "mode KL", "nats", "lower", "evaluation"),
    Quantity("domain_fd", "domain FD", "", "lower", "evaluation"),
    Quantity("class_kl", "class KL", "nats", "lower", "evaluation"),
    Quantity("class_accuracy", "class accuracy", "share", "higher", "evaluation", share=True),
    Quantity("stacked_modes", "modes", "modes", "higher", "evaluation"),
    Quantity("stacked_kl", "mode KL", "nats", "lower", "evaluation"),
    Quantity("seq_fd", "sequence FD", "", "lower", "evaluation", small=True),
    Quantity("seq_mmd", "sequence MMD²", "", "lower", "evaluation", small=True),
    Quantity("diversity", "diversity", "ratio to real", "higher", "evaluation"),
    Quantity("image_fd", "image FD", "", "lower", "evaluation"),
    Quantity("image_kid", "image KID", "", "lower", "evaluation", small=True),
    Quantity("image_precision", "precision", "share", "higher", "evaluation", share=True),
    Quantity("image_recall", "recall", "share", "higher", "evaluation", share=True),
    Quantity("image_density", "density", "", "higher", "evaluation"),
    Quantity("image_coverage", "coverage", "share", "higher", "evaluation", share=True),
    Quantity("fid", "FID", "", "lower", "evaluation"),
    Quantity("kid", "KID", "", "lower", "evaluation"),
    Quantity("isc", "IS", "", "higher", "evaluation"),
    Quantity("precision", "precision", "share", "higher", "evaluation", share=True),
    Quantity("recall", "recall", "share", "higher", "evaluation", share=True),
)
