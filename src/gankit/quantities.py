"""What every logged quantity is: the training statistics of metrics.jsonl and the evaluation
metrics (logged as ``eval_<name>``), each registered in :data:`gankit.registry.QUANTITIES` with
its label, unit, which way is better, the chart it is drawn on, whether it is a column of the
loss tables, and a description in words.

This is the one home of those facts: the report, the terminal line, TensorBoard, the loss table
and its plot, the web lab (through ``GET /api/units``), the studies' tables and the health
warnings all read them here. A loss declares the quantities it derives (the Wasserstein estimate
is the Wasserstein loss's) in its ``quantities`` attribute; registering the loss registers them.
A loss-valued quantity's unit depends on the run's loss: :func:`unit_of` asks the loss (nats
for the logistic losses, critic units, ...). This module imports no torch: the losses (and
their quantities) are loaded only when a key or a unit needs them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Optional

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
    chart: str = ""  # the chart it is drawn on (a name in CHARTS, or "evaluation"); "": logged, not drawn
    description: str = ""  # in words, as a warning names it
    share: bool = False  # a fraction 0..1, shown as a percentage
    short: str = ""  # a legend's or a table column's label (default: the label)
    small: bool = False  # often below 1e-3: shown with significant digits, not decimals
    table: bool = False  # a column of the loss tables, the final values and the terminal line
    derived: bool = False  # computed by the run's loss from the other statistics (drawn dashed)

    @property
    def shown(self) -> str:
        """The short label, or the label."""
        return self.short or self.label

    def to_dict(self) -> dict:
        """As the web lab reads it."""
        return asdict(self)


@dataclass(frozen=True)
class Chart:
    """One chart of the training statistics, in the order the pages draw them."""

    name: str
    title: str
    axis: str  # the value axis, before its unit

    def to_dict(self) -> dict:
        """As the web lab reads it."""
        return asdict(self)


CHARTS = (Chart("losses", "Losses", "loss"), Chart("outputs", "Discriminator outputs", "mean D output"),
          Chart("gradients", "Gradient norms", "gradient norm (L2)"))
EVALUATION = "evaluation"  # the chart name of the evaluation metrics: one chart each


def register(*quantities: Quantity) -> None:
    """Register quantities (gankit's own below, a loss's own when the loss is registered, others
    from their own modules)."""
    for quantity in quantities:
        QUANTITIES.register(quantity.key, quantity)


def register_loss_quantities(loss: object) -> None:
    """Register what a loss declares it derives (its ``quantities``, if any; one the same as a
    quantity registered already, e.g. declared by two losses, is that one)."""
    register(*(q for q in getattr(loss, "quantities", ()) if QUANTITIES.find(q.key) != q))


def describe_loss(name: str, loss: object) -> dict:
    """A registered loss as a page shows it: its unit, whether D's outputs are probabilities,
    whether G's loss saturates, the quantities it derives, and its docstring's first paragraph."""
    doc = (getattr(loss, "__doc__", None) or "").strip()
    return {"name": name, "unit": getattr(loss, "unit", ""),
            "outputs_are_logits": bool(getattr(loss, "outputs_are_logits", False)),
            "saturating": bool(getattr(loss, "saturating", False)),
            "quantities": [q.key for q in getattr(loss, "quantities", ())],
            "description": " ".join(doc.split("\n\n")[0].split())}


def _name(key: str) -> str:
    return key[len("eval_"):] if key.startswith("eval_") else key


def _know(keys: Iterable[str]) -> None:
    """Load the losses when a training statistic is nobody's yet: it may be one a loss derives."""
    if any(QUANTITIES.find(key) is None for key in keys if key != "step" and not key.startswith("eval_")):
        LOSSES.names()


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
    name = _name(key)
    _know([key])
    quantity = QUANTITIES.find(name)
    if quantity is not None:
        return quantity
    unit = "count" if name.endswith("modes") else "value"
    return Quantity(name, name.replace("_", " "), unit, chart=EVALUATION if key.startswith("eval_") else "")


def on_chart(chart: str, keys: Optional[Iterable[str]] = None) -> list[str]:
    """The quantities drawn on ``chart``, in registration order; of ``keys`` only, when given."""
    return _selected(lambda q: q.chart == chart, keys)


