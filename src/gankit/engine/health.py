"""Training health, checked at each log step from what the loop reads there anyway.

Two kinds of check, both on the values of one host transfer per log interval (the averaged
statistics and the L2 norms of G's and D's weights), never per step:

- **Divergence**: a NaN or infinite statistic or weight norm stops the run
  (:class:`~gankit.errors.TrainingDiverged`, exit code 4) before anything is written from the
  broken state, so the last checkpoint stays the last finite one.
- **The classic failure modes**, as warnings a student can act on: D has won (D(G(z)) near 0
  for a long stretch, so G learns little), the losses or weights are exploding, and G's
  samples are losing their variety (mode collapse). Each is logged as an event in
  metrics.jsonl and TensorBoard and printed once when it begins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import torch

from gankit.engine.step import STAT_NAMES, Gan, rounded

WEIGHT_NORMS = ("g_weight_norm", "d_weight_norm")  # logged beside the statistics

PROBABILITY_LOSSES = ("minimax", "non-saturating", "bce")  # D's outputs read as probabilities
D_WON_BELOW = 0.05  # mean D(G(z)) under this counts as D rejecting every fake...
D_WON_RECOVERED = 0.1  # ...until it rises over this again
D_WON_STRETCH = 0.05  # ...for at least this share of the planned steps (and MIN_LOGS logs)
EXPLODING_FACTOR = 1e4  # a loss this many times its starting scale, or weights this many times their start
SPREAD_COLLAPSED = 0.5  # fake batch varies less than half as much as the real batch (healthy: 0.9-1)...
DIVERSITY_COLLAPSED = 0.5  # ...or the evaluated diversity falls below this (the studies' criterion)
WARM_UP = (0.05, 200)  # collapse is not judged before 5% of the steps or 200 (an untrained G varies little)
MIN_LOGS = 3  # a condition must hold this many logs in a row

LOSSES = ("d_loss", "g_loss", "d_real", "d_fake")
DESCRIPTIONS = {
    "d_real": "D's loss on real samples", "d_fake": "D's loss on fake samples", "d_loss": "D's loss",
    "g_loss": "G's loss", "d_x": "D(x)", "d_g_z": "D(G(z))", "d_penalty": "D's penalty",
    "g_grad_norm": "G's gradient", "d_grad_norm": "D's gradient", "fake_spread": "the fake batch's spread",
    "g_weight_norm": "G's weights", "d_weight_norm": "D's weights",
}


def weight_norms(gan: Gan) -> torch.Tensor:
    """The L2 norms of all of G's and of all of D's weights: a device vector of 2, no host sync."""
    def norm(module: torch.nn.Module) -> torch.Tensor:
        weights = [p.detach() for p in module.parameters()]
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(weights))).float()

    return torch.stack([norm(gan.generator), norm(gan.discriminator)])


def read_interval(totals: torch.Tensor, iterations: int, gan: Gan) -> dict[str, float]:
    """The statistics of a log interval (``totals`` summed over ``iterations``; 0: as they are)
    and the weight norms, read with one host transfer and rounded for the log."""
    vector = torch.cat([totals / max(iterations, 1), weight_norms(gan).to(totals.device)])
    return {name: rounded(name, value) for name, value in zip(STAT_NAMES + WEIGHT_NORMS, vector.tolist())}


def nonfinite(values: dict[str, float]) -> list[str]:
    """The names of the values that are NaN or infinite."""
    return [name for name, value in values.items() if isinstance(value, float) and not math.isfinite(value)]


def divergence_message(step: int, names: list[str], values: dict[str, float], saved_step: Optional[int],
                       run_dir: object) -> str:
    """One line: at which step what became non-finite, what is kept, how to go on."""
    first = sorted(names, key=lambda n: (n not in WEIGHT_NORMS, n not in LOSSES))[:3]
    kinds = " or ".join(sorted({"infinite" if math.isinf(values[n]) else "NaN" for n in names}))
    listed = [f"{DESCRIPTIONS.get(n, n)} ({n})" for n in first]
    broken = ", ".join(listed[:-1]) + (" and " if len(listed) > 1 else "") + listed[-1]
    if len(names) > len(first):
        more = len(names) - len(first)
        broken += f" (and {more} more value{'s' if more > 1 else ''})"
    kept = (f"the last finite checkpoint (step {saved_step}) is kept" if saved_step is not None
            else "no checkpoint had been written yet")
    return (f"training diverged at step {step}: {broken} became {kinds}; stopped, {kept}. "
            f"Lower the learning rates and resume: gankit train --resume {run_dir} optim.g.lr=... optim.d.lr=...")


@dataclass
class Event:
    """A health event: a short kind (``d_won``, ``exploding``, ``collapse``, ``diverged``) and a sentence."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """As metrics.jsonl holds it."""
        return {"kind": self.kind, "message": self.message}


@dataclass
class HealthMonitor:
    """Watches the logged values of one run and names the classic failure modes as they begin.

    ``probabilities``: D's outputs are probabilities (the logistic losses); D winning is judged
    only then. ``steps``: the planned steps, which set how long a stretch counts as long.
    """

    probabilities: bool
    steps: int
    _start: dict[str, float] = field(default_factory=dict)
    _d_won_since: Optional[int] = None
    _d_won_logs: int = 0
    _low_spread: int = 0
    _diversity: Optional[float] = None  # the last evaluated diversity (eval.every)
    _active: set = field(default_factory=set)

    def check(self, step: int, values: dict) -> list[Event]:
        """The events that begin at this log step (each condition is reported once until it ends)."""
        values = {k: float(v) for k, v in values.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        if not self._start:
            self._start = {k: abs(float(values[k])) for k in LOSSES + WEIGHT_NORMS if k in values}
        found = [self._d_won(step, values), self._exploding(step, values), self._collapse(step, values)]
        return [event for event in found if event is not None]

    def _once(self, kind: str, holds: bool, message: str) -> Optional[Event]:
        """An event the first log ``holds`` is true after it was false."""
        if not holds:
            self._active.discard(kind)
            return None
        if kind in self._active:
            return None
        self._active.add(kind)
        return Event(kind, message)

    def _d_won(self, step: int, values: dict) -> Optional[Event]:
        if not self.probabilities or step == 0 or "d_g_z" not in values:
            return None
        d_g_z = values["d_g_z"]
        if d_g_z < D_WON_BELOW:
            self._d_won_since = step if self._d_won_since is None else self._d_won_since
            self._d_won_logs += 1
        elif d_g_z > D_WON_RECOVERED:
            self._d_won_since, self._d_won_logs = None, 0
        long = (self._d_won_since is not None and self._d_won_logs >= MIN_LOGS
                and step - self._d_won_since >= D_WON_STRETCH * self.steps)
        return self._once("d_won", long,
                          f"D has won: since step {self._d_won_since} it calls almost every fake fake "
                          f"(mean D(G(z)) = {d_g_z:.3f}), so G's gradient is vanishing and G learns little. "
                          "Try a smaller D learning rate (optim.d.lr), fewer D steps (train.d_steps), "
                          "or the non-saturating G loss")

    def _exploding(self, step: int, values: dict) -> Optional[Event]:
        worst = None
        for key in LOSSES + WEIGHT_NORMS:
            if key in values and key in self._start:
                scale = max(1.0, self._start[key])
                if abs(values[key]) > EXPLODING_FACTOR * scale and (worst is None or abs(values[key]) > worst[1]):
                    worst = (key, abs(values[key]), self._start[key])
        if worst is None:
            return self._once("exploding", False, "")
        key, value, start = worst
        return self._once("exploding", True,
                          f"{DESCRIPTIONS[key]} {'are' if key in WEIGHT_NORMS else 'is'} exploding: "
                          f"{key} = {value:.3g} at step {step} (it was {start:.3g} at the start). "
                          "The learning rates are probably too high (optim.g.lr, optim.d.lr)")

    def _collapse(self, step: int, values: dict) -> Optional[Event]:
        self._diversity = values.get("eval_diversity", self._diversity)
        diversity, spread = self._diversity, values.get("fake_spread")
        if step < max(WARM_UP[0] * self.steps, WARM_UP[1]):
            return None
        low_spread = spread is not None and spread < SPREAD_COLLAPSED
        self._low_spread = self._low_spread + 1 if low_spread else 0
        low_diversity = diversity is not None and diversity < DIVERSITY_COLLAPSED
        holds = self._low_spread >= MIN_LOGS or low_diversity
        measured = (f"their diversity is {diversity:.2f} of the data's" if low_diversity
                    else f"a batch of them varies {spread:.0%} as much as a real batch" if spread is not None else "")
        return self._once("collapse", holds,
                          f"G's samples are losing their variety (mode collapse): at step {step} {measured}. "
                          "Cures: minibatch std (model.minibatch_std=true), packing (model.pack=4), "
                          "WGAN-GP, spectral norm (model.spectral_norm=true)")
