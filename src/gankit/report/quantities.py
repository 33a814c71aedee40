"""What each logged quantity is called on the page, and in which unit: read from the registry
of quantities (:mod:`gankit.quantities`), with loss-valued units resolved for the run's loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from gankit import quantities
from gankit.registry import QUANTITIES


@dataclass(frozen=True)
class Labelled:
    """A logged key with its label for people and the unit of its values in this run."""

    key: str
    label: str
    unit: str


def labelled(key: str, loss: Optional[str] = None) -> Labelled:
    """Label and unit of a metrics.jsonl key (``eval_*`` keys are evaluation metrics) in a run
    trained with ``loss``."""
    return Labelled(key, quantities.describe(key).label, quantities.unit_of(key, loss))


def is_share(name: str) -> bool:
    """Whether the evaluation metric ``name`` is a fraction 0..1 (shown as a percentage)."""
    return quantities.describe(name).share


def shares() -> set[str]:
    """The evaluation metrics that are fractions."""
    return {key for key, quantity in QUANTITIES.items() if quantity.share}