def table_keys(keys: Optional[Iterable[str]] = None) -> list[str]:
    """The columns of a loss table, in registration order; of ``keys`` only, when given."""
    return _selected(lambda q: q.table, keys)


def derived_keys(keys: Optional[Iterable[str]] = None) -> list[str]:
    """The quantities a loss derives, in registration order; of ``keys`` only, when given."""
    return _selected(lambda q: q.derived, keys)


def _selected(wanted, keys: Optional[Iterable[str]]) -> list[str]:
    if keys is None:
        LOSSES.names()
        return [key for key, quantity in QUANTITIES.items() if wanted(quantity)]
    present = set(keys)
    _know(present)
    return [key for key, quantity in QUANTITIES.items() if wanted(quantity) and key in present]


register(
    # training statistics (gankit.engine.gan.Statistics, health's weight norms, the losses' derived values)
    Quantity("d_real", "D loss on real", LOSS_UNIT, chart="losses", description="D's loss on real samples",
             short="D real", table=True),
    Quantity("d_fake", "D loss on fake", LOSS_UNIT, chart="losses", description="D's loss on fake samples",
             short="D fake", table=True),
    Quantity("d_loss", "D total loss", LOSS_UNIT, chart="losses", description="D's loss", short="D total",
             table=True),
    Quantity("g_loss", "G loss", LOSS_UNIT, chart="losses", description="G's loss", short="G", table=True),
    Quantity("d_penalty", "D penalty", LOSS_UNIT, chart="losses", description="D's penalty"),
    Quantity("d_x", "mean D(x)", OUTPUT_UNIT, chart="outputs", description="D(x)", short="D(x)", table=True),
    Quantity("d_g_z", "mean D(G(z))", OUTPUT_UNIT, chart="outputs", description="D(G(z))", short="D(G(z))",
             table=True),
    Quantity("g_grad_norm", "G gradient norm", "L2 norm", chart="gradients", description="G's gradient"),
    Quantity("d_grad_norm", "D gradient norm", "L2 norm", chart="gradients", description="D's gradient"),
    Quantity("g_weight_norm", "G weight norm", "L2 norm", description="G's weights"),
    Quantity("d_weight_norm", "D weight norm", "L2 norm", description="D's weights"),
    Quantity("fake_spread", "fake batch spread (over real)", "ratio to real", description="the fake batch's spread"),
    Quantity("img_per_s", "throughput", "images / s", "higher"),
    # evaluation metrics (gankit.metrics.evaluate)
    Quantity("modes", "modes", "modes", "higher", EVALUATION),
    Quantity("high_quality", "high quality", "share", "higher", EVALUATION, share=True),
    Quantity("mode_kl", "mode KL", "nats", "lower", EVALUATION),
    Quantity("domain_fd", "domain FD", "", "lower", EVALUATION),
    Quantity("class_kl", "class KL", "nats", "lower", EVALUATION),
    Quantity("class_accuracy", "class accuracy", "share", "higher", EVALUATION, share=True),
    Quantity("stacked_modes", "modes", "modes", "higher", EVALUATION),
    Quantity("stacked_kl", "mode KL", "nats", "lower", EVALUATION),
    Quantity("seq_fd", "sequence FD", "", "lower", EVALUATION, small=True),
    Quantity("seq_mmd", "sequence MMD²", "", "lower", EVALUATION, small=True),
    Quantity("diversity", "diversity", "ratio to real", "higher", EVALUATION),
    Quantity("image_fd", "image FD", "", "lower", EVALUATION),
    Quantity("image_kid", "image KID", "", "lower", EVALUATION, small=True),
    Quantity("image_precision", "precision", "share", "higher", EVALUATION, share=True),
    Quantity("image_recall", "recall", "share", "higher", EVALUATION, share=True),
    Quantity("image_density", "density", "", "higher", EVALUATION),
    Quantity("image_coverage", "coverage", "share", "higher", EVALUATION, share=True),
    Quantity("fid", "FID", "", "lower", EVALUATION),
    Quantity("kid", "KID", "", "lower", EVALUATION),
    Quantity("isc", "IS", "", "higher", EVALUATION),
    Quantity("precision", "precision", "share", "higher", EVALUATION, share=True),
    Quantity("recall", "recall", "share", "higher", EVALUATION, share=True),
)
